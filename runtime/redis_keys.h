/* Every key haystack-c keeps in Redis, named once. The metadata Redis holds
 * the leases, the records and the change log; the cache Redis holds only
 * RK_CACHE_PREFIX entries. docs/directory.md describes each key's value. */
#ifndef RT_REDIS_KEYS_H
#define RT_REDIS_KEYS_H

/* The directory (written only by the leader's fenced scripts). */
#define RK_LEADER "hs:leader"		/* lease: "<id>/<epoch>", PX */
#define RK_EPOCH "hs:epoch"		/* INCR per term */
#define RK_LEADER_INFO "hs:leader:info" /* hash: id, epoch, rpc, pub */
#define RK_SEQ "hs:seq"			/* change-log sequence, INCR */
#define RK_LOG "hs:log"			/* stream, entry id "<seq>-0" */
#define RK_PHOTO_PREFIX "hs:photo:"	/* + 16 hex digits of the key */
#define RK_STORES "hs:stores"		/* hash: store id -> StoreInfo */
#define RK_DIRS "hs:dirs"		/* hash: dir id -> DirectoryNode */
#define RK_TOMBSTONES "hs:tombstones"	/* set of "<24 hex>/<store>" */
#define RK_GROUPS "hs:groups"		/* hash: group id -> "3,1,4" */
#define RK_GROUP_SEQ "hs:group:seq"	/* last group id, INCR */
#define RK_GRANT_SEQ "hs:grant:seq"	/* last grant sequence, INCRBY */
#define RK_PRINCIPALS "hs:principals"	/* hash: name -> "role pubhex" */
#define RK_PRINCIPALS_VERSION "hs:principals:version" /* INCR per change */

/* The replicator. */
#define RK_REPLICATOR_LEASE "hs:replicator:lease" /* "<id>", PX */
#define RK_REPLICATOR_INFO "hs:replicator:info"	  /* hash: id, rpc, pub */
/* INCR by each replicator that takes the lease: its fencing epoch, checked
 * by the directory's UpdateLocations script and by the stores. */
#define RK_REPLICATOR_EPOCH "hs:replicator:epoch"
#define RK_ORPHANS                                                             \
	"hs:repl:orphans" /* hash: "<store>/<24 hex>" -> first seen */

/* The cache Redis: + the photo's 24 hex digits. */
#define RK_CACHE_PREFIX "hs:cache:"

#endif
