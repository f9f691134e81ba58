/* The replicator process: its parts and the state they share. One struct
 * repl per process, made by replicatord.c.
 *
 * Threads: nng's callbacks run the RPC handlers (rpc_repl.c), which only
 * touch memory; the lease thread (lease.c) holds or waits for the Redis
 * lease; the tick thread (tick.c) refreshes the store table, notices stores
 * past the grace period, cooled photos and the audit hour; the feed thread
 * (feed.c) reads the directory's events; `workers` threads (worker.c) run
 * tasks; the audit thread (audit.c) runs one audit at a time. Only the
 * active instance (lease held) queues or runs work; a standby keeps
 * answering RPCs and recording access rates. */
#ifndef REPL_REPL_H
#define REPL_REPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "directory.pb-c.h"
#include "log.h"
#include "policy.h"
#include "pubsub.h"
#include "queue.h"
#include "rates.h"
#include "repl_config.h"
#include "rpc_auth.h"
#include "rpc_pool.h"
#include "rpc_server.h"

struct repl_stores; /* the store table (storelink.c) */

struct repl {
	struct repl_config cfg;
	struct repl_policy pol;
	rt_ident *ident; /* who this process is */
	rt_key key;	 /* the servers' shared secret: tokens, grants */
	char name[64];
	rpc_server *rpc;
	struct rt_http *http; /* the web face (repl_http.h); NULL = none */
	rt_pub *pub;
	rpc_pool *pool; /* directories and stores */
	repl_queue *queue;
	repl_rates *rates;
	struct repl_stores *stores;

	pthread_mutex_t leader_mu;
	char leader[256]; /* the directory leader's RPC address, as last
				 * found (dirlink.c); under leader_mu */

	_Atomic int active;	      /* we hold the lease ... */
	_Atomic int64_t lease_until;  /* ... until this monotonic ms */
	_Atomic int64_t active_since; /* monotonic ms */
	_Atomic uint64_t term;	      /* bumps on every takeover */
	_Atomic uint64_t epoch; /* fencing epoch (hs:replicator:epoch) taken
				 * with the lease; sent with every action */
	_Atomic int stop;
	/* Bulk repair, for the Queue RPC: copies made by Push, Push calls,
	 * UpdateLocationsBatch calls answered. */
	_Atomic uint64_t pushed, push_calls, batch_commits;

	pthread_mutex_t audit_mu;
	pthread_cond_t audit_cv;
	int audit_requested; /* under audit_mu */
	const char *audit_reason;
	struct repl_audit_waiter *audit_waiters;
	int64_t last_audit_ms; /* wall clock */

	pthread_t lease_thr, tick_thr, feed_thr, audit_thr;
	pthread_t *worker_thr;
};

/* 1 while we hold the lease and it cannot have run out: a process that
 * was paused acts on nothing before its lease thread has looked again. */
static inline int
repl_is_active(struct repl *r)
{
	return atomic_load(&r->active) &&
	    rt_mono_ms() < atomic_load(&r->lease_until);
}

/* The fencing epoch our actions carry: directories and stores refuse an
 * epoch lower than the newest they have seen. */
static inline uint64_t
repl_epoch(struct repl *r)
{
	return atomic_load(&r->epoch);
}

/* The wire form of a photo id; points at no heap. */
static inline Hs__PhotoId
repl_pb_id(uint64_t key, uint32_t cookie)
{
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = cookie;
	return id;
}

/* --- repl_events.c: the PUB feed and the one door into the queue --- */
void repl_publish_task(struct repl *r, const char *topic,
    const struct repl_task *t, const char *kind, const uint32_t *from,
    size_t nfrom, const uint32_t *to, size_t nto, const char *error);
void repl_publish_audit(struct repl *r, const char *finding, uint64_t key,
    uint32_t cookie, uint32_t store, uint64_t checked, uint64_t repaired);
/* audit.halted: store's orphans (of its needles) were not deleted; detail
 * says why and what an operator does. */
void repl_publish_audit_halt(struct repl *r, uint32_t store, uint64_t needles,
    uint64_t orphans, const char *detail);

/* Evaluates a record (from an event or a lookup) and queues a task if the
 * policy wants one. bad: stores known to hold a bad copy. */
void repl_consider(struct repl *r, const Hs__PhotoRecord *rec,
    const uint32_t *bad, size_t nbad);

/* Queues a task for one photo and publishes task.queued when it is new.
 * Only while active; returns the push result (REPL_PUSH_DROPPED when
 * standby). bad: a store holding a bad copy of it, or 0. */
enum repl_push_result repl_enqueue_photo(struct repl *r, uint64_t key,
    uint32_t cookie, int prio, uint32_t bad);

/* --- audit.c --- */
/* Asks the audit thread for a run (coalesced with one already asked). */
void repl_audit_request(struct repl *r, const char *reason);
/* Answers call with the summary when the next audit ends (the audit
 * thread owns the answer). 0, or -1 when stopping or out of memory. */
int repl_audit_wait(struct repl *r, rpc_call *call);
void *repl_audit_main(void *arg);

/* --- thread entry points (lease.c, tick.c, feed.c, worker.c) --- */
void *repl_lease_main(void *arg);
void *repl_tick_main(void *arg);
void *repl_feed_main(void *arg);
void *repl_worker_main(void *arg);

/* --- rpc_repl.c --- */
int repl_rpc_add(struct repl *r);

#endif
