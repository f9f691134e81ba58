/* Grant keys (see grant.h): a 4-round Feistel network over the 48-bit
 * sequence number, two 24-bit halves, each round function the first three
 * bytes of an HMAC-SHA256 under the cluster key. A Feistel network is a
 * permutation whatever its round function, so keys never collide; the
 * HMAC makes it unpredictable without the key. Domain strings keep these
 * MACs apart from every other use of the key. */
#include "grant.h"

#include <sys/uio.h>

#define HALF_BITS (RT_GRANT_SEQ_BITS / 2)
#define HALF_MASK ((UINT32_C(1) << HALF_BITS) - 1)
#define ROUNDS 4

static uint32_t
round_fn(const rt_key *k, int round, uint32_t half)
{
	static const char domain[] = "hs-grant-key";
	uint8_t in[4] = { (uint8_t)round, (uint8_t)(half >> 16),
		(uint8_t)(half >> 8), (uint8_t)half };
	uint8_t mac[RT_MAC_LEN];
	struct iovec iov[2] = { { (void *)domain, sizeof(domain) },
		{ in, sizeof(in) } };
	rt_hmacv(k, iov, 2, mac);
	return ((uint32_t)mac[0] << 16 | (uint32_t)mac[1] << 8 | mac[2]) &
	    HALF_MASK;
}

static uint64_t
permute(const rt_key *k, uint64_t x, int inverse)
{
	uint32_t l = (uint32_t)(x >> HALF_BITS) & HALF_MASK;
	uint32_t r = (uint32_t)x & HALF_MASK;
	for (int i = 0; i < ROUNDS; i++) {
		if (!inverse) {
			uint32_t t = r;
			r = l ^ round_fn(k, i, r);
			l = t;
		} else {
			uint32_t t = l;
			l = r ^ round_fn(k, ROUNDS - 1 - i, l);
			r = t;
		}
	}
	return (uint64_t)l << HALF_BITS | r;
}

uint64_t
rt_grant_key(const rt_key *k, uint32_t group, uint64_t seq)
{
	return (uint64_t)(group & RT_GRANT_GROUP_MAX) << RT_GRANT_SEQ_BITS |
	    permute(k, seq & RT_GRANT_SEQ_MAX, 0);
}

uint64_t
rt_grant_seq_of(const rt_key *k, uint64_t key)
{
	return permute(k, key & RT_GRANT_SEQ_MAX, 1);
}

uint32_t
rt_grant_cookie(const rt_key *k, uint64_t key)
{
	static const char domain[] = "hs-grant-cookie";
	uint8_t in[8], mac[RT_MAC_LEN];
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(key >> (56 - 8 * i));
	struct iovec iov[2] = { { (void *)domain, sizeof(domain) },
		{ in, sizeof(in) } };
	rt_hmacv(k, iov, 2, mac);
	return (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 |
	    (uint32_t)mac[2] << 8 | mac[3];
}
