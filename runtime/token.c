/* Write tokens (see token.h). The MAC covers the protobuf encoding of the
 * token with its mac field empty; protobuf-c packs fields in a fixed order,
 * so maker and checker produce the same bytes. */
#include "token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.pb-c.h"
#include "grant.h"

/* MAC of t with its mac field ignored. */
static int
token_mac(const rt_key *key, Hs__WriteToken *t, uint8_t mac[RT_MAC_LEN])
{
	ProtobufCBinaryData saved = t->mac;
	t->mac.data = NULL;
	t->mac.len = 0;
	size_t n = hs__write_token__get_packed_size(t);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf != NULL) {
		hs__write_token__pack(t, buf);
		rt_hmac(key, buf, n, mac);
		free(buf);
	}
	t->mac = saved;
	return buf != NULL ? 0 : -ENOMEM;
}

/* MACs t (stores and expiry set here) and packs it into *out. */
static int
token_seal(const rt_key *key, Hs__WriteToken *t, const uint32_t *stores,
    size_t n, int64_t expiry_ms, uint8_t **out, size_t *outlen)
{
	uint8_t mac[RT_MAC_LEN];
	t->stores = (uint32_t *)stores;
	t->n_stores = n;
	t->expiry_ms = expiry_ms;
	if (token_mac(key, t, mac) != 0)
		return -ENOMEM;
	t->mac.data = mac;
	t->mac.len = RT_MAC_LEN;
	*outlen = hs__write_token__get_packed_size(t);
	*out = malloc(*outlen);
	if (*out == NULL)
		return -ENOMEM;
	hs__write_token__pack(t, *out);
	return 0;
}

int
rt_token_make(const rt_key *key, uint64_t photo_key, uint32_t cookie,
    const uint32_t *stores, size_t n, int64_t expiry_ms, uint8_t **out,
    size_t *outlen)
{
	Hs__WriteToken t = HS__WRITE_TOKEN__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = photo_key;
	id.cookie = cookie;
	t.id = &id;
	return token_seal(key, &t, stores, n, expiry_ms, out, outlen);
}

int
rt_token_make_grant(const rt_key *key, uint32_t group, uint64_t first_seq,
    uint32_t count, const char *client, const uint32_t *stores, size_t n,
    int64_t expiry_ms, uint8_t **out, size_t *outlen)
{
	Hs__WriteToken t = HS__WRITE_TOKEN__INIT;
	t.client = (char *)client;
	t.group = group;
	t.first_seq = first_seq;
	t.count = count;
	return token_seal(key, &t, stores, n, expiry_ms, out, outlen);
}

/* Whether genuine token t names this photo: its one id, or one of its
 * grant's ids with the grant's cookie. */
static int
token_names(const rt_key *key, const Hs__WriteToken *t, uint64_t photo_key,
    uint32_t cookie)
{
	if (t->id != NULL)
		return t->id->key == photo_key && t->id->cookie == cookie;
	if (t->count == 0 || rt_grant_group_of(photo_key) != t->group)
		return 0;
	uint64_t seq = rt_grant_seq_of(key, photo_key);
	return seq >= t->first_seq && seq - t->first_seq < t->count &&
	    rt_grant_cookie(key, photo_key) == cookie;
}

/* The token if it is genuine and names this photo; NULL with why. */
static Hs__WriteToken *
token_open(const rt_key *key, const uint8_t *token, size_t len,
    uint64_t photo_key, uint32_t cookie, char *why, size_t whylen)
{
	uint8_t mac[RT_MAC_LEN];
	Hs__WriteToken *t = hs__write_token__unpack(NULL, len, token);
	if (t == NULL || (t->id == NULL && t->count == 0) ||
	    t->mac.len != RT_MAC_LEN) {
		snprintf(why, whylen,
		    "missing or malformed write token: "
		    "allocate the photo at the directory first");
	} else if (token_mac(key, t, mac) != 0 ||
	    CRYPTO_memcmp(mac, t->mac.data, RT_MAC_LEN) != 0) {
		snprintf(why, whylen,
		    "write token has a bad MAC: it was not "
		    "issued by this cluster's directory");
	} else if (!token_names(key, t, photo_key, cookie)) {
		snprintf(why, whylen, "write token is for another photo");
	} else {
		return t;
	}
	if (t != NULL)
		hs__write_token__free_unpacked(t, NULL);
	return NULL;
}

static int
token_lists(const Hs__WriteToken *t, uint32_t store_id)
{
	for (size_t i = 0; i < t->n_stores; i++)
		if (t->stores[i] == store_id)
			return 1;
	return 0;
}

hs_status
rt_token_verify(const rt_key *key, const uint8_t *token, size_t len,
    uint64_t photo_key, uint32_t cookie, const uint32_t *stores, size_t n,
    int64_t *expiry_ms, char *client, size_t clientlen, char *why,
    size_t whylen)
{
	Hs__WriteToken *t = token_open(key, token, len, photo_key, cookie, why,
	    whylen);
	if (t == NULL)
		return HS_PERMISSION_DENIED;
	hs_status st = HS_OK;
	for (size_t i = 0; st == HS_OK && i < n; i++)
		if (!token_lists(t, stores[i])) {
			snprintf(why, whylen,
			    "the write token does not name store %u: only the "
			    "stores it was allocated hold the photo",
			    stores[i]);
			st = HS_PERMISSION_DENIED;
		}
	*expiry_ms = t->expiry_ms;
	if (client != NULL)
		snprintf(client, clientlen, "%s", t->client);
	hs__write_token__free_unpacked(t, NULL);
	return st;
}

hs_status
rt_token_check(const rt_key *key, const uint8_t *token, size_t len,
    uint64_t photo_key, uint32_t cookie, uint32_t store_id, const char *caller,
    int64_t now_ms, char *why, size_t whylen)
{
	hs_status st = HS_PERMISSION_DENIED;
	Hs__WriteToken *t = token_open(key, token, len, photo_key, cookie, why,
	    whylen);
	if (t == NULL)
		return st;
	if (t->expiry_ms < now_ms) {
		snprintf(why, whylen,
		    "write token expired %lld ms ago: "
		    "allocate again",
		    (long long)(now_ms - t->expiry_ms));
		goto out;
	}
	if (caller != NULL && t->client[0] != '\0' &&
	    strcmp(caller, t->client) != 0) {
		snprintf(why, whylen,
		    "this write token was granted to '%.64s', not to you: "
		    "allocate your own",
		    t->client);
		goto out;
	}
	if (token_lists(t, store_id))
		st = HS_OK;
	else
		snprintf(why, whylen, "write token does not name store %u",
		    store_id);
out:
	hs__write_token__free_unpacked(t, NULL);
	return st;
}
