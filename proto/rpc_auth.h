/* Request authentication: HMAC-SHA256 under the cluster key over the
 * envelope's header fields and payload, plus a timestamp window. */
#ifndef HS_RPC_AUTH_H
#define HS_RPC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.pb-c.h"

#define HS_MAC_LEN 32
#define HS_KEY_MIN 16
#define HS_KEY_MAX 64

/* The cluster key. Plain bytes, no heap: copy it freely. */
typedef struct hs_key {
	uint8_t bytes[HS_KEY_MAX];
	size_t len;
} hs_key;

/* Reads a key file (raw bytes or hex text; at least 16 bytes of key).
 * 0, or -1 with a message in err. */
int hs_key_load(hs_key *key, const char *path, char *err, size_t errlen);

/* Writes a new random 32-byte key (hex) to path with mode 0600. 0 or -errno. */
int hs_key_generate(const char *path);

/* A key for tests and examples only; never use it for a real cluster. */
void hs_key_from_string(hs_key *key, const char *s);

/* Computes env's MAC into mac (HS_MAC_LEN bytes); env->mac is ignored. */
void hs_envelope_mac(const hs_key *key, const Hs__Envelope *env,
    uint8_t mac[HS_MAC_LEN]);

/* Generic HMAC-SHA256 of a buffer (write tokens use it). */
void hs_hmac(const hs_key *key, const void *data, size_t len,
    uint8_t mac[HS_MAC_LEN]);

/* Constant-time check of env->mac. 1 if it matches, else 0. */
int hs_envelope_mac_ok(const hs_key *key, const Hs__Envelope *env);

#endif
