/* Inside the event feed (feed_seal.h): the frame's fields in MAC order,
 * the MAC over them, the feed key and AES-256-GCM, shared by the side that
 * builds frames (feed_seal.c) and the side that opens them (feed_open.c).
 * The layout is documented with SealedEvent in events.proto. */
#ifndef RT_FEED_FRAME_H
#define RT_FEED_FRAME_H

#include <openssl/evp.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "key.h"

#define FEED_SESSION_LEN 16
#define FEED_NONCE_LEN 12
#define FEED_TAG_LEN 16
#define FEED_KEY_LEN 32

/* The frame's fields in MAC order. */
struct frame_fields {
	const char *topic, *from;
	ProtobufCBinaryData session, nonce, body, event;
};

/* HMAC-SHA256 under key of every field of f. */
void feed_frame_mac(const rt_key *key, const struct frame_fields *f,
    uint8_t mac[RT_MAC_LEN]);

/* HKDF-SHA256(secret, salt "hs-feed-1", info session): the AES key of one
 * publisher's session. 0 or -1. */
int feed_key_derive(const rt_key *secret, const uint8_t *session,
    uint8_t key[FEED_KEY_LEN]);

/* An AES-256-GCM context keyed once (per session: setting the key per
 * event costs more than the event's encryption), to encrypt (enc) or
 * decrypt. NULL if it cannot be made. */
EVP_CIPHER_CTX *feed_gcm_new(int enc, const uint8_t key[FEED_KEY_LEN]);

/* AES-256-GCM of in[0..n) into out (n bytes, then the tag) when enc, else
 * the reverse (n counts the tag), on c from feed_gcm_new with f's nonce.
 * The additional data is f's fields but the body. 0, or -1 (on opening: a
 * wrong tag). */
int feed_gcm(int enc, EVP_CIPHER_CTX *c, const struct frame_fields *f,
    const uint8_t *in, size_t n, uint8_t *out);

#endif
