/* Cluster key files and HMAC-SHA256: one keyed context per thread. */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
rt_hkdf(const void *ikm, size_t ikmlen, const char *salt, const void *info,
    size_t infolen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		    (void *)ikm, ikmlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, strlen(salt)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen),
		OSSL_PARAM_construct_end(),
	};
	int ok = kc && EVP_KDF_derive(kc, out, outlen, params) == 1;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

void
rt_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
rt_hex_decode(const char *in, uint8_t *out, size_t n)
{
	if (strlen(in) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(in[2 * i]), lo = hex_val(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Hex text (whitespace around it ignored) becomes bytes; anything else is
 * taken as raw key bytes. */
static size_t
decode_key(const uint8_t *in, size_t n, uint8_t *out)
{
	while (n > 0 &&
	    (in[n - 1] == '\n' || in[n - 1] == ' ' || in[n - 1] == '\r'))
		n--;
	int hex = n >= 2 * RT_KEY_MIN && n % 2 == 0 && n <= 2 * RT_KEY_MAX;
	for (size_t i = 0; hex && i < n; i++)
		hex = hex_val(in[i]) >= 0;
	if (!hex) {
		size_t len = n < RT_KEY_MAX ? n : RT_KEY_MAX;
		memcpy(out, in, len);
		return len;
	}
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hex_val(in[2 * i]) << 4 |
		    hex_val(in[2 * i + 1]));
	return n / 2;
}

int
rt_key_load(rt_key *key, const char *path, char *err, size_t errlen)
{
	uint8_t buf[2 * RT_KEY_MAX + 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open cluster key file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read cluster key file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	key->len = decode_key(buf, (size_t)n, key->bytes);
	if (key->len < RT_KEY_MIN) {
		snprintf(err, errlen,
		    "cluster key file %s holds %zu bytes of key; at least %d are "
		    "needed (make one with: head -c32 /dev/urandom | xxd -p -c64)",
		    path, key->len, RT_KEY_MIN);
		return -1;
	}
	return 0;
}

void
rt_key_from_string(rt_key *key, const char *s)
{
	size_t n = strlen(s);
	key->len = n < RT_KEY_MAX ? n : RT_KEY_MAX;
	memcpy(key->bytes, s, key->len);
}

/* A few HMAC contexts per thread, each keyed once and re-initialised per
 * message (EVP_MAC_init with a NULL key reuses the key): keying costs two
 * SHA-256 blocks that would otherwise be paid on every call, and a server
 * answering many peers, or a feed sealing for three, switches keys all the
 * time. Freed at thread exit. */
#define MAC_SLOTS 8

struct mac_tls {
	EVP_MAC_CTX *ctx[MAC_SLOTS];
	rt_key key[MAC_SLOTS];
	unsigned next; /* the slot a new key takes */
};

static EVP_MAC *hmac_alg;
static pthread_key_t mac_tls_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void
mac_tls_free(void *p)
{
	struct mac_tls *t = p;
	for (int i = 0; i < MAC_SLOTS; i++)
		EVP_MAC_CTX_free(t->ctx[i]);
	free(t);
}

static void
mac_init_once(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	pthread_key_create(&mac_tls_key, mac_tls_free);
}

static EVP_MAC_CTX *
mac_begin(const rt_key *key)
{
	pthread_once(&mac_once, mac_init_once);
	struct mac_tls *t = pthread_getspecific(mac_tls_key);
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		pthread_setspecific(mac_tls_key, t);
	}
	for (int i = 0; i < MAC_SLOTS; i++)
		if (t->ctx[i] != NULL && t->key[i].len == key->len &&
		    memcmp(t->key[i].bytes, key->bytes, key->len) == 0) {
			EVP_MAC_init(t->ctx[i], NULL, 0, NULL);
			return t->ctx[i];
		}
	unsigned k = t->next++ % MAC_SLOTS;
	if (t->ctx[k] == NULL)
		t->ctx[k] = EVP_MAC_CTX_new(hmac_alg);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_init(t->ctx[k], key->bytes, key->len, params);
	t->key[k] = *key;
	return t->ctx[k];
}

void
rt_hmacv(const rt_key *key, const struct iovec *iov, int n,
    uint8_t mac[RT_MAC_LEN])
{
	EVP_MAC_CTX *ctx = mac_begin(key);
	size_t len = 0;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len > 0)
			EVP_MAC_update(ctx, iov[i].iov_base, iov[i].iov_len);
	EVP_MAC_final(ctx, mac, &len, RT_MAC_LEN);
}

void
rt_hmac(const rt_key *key, const void *data, size_t len,
    uint8_t mac[RT_MAC_LEN])
{
	struct iovec one = { (void *)data, len };
	rt_hmacv(key, &one, 1, mac);
}
