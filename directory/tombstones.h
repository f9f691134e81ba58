/* Store-side deletes: a committed Delete leaves "<24-hex id>/<store id>"
 * members in hs:tombstones (the same Lua script, so none is lost); the
 * leader sends each store its Delete and removes the member once the store
 * answered OK, retrying every second until then. A store that is DOWN
 * gets its deletes when it is back. */
#ifndef DIR_TOMBSTONES_H
#define DIR_TOMBSTONES_H

#include "dir.h"
#include "redis.h"

struct dir_tombstones;

struct dir_tombstones *dir_tombstones_open(void);
/* Waits for the Deletes in flight, then frees. */
void dir_tombstones_close(struct dir_tombstones *t);

/* Appends to args the tombstone set's member "<24 hex>/<store>" for each
 * store of rec, written into members (the caller's, outliving the call). */
void dir_tombstone_members(const Hs__PhotoRecord *rec, char members[][48],
    struct rt_redis_args *args);

/* One round, on the housekeeping thread (which owns r); does nothing on a
 * follower. */
void dir_tombstones_tick(struct dir_tombstones *t, struct dir *d, rt_redis *r);

#endif
