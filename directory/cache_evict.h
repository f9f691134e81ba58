/* Deleted photos leave the cache at once: after a delete commits, the
 * leader writes the deleted marker (PHOTO_CACHE_DELETED, photo_id.h) over
 * the photo's entry in the cache Redis, before it answers. */
#ifndef DIR_CACHE_EVICT_H
#define DIR_CACHE_EVICT_H

#include <stdint.h>

struct dir_cache;

/* addr "host:port" of the cache Redis; "" gives one that does nothing. */
struct dir_cache *dir_cache_open(const char *addr, int64_t ttl_ms,
    int64_t timeout_ms);
void dir_cache_close(struct dir_cache *c);

/* Writes the marker. 0, or -1 (logged) when the cache is unreachable: the
 * delete stands, and readers still get NOT_FOUND from the directory once
 * the entry's TTL runs out or a store's tombstone writes the marker. */
int dir_cache_forget(struct dir_cache *c, uint64_t key, uint32_t cookie);

#endif
