/* Fuzz target: identity files and rosters as every process reads them from
 * disk at start (runtime/ident.c: rt_ident_load's `key = value` lines,
 * role names, hex keys, the X25519 private key, the roster's `name role
 * public-key` lines). The input is the identity file, a NUL, then the
 * roster (no NUL: an empty roster); both are written mode 0600 into a
 * directory of the target's and loaded. An identity that loads is then
 * asked for its pair key with itself and with the first name of every
 * roster line, so X25519 and the key derivation run on the fuzzed public
 * keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "log.h"

static char dir[64], key_path[96], roster_path[96];

static void
put(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0 ||
	    chmod(path, 0600) != 0)
		abort();
}

/* rt_ident_pair with each roster line's first word. */
static void
pair_all(rt_ident *id, const uint8_t *roster, size_t len)
{
	char *text = malloc(len + 1), *save = NULL, name[RT_NAME_MAX];
	memcpy(text, roster, len);
	text[len] = '\0';
	for (char *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		rt_key key;
		unsigned role;
		char err[256];
		if (sscanf(l, "%63s", name) == 1)
			rt_ident_pair(id, name, &key, &role, err, sizeof(err));
	}
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/dev/shm/hs-fuzz-ident-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(key_path, sizeof(key_path), "%s/id.key", dir);
	snprintf(roster_path, sizeof(roster_path), "%s/roster", dir);
	rt_log_set_level(RT_LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *nul = memchr(data, '\0', len);
	size_t klen = nul ? (size_t)(nul - data) : len;
	const uint8_t *roster = nul ? nul + 1 : data + len;
	size_t rlen = len - klen - (nul != NULL);
	mkdir(dir, 0700); /* made again if a cleanup of /dev/shm took it */
	put(key_path, data, klen);
	put(roster_path, roster, rlen);
	rt_ident *id;
	char err[512];
	if (rt_ident_load(&id, key_path, NULL, err, sizeof(err)) != 0)
		return 0;
	rt_key key;
	unsigned role;
	rt_ident_pair(id, rt_ident_name(id), &key, &role, err, sizeof(err));
	pair_all(id, roster, rlen);
	rt_ident_free(id);
	return 0;
}
