/* Inside the chaos soak (chaos.h): the state its threads share. The
 * workload threads (chaos_work.c) own the photo table under mu; the fault
 * thread (chaos_fault.c) alone touches the processes until it has been
 * joined; the settle and the checks (chaos_check.c) run after both. */
#ifndef HS_TOOLS_CHAOS_IMPL_H
#define HS_TOOLS_CHAOS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "chaos.h"
#include "cluster.h"
#include "hs.h"
#include "rpc_client.h"

#define CHAOS_TARGETS (TEST_CLUSTER_MAX_STORES + TEST_CLUSTER_MAX_DIRS + 4)
#define CHAOS_ZONES 3 /* the harness puts store id s in zone (s - 1) % 3 */
#define CHAOS_DEFAULT_REPLICAS 3 /* the directory's default target */

/* A process the soak may kill or pause. */
struct chaos_target {
	char name[32];
	struct test_proc *p;
	struct test_redis *redis; /* the two Redis restart through this */
	int down;		  /* killed by the soak, not restarted yet */
	int paused;		  /* stopped by the soak, not continued yet */
};

enum chaos_photo_state {
	CP_LIVE,    /* upload acknowledged, no delete tried */
	CP_DELETED, /* delete acknowledged */
	CP_UNSURE,  /* a delete failed or timed out: either state is right */
};

struct chaos_photo {
	hs_photo_id id;
	uint64_t seed; /* its bytes: chaos_photo_bytes */
	uint32_t len;
	uint8_t sha[HS_SHA256_LEN];
	int state;
	int hot;
	uint32_t flipped;   /* store whose copy had a byte flipped, 0 = none */
	int64_t deleted_ms; /* monotonic ms its delete was acknowledged */
};

/* What the final check counts (each also printed with ids and stores). */
struct chaos_tally {
	int live, deleted;
	int lost;	 /* an acknowledged upload does not read back */
	int resurrected; /* an acknowledged delete answers on some path */
	int under;	 /* fewer good copies than the record's target */
	int spread;	 /* two copies in one zone with every zone UP */
	int over;	 /* more copies than the target (not a failure) */
	int odd;	 /* a path neither served nor refused (after settle) */
	int web_lost;	 /* a live photo the web cache does not serve */
};

struct chaos {
	struct chaos_opts o;
	struct test_cluster c;
	struct chaos_target t[CHAOS_TARGETS];
	int nt;
	int enabled[CF_N];
	int faults[CF_N];
	int deaths; /* processes found dead that the soak did not kill */
	/* With sentinel (hosts): metadata instances the soak killed or
	 * stopped and has not brought back yet, and whether the settle
	 * ended with them healthy (chaos_redis.c). */
	int rdown[TEST_SENTINEL_REDIS], rpaused[TEST_SENTINEL_REDIS];
	int redis_settled;
	int private_mounts; /* the soak has a mount namespace of its own */
	int small_store;    /* index of the store on a small tmpfs, -1 none */
	char small_why[200];
	char filler[700];
	uint64_t frng;			    /* the fault sequence's generator */
	int deck[CHAOS_TARGETS * 2], ndeck; /* targets not drawn yet */
	int64_t start_ms;
	atomic_int stop;

	pthread_mutex_t mu; /* the photo table and the counters below */
	struct chaos_photo *ph;
	size_t nph, cap;
	uint64_t wrng; /* the workload's generator */
	uint64_t up_ok, up_fail, del_ok, del_fail, rd_ok, rd_fail, bad_reads;
	size_t hot_peak; /* most copies a hot photo was seen with */
	/* Reads through the web cache (chaos_web.c): served right, failed
	 * (a fault), and deleted photos served after the purge bound. */
	uint64_t web_ok, web_fail, web_late;
	void *web_handle; /* the final check's libcurl handle (CURL *) */

	hs_client *work; /* uploads, downloads, deletes (with the cache) */
	hs_client *hot;	 /* hot reads, no cache: the stores count them */
	hs_client *mem;	 /* long location memory, no cache: read before
			    each delete, asked again at the end */
	rpc_client *dirs[TEST_CLUSTER_MAX_DIRS];
	rpc_client *stores[TEST_CLUSTER_MAX_STORES];
};

/* xorshift64*: one stream for faults, one for the workload. */
uint64_t chaos_rand(uint64_t *s);
/* A number in [lo, hi]. */
int64_t chaos_between(uint64_t *s, int64_t lo, int64_t hi);

/* The len bytes of a photo made from seed (the same every time). */
void chaos_photo_bytes(uint64_t seed, uint8_t *out, size_t len);

/* The workload and the hot reader (threads; arg is the struct chaos). */
void *chaos_work_main(void *arg);
void *chaos_hot_main(void *arg);

/* The targets, the small disk and the fault thread (chaos_fault.c). */
void chaos_targets_init(struct chaos *x);
/* A mount namespace of the soak's own, before any thread starts: the small
 * disk's tmpfs lives there and vanishes with the soak's processes, even
 * when the soak itself crashes. */
void chaos_private_mounts(struct chaos *x);
void chaos_small_disk_setup(struct chaos *x);
void chaos_small_disk_teardown(struct chaos *x);
void *chaos_fault_main(void *arg);
/* Continues what is paused, restarts what was killed (and counts and
 * shows what died on its own, restarting it too). */
void chaos_restore_all(struct chaos *x);
/* 1 if p (named name) exited though the soak did not stop it: counted in
 * deaths and its log shown. */
int chaos_found_dead(struct chaos *x, const char *name, struct test_proc *p);
/* One line about a fault, fmt taking what and a hold in seconds. */
void chaos_say(struct chaos *x, const char *fmt, const char *what, int64_t ms);

/* The Redis failover fault; bringing back what it (or a death) left
 * out; waiting up to ms for the sentinels to agree on a primary with
 * every instance in sync (1 if so, or without sentinel). chaos_redis.c */
int chaos_redis_fail(struct chaos *x);
void chaos_redis_restore(struct chaos *x);
int chaos_redis_settle(struct chaos *x, int64_t ms);

/* The web reader (a thread) and the final check's web paths: the cache
 * and every store's HTTP face (chaos_web.c). */
void *chaos_web_main(void *arg);
void chaos_web_check_live(struct chaos *x, const struct chaos_photo *p,
    int verbose, struct chaos_tally *t);
void chaos_web_check_deleted(struct chaos *x, const struct chaos_photo *p,
    int verbose, struct chaos_tally *t);

/* One path of a deleted photo: served is a resurrection, anything but a
 * refusal an odd answer (r: CHAOS_R_*). */
enum { CHAOS_R_GOOD, CHAOS_R_NOT_FOUND, CHAOS_R_WRONG, CHAOS_R_ERROR };
void chaos_deleted_path(struct chaos_tally *t, int verbose, const char *hex,
    const char *path, int r, const char *why);

/* The settle phase and the final check (chaos_check.c). */
void chaos_settle(struct chaos *x);
void chaos_check(struct chaos *x, int verbose, struct chaos_tally *t);

#endif
