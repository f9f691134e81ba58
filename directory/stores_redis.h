/* The store table's Redis form: hs:stores maps each store id to its packed
 * StoreInfo as the leader last saw it (state included). The leader saves
 * entries under its lease, so a deposed one cannot; followers reload the
 * table every FOLLOWER_SYNC_INTERVAL and a new leader loads it once before
 * it serves. The Redis link is the calling thread's. */
#ifndef DIR_STORES_REDIS_H
#define DIR_STORES_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "stores.h"

/* Reads hs:stores into s. Every entry's silence clock restarts at the
 * monotonic time the table arrived (*at_mono), so a store gets
 * DIR_MISSED_BEATS intervals to find the leader before it counts as DOWN.
 * 0 when the table was read (even empty); -1 with err when Redis could not
 * be reached; -2 with err when Redis answered with an error (nothing
 * loaded). *at_mono is set only on 0. */
int dir_stores_load(dir_stores *s, rt_redis *r, int64_t *at_mono, char *err,
    size_t errlen);

/* Leader: saves e under lease (fenced: refused once the lease is not
 * ours). A failure is logged at debug level: the next save repeats it. */
void dir_stores_save(rt_redis *r, const char *lease, const struct dir_store *e);

#endif
