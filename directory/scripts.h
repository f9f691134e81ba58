/* The Lua scripts that are the directory's only way to change Redis: the
 * lease (acquire, refresh, release) and the fenced metadata commits. Each
 * runs atomically in Redis, so "check the lease, then write" cannot be
 * split by another directory. Key names are in runtime/redis_keys.h. */
#ifndef DIR_SCRIPTS_H
#define DIR_SCRIPTS_H

#include "redis.h"
#include "redis_keys.h"

extern struct rt_redis_script dir_script_acquire; /* {won, value, rpc, pub} */
extern struct rt_redis_script dir_script_refresh; /* 1 still ours, 0 lost */
extern struct rt_redis_script dir_script_release;
extern struct rt_redis_script dir_script_register; /* per photo: {1,seq} new,
						 {0,seq} same, {2,seq} same
						 + stores, {-1,seq}
						 different photo, {-4,0}
						 token expired */
extern struct rt_redis_script dir_script_update; /* {1,seq}, {-2,cur} CAS lost,
						 {-3,epoch} stale replicator */
extern struct rt_redis_script dir_script_put_store;
extern struct rt_redis_script dir_script_restore; /* {1,seq} or {0,seq} kept */
extern struct rt_redis_script dir_script_new_group; /* the new group's id */
extern struct rt_redis_script dir_script_grant;	    /* the range's last seq */
extern struct rt_redis_script dir_script_principal; /* {1, set version} */
extern struct rt_redis_script dir_script_raise;	    /* {epoch, seq} now */
extern struct rt_redis_script dir_script_update_batch; /* {how, seq} per
							 update, or {-3,epoch} */

/* Computes every script's SHA1. Call once before starting threads. */
void dir_scripts_init(void);

#endif
