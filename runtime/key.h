/* Keys and HMAC-SHA256 under them: what RPC envelopes (under the pair key
 * of runtime/ident.h), write tokens (under the servers' secret) and
 * anything else that must prove it came from a key holder are MAC'd with;
 * hex helpers for key files. */
#ifndef RT_KEY_H
#define RT_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RT_MAC_LEN 32
#define RT_KEY_MIN 16
#define RT_KEY_MAX 64

/* The cluster key. Plain bytes, no heap: copy it freely. */
typedef struct rt_key {
	uint8_t bytes[RT_KEY_MAX];
	size_t len;
} rt_key;

/* Reads a key file (raw bytes or hex text; at least 16 bytes of key).
 * 0, or -1 with a message in err. */
int rt_key_load(rt_key *key, const char *path, char *err, size_t errlen);

/* A key for tests and examples only; never use it for a real cluster. */
void rt_key_from_string(rt_key *key, const char *s);

/* HMAC-SHA256 of the concatenation of n buffers, streamed, never copied. */
void rt_hmacv(const rt_key *key, const struct iovec *iov, int n,
    uint8_t mac[RT_MAC_LEN]);

/* Lowercase hex of n bytes into out (2n+1 chars with the NUL). */
void rt_hex_encode(const uint8_t *in, size_t n, char *out);

/* Exactly 2n hex digits (either case) into n bytes. 0, or -1. */
int rt_hex_decode(const char *in, uint8_t *out, size_t n);

/* HKDF-SHA256 of ikm with salt and info into out (outlen bytes). 0 or -1. */
int rt_hkdf(const void *ikm, size_t ikmlen, const char *salt,
    const void *info, size_t infolen, uint8_t *out, size_t outlen);

/* HMAC-SHA256 of one buffer. */
void rt_hmac(const rt_key *key, const void *data, size_t len,
    uint8_t mac[RT_MAC_LEN]);

#endif
