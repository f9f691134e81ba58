/* Making identities: identity files and a roster (see ident.h).
 * Used by tools:keys, the test harness and `hs cred add`. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ident.h"

int
rt_ident_write(const char *path, const char *name, unsigned role,
    const uint8_t priv[32], const rt_key *secret, char *err, size_t errlen)
{
	char hex[2 * RT_KEY_MAX + 1], text[512];
	rt_hex_encode(priv, 32, hex);
	int n = snprintf(text, sizeof(text),
	    "# haystack-c identity of %s: private, keep it mode 0600\n"
	    "name = %s\nrole = %s\nkey = %s\n",
	    name, name, rt_role_name(role), hex);
	if (secret != NULL) {
		rt_hex_encode(secret->bytes, secret->len, hex);
		n += snprintf(text + n, sizeof(text) - (size_t)n,
		    "secret = %s\n", hex);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, text, (size_t)n) == n;
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	if (!ok)
		snprintf(err, errlen, "cannot write identity file %s: %s", path,
		    strerror(errno));
	return ok ? 0 : -1;
}

int
rt_ident_provision(const char *dir, const char *const *names,
    const unsigned *roles, size_t n, char *err, size_t errlen)
{
	rt_key secret = { .len = 32 };
	char path[1024];
	snprintf(path, sizeof(path), "%s/roster", dir);
	FILE *roster = fopen(path, "w");
	if (roster == NULL || RAND_bytes(secret.bytes, 32) != 1) {
		snprintf(err, errlen, "cannot write roster %s: %s", path,
		    strerror(errno));
		if (roster)
			fclose(roster);
		return -1;
	}
	fprintf(roster, "# haystack-c roster: name role public-key\n");
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		uint8_t priv[32], pub[RT_PUB_LEN];
		char hex[2 * RT_PUB_LEN + 1];
		snprintf(path, sizeof(path), "%s/%s.key", dir, names[i]);
		rv = rt_ident_keygen(priv, pub) != 0 ||
			rt_ident_write(path, names[i], roles[i], priv,
			    roles[i] == RT_ROLE_CLIENT ? NULL : &secret, err,
			    errlen) != 0 ?
		    -1 :
		    0;
		rt_hex_encode(pub, RT_PUB_LEN, hex);
		fprintf(roster, "%s %s %s\n", names[i], rt_role_name(roles[i]),
		    hex);
		OPENSSL_cleanse(priv, sizeof(priv));
	}
	OPENSSL_cleanse(&secret, sizeof(secret));
	if (fclose(roster) != 0 && rv == 0) {
		snprintf(err, errlen, "cannot write roster in %s", dir);
		rv = -1;
	}
	return rv;
}
