/* The replicas' web order (replica_order.h). */
#include "replica_order.h"

/* A 64-bit mix of key and store id (splitmix64's finaliser): every bit of
 * either moves about half the bits of the rank, so neighbouring keys or
 * ids do not share an order. Not a secret: anyone may compute it. */
static uint64_t
rank(uint64_t key, uint32_t id)
{
	uint64_t x = key ^ ((uint64_t)id * 0x9e3779b97f4a7c15ULL);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void
rt_replica_order(uint64_t key, uint32_t *ids, size_t n)
{
	/* A handful of replicas: insertion sort. */
	for (size_t i = 1; i < n; i++) {
		uint32_t v = ids[i];
		uint64_t r = rank(key, v);
		size_t k = i;
		while (k > 0 && rank(key, ids[k - 1]) > r) {
			ids[k] = ids[k - 1];
			k--;
		}
		ids[k] = v;
	}
}
