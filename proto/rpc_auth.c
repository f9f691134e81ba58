/* HMAC-SHA256 of envelopes. The MAC'd bytes are a fixed layout, not the
 * protobuf encoding, so the receiver need not re-pack to verify:
 *   "hs-rpc-1" | u32 len | service | u32 len | method | u64 request_id |
 *   i64 deadline_ms | u64 epoch | i64 timestamp_ms | u64 len | payload
 * with every integer little-endian. */
#include "rpc_auth.h"

#include <openssl/crypto.h>
#include <string.h>

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Header fields are small and bounded by the server's checks before the MAC
 * is computed; the payload is streamed, never copied. */
void
rpc_envelope_mac(const rt_key *key, const Hs__Envelope *env,
    uint8_t mac[RT_MAC_LEN])
{
	uint8_t slen[8], mlen[8], hdr[40];
	size_t sn = env->service ? strlen(env->service) : 0;
	size_t mn = env->method ? strlen(env->method) : 0;

	put_u64(slen, sn);
	put_u64(mlen, mn);
	put_u64(hdr, env->request_id);
	put_u64(hdr + 8, (uint64_t)env->deadline_ms);
	put_u64(hdr + 16, env->epoch);
	put_u64(hdr + 24, (uint64_t)env->timestamp_ms);
	put_u64(hdr + 32, env->payload.len);
	struct iovec iov[] = {
		{ (void *)"hs-rpc-1", 8 },
		{ slen, 4 },
		{ env->service, sn },
		{ mlen, 4 },
		{ env->method, mn },
		{ hdr, sizeof(hdr) },
		{ env->payload.data, env->payload.len },
	};
	rt_hmacv(key, iov, (int)(sizeof(iov) / sizeof(iov[0])), mac);
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
