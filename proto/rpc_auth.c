/* HMAC-SHA256 of envelopes. The MAC'd bytes are a fixed layout, not the
 * protobuf encoding, so the receiver need not re-pack to verify:
 *   request: "hs-rpc-2" | str service | str method | u64 request_id |
 *            i64 deadline_ms | u64 epoch | i64 timestamp_ms | str key_id |
 *            u64 len | payload
 *   reply:   "hs-rep-1" | u64 request_id | u64 code | str message |
 *            str leader_hint | u64 epoch | str server | u64 len | payload
 * where str is u32 length then bytes, and every integer is little-endian.
 * A reply is bound to its request by the id and the key. */
#include "rpc_auth.h"

#include <openssl/crypto.h>
#include <string.h>

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A length-prefixed string as two iovecs at iov; len holds the prefix. */
static int
put_str(struct iovec *iov, uint8_t len[8], const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u64(len, n);
	iov[0] = (struct iovec){ len, 4 };
	iov[1] = (struct iovec){ (void *)s, n };
	return 2;
}

/* Header fields are small and bounded by the server's checks before the MAC
 * is computed; the payload is streamed, never copied. */
void
rpc_envelope_mac(const rt_key *key, const Hs__Envelope *env,
    uint8_t mac[RT_MAC_LEN])
{
	uint8_t sl[8], ml[8], kl[8], hdr[32], plen[8];
	struct iovec iov[10];
	int n = 0;
	iov[n++] = (struct iovec){ (void *)"hs-rpc-2", 8 };
	n += put_str(iov + n, sl, env->service);
	n += put_str(iov + n, ml, env->method);
	put_u64(hdr, env->request_id);
	put_u64(hdr + 8, (uint64_t)env->deadline_ms);
	put_u64(hdr + 16, env->epoch);
	put_u64(hdr + 24, (uint64_t)env->timestamp_ms);
	iov[n++] = (struct iovec){ hdr, sizeof(hdr) };
	n += put_str(iov + n, kl, env->key_id);
	put_u64(plen, env->payload.len);
	iov[n++] = (struct iovec){ plen, 8 };
	iov[n++] = (struct iovec){ env->payload.data, env->payload.len };
	rt_hmacv(key, iov, n, mac);
}

int
rpc_envelope_mac_ok(const rt_key *key, const Hs__Envelope *env)
{
	uint8_t want[RT_MAC_LEN];
	if (env->mac.len != RT_MAC_LEN)
		return 0;
	rpc_envelope_mac(key, env, want);
	return CRYPTO_memcmp(want, env->mac.data, RT_MAC_LEN) == 0;
}

void
rpc_reply_mac(const rt_key *key, const Hs__ReplyEnvelope *r,
    uint8_t mac[RT_MAC_LEN])
{
	uint8_t head[16], ml[8], hl[8], ep[8], sv[8], plen[8];
	struct iovec iov[12];
	int n = 0;
	iov[n++] = (struct iovec){ (void *)"hs-rep-1", 8 };
	put_u64(head, r->request_id);
	put_u64(head + 8, (uint64_t)r->code);
	iov[n++] = (struct iovec){ head, sizeof(head) };
	n += put_str(iov + n, ml, r->message);
	n += put_str(iov + n, hl, r->leader_hint);
	put_u64(ep, r->epoch);
	iov[n++] = (struct iovec){ ep, 8 };
	n += put_str(iov + n, sv, r->server);
	put_u64(plen, r->payload.len);
	iov[n++] = (struct iovec){ plen, 8 };
	iov[n++] = (struct iovec){ r->payload.data, r->payload.len };
	rt_hmacv(key, iov, n, mac);
}

int
rpc_reply_mac_ok(const rt_key *key, const Hs__ReplyEnvelope *r)
{
	uint8_t want[RT_MAC_LEN];
	if (r->mac.len != RT_MAC_LEN)
		return 0;
	rpc_reply_mac(key, r, want);
	return CRYPTO_memcmp(want, r->mac.data, RT_MAC_LEN) == 0;
}
