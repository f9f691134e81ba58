/* Write tokens: the directory's permission for one upload, checked by the
 * stores. A token is a packed hs.WriteToken (directory.proto): a photo id
 * (or, v2, a grant: a range of one write group's ids), the allocated store
 * ids and an expiry, MAC'd with HMAC-SHA256 under the
 * cluster key. Lives in the runtime because the directory makes tokens and
 * every store checks them. */
#ifndef HS_TOKEN_H
#define HS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "rpc_status.h"

/* Makes a token for id on stores[0..n) valid until expiry_ms (Unix ms).
 * *out is malloc'd (caller frees), *outlen its size. 0 or -ENOMEM. */
int rt_token_make(const rt_key *key, uint64_t photo_key, uint32_t cookie,
    const uint32_t *stores, size_t n, int64_t expiry_ms, uint8_t **out,
    size_t *outlen);

/* Makes a grant's token (v2): the ids of write group `group` with sequence
 * numbers first_seq .. first_seq + count - 1 (runtime/grant.h), on
 * stores[0..n), valid until expiry_ms, for principal client alone. As
 * rt_token_make. */
int rt_token_make_grant(const rt_key *key, uint32_t group, uint64_t first_seq,
    uint32_t count, const char *client, const uint32_t *stores, size_t n,
    int64_t expiry_ms, uint8_t **out, size_t *outlen);

/* Checks that token is genuine, unexpired at now_ms, names this photo,
 * lists store_id and, when caller is not NULL, was granted to caller (a
 * grant made to someone else is not the caller's to spend). HS_OK, or
 * HS_PERMISSION_DENIED with a reason in why. */
hs_status rt_token_check(const rt_key *key, const uint8_t *token, size_t len,
    uint64_t photo_key, uint32_t cookie, uint32_t store_id,
    const char *caller, int64_t now_ms, char *why, size_t whylen);

/* Checks only that token is genuine, names this photo and lists every one
 * of stores[0..n) (the directory's check of a registration, which weighs
 * the expiry itself: a resend of a committed registration passes after
 * it). HS_OK with *expiry_ms (Unix ms) and the grant's principal in client
 * ("" for v1 tokens; client may be NULL), or HS_PERMISSION_DENIED with a
 * reason in why. */
hs_status rt_token_verify(const rt_key *key, const uint8_t *token, size_t len,
    uint64_t photo_key, uint32_t cookie, const uint32_t *stores, size_t n,
    int64_t *expiry_ms, char *client, size_t clientlen, char *why,
    size_t whylen);

#endif
