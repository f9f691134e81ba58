/* Photo ids as people and caches see them: 24 lowercase hex digits, the
 * 64-bit key then the 32-bit cookie ("00000000000004d2deadbeef"). */
#ifndef HS_PHOTO_ID_H
#define HS_PHOTO_ID_H

#include <stddef.h>
#include <stdint.h>

#define HS_ID_HEX_LEN 24

/* Writes the 24 digits and a NUL into out (at least 25 bytes). */
void hs_id_format(uint64_t key, uint32_t cookie, char out[HS_ID_HEX_LEN + 1]);

/* Parses exactly 24 hex digits (either case). 0, or -1 with a reason in
 * why (which may be NULL). */
int hs_id_parse(const char *s, uint64_t *key, uint32_t *cookie, char *why,
    size_t whylen);

/* The cache key of a photo: "hs:cache:" + its 24 digits. out >= 34 bytes. */
#define HS_CACHE_KEY_LEN (9 + HS_ID_HEX_LEN)
void hs_cache_key(uint64_t key, uint32_t cookie, char out[HS_CACHE_KEY_LEN + 1]);

#endif
