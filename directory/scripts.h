/* The Lua scripts that are the directory's only way to change Redis: the
 * lease (acquire, refresh, release) and the fenced metadata commits. Each
 * runs atomically in Redis, so "check the lease, then write" cannot be
 * split by another directory. Key names are listed in docs/directory.md. */
#ifndef DIR_SCRIPTS_H
#define DIR_SCRIPTS_H

#include "redis_link.h"

#define DIR_K_LEADER "hs:leader"	   /* lease: "<id>/<epoch>", PX */
#define DIR_K_EPOCH "hs:epoch"		   /* INCR per term */
#define DIR_K_LEADER_INFO "hs:leader:info" /* id, epoch, rpc, pub */
#define DIR_K_SEQ "hs:seq"		   /* change-log sequence, INCR */
#define DIR_K_LOG "hs:log"		   /* stream, entry id "<seq>-0" */
#define DIR_K_PHOTO_PREFIX "hs:photo:"	   /* + 16 hex digits of the key */
#define DIR_K_STORES "hs:stores"	   /* hash: store id -> StoreInfo */
#define DIR_K_DIRS "hs:dirs"		   /* hash: dir id -> DirectoryNode */
#define DIR_K_TOMBSTONES "hs:tombstones"   /* set of "<24 hex>/<store>" */

extern struct dir_script dir_script_acquire; /* {won, value, rpc, pub} */
extern struct dir_script dir_script_refresh; /* 1 still ours, 0 lost */
extern struct dir_script dir_script_release;
extern struct dir_script dir_script_register; /* {1,seq} new, {0,seq} same,
						 {-1,seq} different photo */
extern struct dir_script dir_script_update;   /* {1,seq} or {-2,cur} CAS */
extern struct dir_script dir_script_put_store;

/* Computes every script's SHA1. Call once before starting threads. */
void dir_scripts_init(void);

#endif
