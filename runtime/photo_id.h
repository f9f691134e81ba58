/* Photo ids as people and caches see them: 24 lowercase hex digits, the
 * 64-bit key then the 32-bit cookie ("00000000000004d2deadbeef"). Shared by
 * every process; libhs wraps it as hs_id_format / hs_id_parse. */
#ifndef HS_PHOTO_ID_H
#define HS_PHOTO_ID_H

#include <stddef.h>
#include <stdint.h>

#define PHOTO_ID_HEX_LEN 24

/* Writes the 24 digits and a NUL into out. */
void photo_id_format(uint64_t key, uint32_t cookie,
    char out[PHOTO_ID_HEX_LEN + 1]);

/* Parses exactly 24 hex digits (either case). 0, or -1 with a message for
 * people in why (may be NULL). */
int photo_id_parse(const char *s, uint64_t *key, uint32_t *cookie, char *why,
    size_t whylen);

/* A photo's URL path, "/<24 hex digits>" and an optional extension (a
 * dot and 1..PHOTO_EXT_MAX - 2 letters or digits, e.g. ".jpg") that means
 * nothing: the stores, the directories' redirects and the web cache all
 * take the same paths. ext (may be NULL) gets the extension with its dot,
 * or "". 0, or -1 with a message for people in why. */
#define PHOTO_EXT_MAX 16
int photo_path_parse(const char *path, uint64_t *key, uint32_t *cookie,
    char ext[PHOTO_EXT_MAX], char *why, size_t whylen);

/* What a delete leaves under a photo's cache key, for CACHE_TTL: shorter
 * than any real entry (32-byte SHA-256 + data), so readers see a miss, and
 * pushes (SET NX) cannot replace it with the deleted bytes. */
#define PHOTO_CACHE_DELETED "deleted"

/* The cache key of a photo: "hs:cache:" + its 24 digits. */
#define PHOTO_CACHE_KEY_LEN (9 + PHOTO_ID_HEX_LEN)
void photo_cache_key(uint64_t key, uint32_t cookie,
    char out[PHOTO_CACHE_KEY_LEN + 1]);

#endif
