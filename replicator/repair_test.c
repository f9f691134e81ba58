/* Repair by group, in bulk (issue 11), on real processes (redis-server x2,
 * directoryd x3, stored x4-5, replicatord):
 * - a store SIGKILLed and never restarted: after the grace every photo is
 *   back at its target, each copy reads back verified, and the copies
 *   were made store to store with Push and committed with
 *   UpdateLocationsBatch (the replicator's Queue counts them);
 * - a source store killed while the repair pushes from it: no photo loses
 *   its last good copy, and the repair completes from the other members;
 * - a replicator epoch older than the newest is refused by Push (at the
 *   store) and by UpdateLocationsBatch (in the directory's script), and
 *   the current one is taken by both.
 * Every wait is on a condition with a bound. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "cluster.h"
#include "directory.pb-c.h"
#include "env.h"
#include "redis.h"
#include "redis_keys.h"
#include "repl_util.h"
#include "replicator.pb-c.h"
#include "replicator/policy.h"
#include "rpc.h"
#include "store.pb-c.h"

#define REPL_ARGS                                                              \
	"--orphan-grace=1h --tick=100ms --lease-timeout=1200ms "               \
	"--retry-base=100ms --nightly-audit-hour=-1 --rpc-timeout=3s "         \
	"--workers=2 --store-down-grace=1s"
#define STORE_ARGS "--stats-report-interval=200ms --scrub-rate=0"

static struct test_cluster C;

/* One case on nstores stores, with the replicator or without. */
static void
run(int nstores, int replicator, int nphotos, int (*body)(struct tphoto *ph))
{
	struct test_cluster_opts o = { .ndirs = 3,
		.nstores = nstores,
		.replicator = replicator,
		.store_args = STORE_ARGS,
		.repl_args = REPL_ARGS };
	tr_case(&C, &o, nphotos, body);
}

/* The replicator's bulk counters (Queue): 0, or -1. */
static int
bulk_counts(uint64_t *pushed, uint64_t *push_calls, uint64_t *batches)
{
	Hs__QueueRequest q = HS__QUEUE_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	if (test_rpc_call(C.p_repl, C.keyfile, &hs__replicator__descriptor,
		"Queue", &q.base, &m, 2000, NULL) != HS_OK)
		return -1;
	Hs__QueueReply *r = (Hs__QueueReply *)m;
	*pushed = r->pushed;
	*push_calls = r->push_calls;
	*batches = r->batch_commits;
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static int
upload_all(struct tphoto *ph, int n, size_t len)
{
	for (int i = 0; i < n; i++)
		if (tr_upload(&ph[i], (uint64_t)i + 1, len + (size_t)i, 1) !=
		    HS_OK)
			return i;
	return n;
}

static int
held_by(const struct tphoto *ph, int n, uint32_t store)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += repl_has_id(ph[i].stores, ph[i].nstores, store);
	return k;
}

enum { BULK_N = 150, MID_PUSH_N = 100 };

static int
refill_in_bulk(struct tphoto *ph)
{
	enum { N = BULK_N };
	uint64_t pushed = 0, calls = 0, batches = 0;
	if (upload_all(ph, N, 4096) != N)
		return -1;
	uint32_t victim = ph[0].stores[0];
	int held = held_by(ph, N, victim);
	test_proc_kill(&C.stores[victim - 1], SIGKILL);
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(ph, N, &victim, 1, 3), 60000)) {
		fprintf(stderr, "photos not back at 3 copies without %u\n",
		    victim);
		return -1;
	}
	if (bulk_counts(&pushed, &calls, &batches) != 0)
		return -1;
	fprintf(stderr,
	    "store %u held %d photos: %llu pushed in %llu Push calls, "
	    "%llu UpdateLocationsBatch calls\n",
	    victim, held, (unsigned long long)pushed, (unsigned long long)calls,
	    (unsigned long long)batches);
	/* Store to store, many per call, committed many per script. */
	int bulk = pushed >= (uint64_t)held && calls > 0 &&
	    calls * 10 <= (uint64_t)held && batches > 0 &&
	    batches * 10 <= (uint64_t)held;
	return bulk ? 0 : -1;
}

static void
lost_store_is_refilled_in_bulk(void)
{
	run(4, 1, BULK_N, refill_in_bulk);
}

/* Once the replicator has started pushing, stops source store `src`
 * (a Push to it hangs), waits for the directories to call it DOWN and
 * kills it: whatever it was pushing fails mid-way. */
static int
kill_source_mid_push(uint32_t src)
{
	uint64_t pushed, calls = 0, batches;
	if (!CHECK_WAIT_UNTIL(bulk_counts(&pushed, &calls, &batches) == 0 &&
		    calls > 0,
		30000))
		return -1;
	test_proc_kill(&C.stores[src - 1], SIGSTOP);
	int ok = CHECK_WAIT_UNTIL(tr_store_down(src), 10000);
	test_proc_kill(&C.stores[src - 1], SIGKILL);
	return ok ? 0 : -1;
}

static int
survive_mid_push_kill(struct tphoto *ph)
{
	enum { N = MID_PUSH_N };
	/* Larger photos, so the pushes take a while. */
	if (upload_all(ph, N, 256 * 1024) != N)
		return -1;
	uint32_t gone[2] = { ph[0].stores[0], 0 };
	/* A store sharing photos with the victim: a source of its refill. */
	for (size_t k = 1; k < ph[0].nstores && gone[1] == 0; k++)
		gone[1] = ph[0].stores[k];
	test_proc_kill(&C.stores[gone[0] - 1], SIGKILL);
	if (kill_source_mid_push(gone[1]) != 0) {
		fprintf(stderr, "the repair never pushed\n");
		return -1;
	}
	/* Three stores are left: every photo on all three, none lost. */
	if (CHECK_WAIT_UNTIL(tr_all_repaired(ph, N, gone, 2, 3), 90000))
		return 0;
	for (int i = 0; i < N; i++) {
		uint32_t loc[8];
		size_t nl = tr_locations(&ph[i], loc, 8, NULL);
		int readable = 0;
		for (size_t k = 0; k < nl; k++)
			readable += tr_read_ok(&ph[i], loc[k]);
		if (readable < 3)
			fprintf(stderr,
			    "photo %d: %zu locations, %d readable\n", i, nl,
			    readable);
	}
	return -1;
}

static void
source_killed_mid_push_loses_nothing(void)
{
	run(5, 1, MID_PUSH_N, survive_mid_push_kill);
}

/* Sets the replicator epoch in the metadata Redis. 0 or -1. */
static int
set_repl_epoch(long long e)
{
	redisContext *c = test_redis_connect(&C.meta, "admin");
	redisReply *r = c ?
	    redisCommand(c, "SET %s %lld", RK_REPLICATOR_EPOCH, e) :
	    NULL;
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return ok ? 0 : -1;
}

/* Push of p from store `from` to store `to` under epoch: the call's
 * status, and the photo's own code in *code. */
static hs_status
push(const struct tphoto *p, uint32_t from, uint32_t to, uint64_t epoch,
    int *code)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", C.p_store[to - 1]);
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[1] = { &id };
	id.key = p->key;
	id.cookie = p->cookie;
	Hs__Replica target = HS__REPLICA__INIT;
	target.store_id = to;
	target.rpc_addr = addr;
	Hs__PushRequest q = HS__PUSH_REQUEST__INIT;
	q.ids = ids;
	q.n_ids = 1;
	q.target = &target;
	q.repl_epoch = epoch;
	ProtobufCMessage *m = NULL;
	char as[600]; /* Push is the replicator's */
	hs_status st = test_rpc_call(C.p_store[from - 1],
	    test_identity(as, sizeof(as), C.keyfile, "replicator"),
	    &hs__store__descriptor, "Push", &q.base, &m, 5000, NULL);
	const Hs__PushReply *r = (const Hs__PushReply *)m;
	*code = st == HS_OK && r->n_results == 1 ? (int)r->results[0]->code :
						   -1;
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

/* UpdateLocationsBatch adding store `add` to p under epoch, at any
 * directory (followers forward): the photo's result code, or -1. */
static int
update_batch(const struct tphoto *p, uint32_t add, uint64_t epoch)
{
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = p->key;
	id.cookie = p->cookie;
	Hs__UpdateLocationsRequest u = HS__UPDATE_LOCATIONS_REQUEST__INIT,
				   *us[1] = { &u };
	u.id = &id;
	u.add = &add;
	u.n_add = 1;
	Hs__UpdateLocationsBatchRequest q =
	    HS__UPDATE_LOCATIONS_BATCH_REQUEST__INIT;
	q.updates = us;
	q.n_updates = 1;
	q.repl_epoch = epoch;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	char as[600];
	hs_status st = test_rpc_call(C.p_dir[1],
	    test_identity(as, sizeof(as), C.keyfile, "replicator"),
	    &hs__directory__descriptor, "UpdateLocationsBatch", &q.base, &m,
	    5000, &e);
	if (st != HS_OK)
		fprintf(stderr, "UpdateLocationsBatch: %s: %s\n",
		    hs_status_str(st), e.message);
	const Hs__UpdateLocationsBatchReply
	    *r = (const Hs__UpdateLocationsBatchReply *)m;
	int code = st == HS_OK && r->n_results == 1 ? (int)r->results[0]->code :
						      -1;
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return code;
}

/* The checks of stale_replicator_epoch_is_refused on uploaded photo p
 * (CHECK returns on failure, so the caller tears the cluster down). */
static void
stale_epoch_checks(const struct tphoto *p)
{
	int code = -1;
	uint32_t to = 1, loc[8];
	while (repl_has_id(p->stores, p->nstores, to))
		to++;
	CHECK(set_repl_epoch(5) == 0);
	/* The store learns epoch 5 from a Push under it, then refuses 4. */
	CHECK(push(p, p->stores[0], to, 5, &code) == HS_OK);
	CHECK_EQ(code, HS__CODE__OK);
	CHECK(tr_store_has(p, to));
	CHECK(push(p, p->stores[0], to, 4, &code) == HS_FAILED_PRECONDITION);
	/* A store that has not seen 5 yet passes it on; the target has. */
	CHECK(push(p, p->stores[1], to, 4, &code) == HS_OK);
	CHECK_EQ(code, HS__CODE__FAILED_PRECONDITION);
	/* The directory checks the epoch in Redis: 4 changes nothing. */
	CHECK_EQ(update_batch(p, to, 4), HS__CODE__FAILED_PRECONDITION);
	size_t nl = tr_locations(p, loc, 8, NULL);
	CHECK(nl == 3 && !repl_has_id(loc, nl, to));
	CHECK_EQ(update_batch(p, to, 5), HS__CODE__OK);
	nl = tr_locations(p, loc, 8, NULL);
	CHECK(nl == 4 && repl_has_id(loc, nl, to));
}

static int
refuse_stale_epoch(struct tphoto *ph)
{
	int f0 = check_failures;
	if (tr_upload(&ph[0], 7, 8192, 1) != HS_OK)
		return -1;
	stale_epoch_checks(&ph[0]);
	return check_failures > f0 ? -1 : 0;
}

static void
stale_replicator_epoch_is_refused(void)
{
	run(4, 0, 1, refuse_stale_epoch);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "lost store is refilled in bulk",
		    lost_store_is_refilled_in_bulk },
		{ "source killed mid-push loses nothing",
		    source_killed_mid_push_loses_nothing },
		{ "stale replicator epoch is refused",
		    stale_replicator_epoch_is_refused },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
