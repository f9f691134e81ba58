/* The directory process: its parts and the leadership state they share.
 * One struct dir per process, made by directoryd.c; every thread gets it.
 *
 * Threads: nng's callbacks run the RPC handlers (rpc_directory.c), which
 * only touch memory; the election thread (election.c) owns the lease; one
 * writer thread (writer.c) runs every commit in order; one reader thread
 * (catchup.c) serves CatchUp from the change log; the sync thread (sync.c)
 * applies the leader's feed on followers; the housekeeping thread
 * (housekeeping.c) expires stores and saves the store table. Each thread
 * owns its own Redis link. */
#ifndef DIR_DIR_H
#define DIR_DIR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dir_config.h"
#include "directory.pb-c.h"
#include "groups.h"
#include "pubsub.h"
#include "records.h"
#include "redis.h"
#include "rpc_pool.h"
#include "rpc_server.h"
#include "stores.h"
#include "workq.h"

/* Who leads, as this process last learnt it. */
struct dir_leader {
	char id[64];
	uint64_t epoch;
	char rpc[256];
	char pub[256];
};

struct dir_waiters;
struct dir_recent;

/* A queue run by one thread that owns a Redis link: the writer (commits)
 * and the reader (CatchUp). q is NULL until opened. */
struct dir_lane {
	rt_workq *q;
	rt_redis *link;
};

struct dir {
	struct dir_config cfg;
	rt_ident *ident; /* who this process is */
	rt_key key;	 /* the servers' shared secret: tokens, grants */
	rpc_server *rpc;
	struct rt_http *http; /* the web face (dir_http.h); NULL = none */
	rt_pub *pub;
	rpc_pool *pool; /* clients to the leader (forwarding), stores */
	struct dir_cache *cache; /* deletes evict photos from the cache */
	struct dir_purge *purge; /* ... and from the web cache (web_purge.h) */
	dir_records *recs;
	dir_stores *stores;
	dir_groups *groups;	/* write groups (groups.h) */
	struct dir_lane writer; /* commits, in order (writer.c) */
	int writer_dirty;	/* writer thread only: memory may lag Redis */
	struct dir_lane reader; /* CatchUp's reads of the log (catchup.c) */
	struct dir_waiters *waiters; /* Lookups waiting for a min_seq */
	struct dir_acks *acks;	     /* deletes waiting for stores */
	struct dir_recent *recent;   /* last events, for the status page */

	pthread_mutex_t mu;		    /* guards the fields below */
	struct applied *principals_applied; /* principals.c: per store */
	int leader;			    /* we hold the lease */
	int ready;		 /* ... and have caught up: writes may commit */
	char lease[128];	 /* our lease value "<id>/<epoch>" */
	int64_t lease_until;	 /* monotonic ms: stop acting as leader here */
	struct dir_leader known; /* the current leader (maybe us) */
	int redis_ok;
	Hs__DirectoryNode **nodes; /* last read of hs:dirs, for Health */
	size_t nnodes;
	uint64_t head_seq; /* last head of the change log seen */

	_Atomic int stop;
	_Atomic int loaded; /* the first full load of the records is done */
	_Atomic uint64_t lookups, registrations;
	_Atomic uint64_t pub_received; /* photo events, for the drop hook */
	_Atomic int stores_dirty;      /* a store changed: save the table now */
	_Atomic int64_t stores_loaded_ms; /* follower: last table reload */
	_Atomic uint64_t floor_seen; /* highest epoch floor a store reported */
	pthread_t election_thr, sync_thr, house_thr;
};

/* 1 if we may act as leader now (lease held, not run out, caught up).
 * lease and epoch (may be NULL) are copied when it returns 1. */
int dir_is_leader(struct dir *d, char *lease, size_t leaselen, uint64_t *epoch);

/* 1 once the first full load of the records has finished. Until then
 * nothing may answer from the record table (a live photo would read
 * NOT_FOUND): the caller is answered UNAVAILABLE and 0 returned. */
int dir_loaded_or_fail(struct dir *d, rpc_call *call);

/* The highest leader epoch this directory has seen: its own, a leader's
 * it learnt, a store's floor (heartbeat.c). Reported in hs:dirs; a new
 * leader starts above every directory's (takeover.c). */
uint64_t dir_epoch_seen(struct dir *d);

/* Copies the current leader view. */
void dir_known_leader(struct dir *d, struct dir_leader *out);

/* Leaves the leader role at once (lost lease, fenced commit). why is
 * logged and the change published. */
void dir_step_down(struct dir *d, const char *why);

/* Publishes ev with our epoch; logs a failure, never blocks for long. */
void dir_publish(struct dir *d, Hs__Event *ev);

/* Opens l: its Redis link, then its thread (named name). 0, or -1 logged
 * under what. */
int dir_lane_open(struct dir *d, struct dir_lane *l, const char *name,
    const char *what);
/* Runs the queued jobs, stops the thread, closes the link; nothing if l
 * was never opened. */
void dir_lane_close(struct dir_lane *l);

/* Runs the lane's queued jobs and stops its thread; a job pushed after
 * that is refused (its call answered UNAVAILABLE). The lane stays valid
 * until dir_lane_close. */
void dir_lane_drain(struct dir_lane *l);

/* The thread entry points. */
void *dir_election_main(void *arg);
void *dir_sync_main(void *arg);
void *dir_house_main(void *arg);

/* Registers the hs.Directory handlers on d->rpc. */
int dir_rpc_add(struct dir *d);

#endif
