/* Push-on-write: newly written photos (up to a size cap) go into the Redis
 * cache from a background thread, so a write's answer never waits on the
 * cache. Cache value = the photo's 32-byte SHA-256 followed by its bytes,
 * under "hs:cache:<24-hex id>" with a TTL of CACHE_TTL; readers verify the
 * hash before use. Pushes never overwrite (SET NX): a delete leaves a short
 * marker under the key, so a push that arrives late cannot bring a deleted
 * photo back into the cache. A full queue or a dead Redis drops pushes (the
 * cache is only a cache). */
#ifndef STORE_CACHE_PUSH_H
#define STORE_CACHE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct cache_push;

/* The cache Redis and the store's user there (its strings borrowed for
 * the pusher's life); an empty addr gives a pusher that drops everything. */
struct cache_push *cache_push_open(const struct rt_redis_ep *ep, int64_t ttl_ms,
    size_t max_photo, size_t max_queued_bytes);
void cache_push_close(struct cache_push *c);

/* What became of the photos offered (for /metrics): pushed into Redis,
 * skipped (over the size cap) or dropped (queue full, Redis down). */
struct cache_push_counts {
	uint64_t pushed, skipped, dropped;
};
void cache_push_counts(struct cache_push *c, struct cache_push_counts *out);

/* Copies data and queues a SET. */
void cache_push_put(struct cache_push *c, uint64_t key, uint32_t cookie,
    const uint8_t sha256[32], const void *data, size_t len);

#endif
