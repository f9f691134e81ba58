/* Deleted photos leave the cache at once: after a delete commits, the
 * leader writes the deleted marker (PHOTO_CACHE_DELETED, photo_id.h) over
 * the photo's entry in the cache Redis, before it answers. */
#ifndef DIR_CACHE_EVICT_H
#define DIR_CACHE_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct dir_cache;

/* The cache Redis and the directory's user there (its strings borrowed
 * for the cache's life); an empty addr gives one that does nothing. */
struct dir_cache *dir_cache_open(const struct rt_redis_ep *ep, int64_t ttl_ms,
    int64_t timeout_ms);
void dir_cache_close(struct dir_cache *c);

/* Writes the marker, trying a few times (each try bounded by the Redis
 * timeout). 0, or -1 with err saying which cache could not be cleared and
 * why: the delete must then not be acknowledged, since readers trust a
 * cache hit; the caller answers "retry", and the retried Delete writes
 * the marker again. */
int dir_cache_forget(struct dir_cache *c, uint64_t key, uint32_t cookie,
    char *err, size_t errlen);

/* The cache Redis's keyspace hits and misses (it holds photo entries
 * only, so these are the photo cache's), read with INFO for /metrics.
 * 0, or -1 when there is no cache or it did not answer. */
int dir_cache_stats(struct dir_cache *c, uint64_t *hits, uint64_t *misses);

#endif
