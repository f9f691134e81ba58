/* HMAC-SHA256 of envelopes. The MAC'd bytes are a fixed layout, not the
 * protobuf encoding, so the receiver need not re-pack to verify:
 *   "hs-rpc-1" | u32 len | service | u32 len | method | u64 request_id |
 *   i64 deadline_ms | u64 epoch | i64 timestamp_ms | u64 len | payload
 * with every integer little-endian. */
#include "rpc_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

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

/* Hex text (whitespace around it ignored) becomes bytes; anything else is
 * taken as raw key bytes. */
static size_t
decode_key(const uint8_t *in, size_t n, uint8_t *out)
{
	while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == ' ' ||
	    in[n - 1] == '\r'))
		n--;
	int hex = n >= 2 * HS_KEY_MIN && n % 2 == 0 && n <= 2 * HS_KEY_MAX;
	for (size_t i = 0; hex && i < n; i++)
		hex = hex_val(in[i]) >= 0;
	if (!hex) {
		size_t len = n < HS_KEY_MAX ? n : HS_KEY_MAX;
		memcpy(out, in, len);
		return len;
	}
	for (size_t i = 0; i < n / 2; i++)
		out[i] = (uint8_t)(hex_val(in[2 * i]) << 4 | hex_val(in[2 * i + 1]));
	return n / 2;
}

int
hs_key_load(hs_key *key, const char *path, char *err, size_t errlen)
{
	uint8_t buf[2 * HS_KEY_MAX + 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open cluster key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read cluster key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	key->len = decode_key(buf, (size_t)n, key->bytes);
	if (key->len < HS_KEY_MIN) {
		snprintf(err, errlen,
		    "cluster key file %s holds %zu bytes of key; at least %d are "
		    "needed (make one with: head -c32 /dev/urandom | xxd -p -c64)",
		    path, key->len, HS_KEY_MIN);
		return -1;
	}
	return 0;
}

int
hs_key_generate(const char *path)
{
	uint8_t raw[32];
	char hex[65];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, hex, 64);
	int e = errno;
	close(fd);
	return w == 64 ? 0 : -(w < 0 ? e : EIO);
}

void
hs_key_from_string(hs_key *key, const char *s)
{
	size_t n = strlen(s);
	key->len = n < HS_KEY_MAX ? n : HS_KEY_MAX;
	memcpy(key->bytes, s, key->len);
}

/* One HMAC context per thread, keyed once and re-initialised per message
 * (EVP_MAC_init with a NULL key reuses the key): keying costs two SHA-256
 * blocks that would otherwise be paid on every call. Freed at thread exit. */
struct mac_tls {
	EVP_MAC_CTX *ctx;
	hs_key key;
};

static EVP_MAC *hmac_alg;
static pthread_key_t mac_tls_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void
mac_tls_free(void *p)
{
	struct mac_tls *t = p;
	EVP_MAC_CTX_free(t->ctx);
	free(t);
}

static void
mac_init_once(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	pthread_key_create(&mac_tls_key, mac_tls_free);
}

static EVP_MAC_CTX *
mac_begin(const hs_key *key)
{
	pthread_once(&mac_once, mac_init_once);
	struct mac_tls *t = pthread_getspecific(mac_tls_key);
	if (t != NULL && t->key.len == key->len &&
	    memcmp(t->key.bytes, key->bytes, key->len) == 0) {
		EVP_MAC_init(t->ctx, NULL, 0, NULL);
		return t->ctx;
	}
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		t->ctx = EVP_MAC_CTX_new(hmac_alg);
		pthread_setspecific(mac_tls_key, t);
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_init(t->ctx, key->bytes, key->len, params);
	t->key = *key;
	return t->ctx;
}

static void
mac_end(EVP_MAC_CTX *ctx, uint8_t mac[HS_MAC_LEN])
{
	size_t len = 0;
	EVP_MAC_final(ctx, mac, &len, HS_MAC_LEN);
}

void
hs_hmac(const hs_key *key, const void *data, size_t len,
    uint8_t mac[HS_MAC_LEN])
{
	EVP_MAC_CTX *ctx = mac_begin(key);
	EVP_MAC_update(ctx, data, len);
	mac_end(ctx, mac);
}

/* Header fields are small and bounded by the server's checks before the MAC
 * is computed; the payload is streamed, never copied. */
void
hs_envelope_mac(const hs_key *key, const Hs__Envelope *env,
    uint8_t mac[HS_MAC_LEN])
{
	uint8_t hdr[40];
	uint32_t slen = env->service ? (uint32_t)strlen(env->service) : 0;
	uint32_t mlen = env->method ? (uint32_t)strlen(env->method) : 0;
	EVP_MAC_CTX *ctx = mac_begin(key);

	EVP_MAC_update(ctx, (const uint8_t *)"hs-rpc-1", 8);
	put_u64(hdr, slen);
	EVP_MAC_update(ctx, hdr, 4);
	EVP_MAC_update(ctx, (const uint8_t *)(slen ? env->service : ""), slen);
	put_u64(hdr, mlen);
	EVP_MAC_update(ctx, hdr, 4);
	EVP_MAC_update(ctx, (const uint8_t *)(mlen ? env->method : ""), mlen);
	put_u64(hdr, env->request_id);
	put_u64(hdr + 8, (uint64_t)env->deadline_ms);
	put_u64(hdr + 16, env->epoch);
	put_u64(hdr + 24, (uint64_t)env->timestamp_ms);
	put_u64(hdr + 32, env->payload.len);
	EVP_MAC_update(ctx, hdr, 40);
	if (env->payload.len)
		EVP_MAC_update(ctx, env->payload.data, env->payload.len);
	mac_end(ctx, mac);
}

int
hs_envelope_mac_ok(const hs_key *key, const Hs__Envelope *env)
{
	uint8_t want[HS_MAC_LEN];
	if (env->mac.len != HS_MAC_LEN)
		return 0;
	hs_envelope_mac(key, env, want);
	return CRYPTO_memcmp(want, env->mac.data, HS_MAC_LEN) == 0;
}
