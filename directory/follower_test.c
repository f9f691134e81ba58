/* Followers and Redis under faults, with real processes: a follower
 * killed and restarted catches up; a follower that loses PUB messages
 * (test hook) converges from the change log; one that fell behind a
 * trimmed log reloads fully; Redis restarted (SIGKILL, AOF) keeps every
 * record; store heartbeats stop -> DOWN and filtered out, resume -> UP. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "env.h"
#include "log.h"
#include "rpc.h"
#include "test_cluster.h"

static struct tc c;

static const char *const env[] = { "LEADER_TIMEOUT=1s",
	"LEADER_HEARTBEAT_INTERVAL=100ms", "FOLLOWER_SYNC_INTERVAL=200ms",
	"HEARTBEAT_INTERVAL=200ms", "REDIS_TIMEOUT=200ms",
	"CHANGELOG_MAX_LEN=50", "DEFAULT_REPLICA_COUNT=2",
	"MIN_REPLICA_COUNT=1", NULL };

static uint64_t next_key = 1;

/* Registers n photos, resending each until acknowledged (as a client
 * must after UNAVAILABLE); returns the last seq (0 on error). */
static uint64_t
register_n(int n)
{
	uint64_t seq = 0;
	for (int i = 0; i < n; i++) {
		struct rpc_error e;
		hs_status st;
		int64_t until = check_mono_ms() + 5000;
		while ((st = tc_register(c.all, next_key, 3, 9, 10, &seq,
			    &e)) != HS_OK &&
		    check_mono_ms() < until) {
			struct timespec ts = { 0, 20000000 };
			nanosleep(&ts, NULL);
		}
		if (st != HS_OK) {
			fprintf(stderr, "register: %s: %s\n", hs_status_str(st),
			    e.message);
			return 0;
		}
		next_key++;
	}
	return seq;
}

static uint64_t
applied(int i)
{
	return tc_applied(c.d[i].cl, 300);
}

/* Every photo registered so far is found at directory i (no min_seq: it
 * must hold them already). */
static int
all_found(int i)
{
	for (uint64_t k = 1; k < next_key; k++) {
		int code = -1;
		if (tc_lookup(c.d[i].cl, k, 3, 0, &code, NULL, NULL) != HS_OK ||
		    code != HS__CODE__OK) {
			fprintf(stderr, "%s: photo %" PRIu64 " not found\n",
			    c.d[i].id, k);
			return 0;
		}
	}
	return 1;
}

static int
a_follower(int leader)
{
	return (leader + 1) % c.n;
}

static void
test_follower_restarted_catches_up(void)
{
	int l = tc_wait_leader(&c, 5000);
	CHECK(l >= 0);
	CHECK(register_n(10) > 0);
	int f = a_follower(l);
	tc_signal(&c, f, SIGKILL);
	uint64_t head = register_n(120); /* beyond CHANGELOG_MAX_LEN */
	CHECK(head > 0);
	CHECK(tc_start_dir(&c, f, NULL) == 0);
	CHECK(CHECK_WAIT_UNTIL(applied(f) >= head, 5000));
	CHECK(all_found(f));
}

/* A follower restarted with env added, once it has caught up with the
 * log: its index, or -1 after saying what failed. */
static int
follower_with(const char *const *env)
{
	int l = tc_wait_leader(&c, 5000);
	if (l < 0) {
		fprintf(stderr, "no leader\n");
		return -1;
	}
	int f = a_follower(l);
	tc_signal(&c, f, SIGTERM);
	if (tc_start_dir(&c, f, env) != 0)
		return -1;
	if (!CHECK_WAIT_UNTIL(applied(f) >= tc_redis_int(&c, "hs:seq"), 5000)) {
		fprintf(stderr, "directory %d did not catch up\n", f);
		return -1;
	}
	return f;
}

static void
test_follower_missing_pub_messages_converges(void)
{
	/* Drops every 3rd photo event; the periodic sync is slow, so it is
	 * the change-log seq comparison that must notice. */
	static const char *const drop[] = { "HS_TEST_DROP_PUB_EVERY=3",
		"FOLLOWER_SYNC_INTERVAL=3s", NULL };
	int f = follower_with(drop);
	CHECK(f >= 0);
	uint64_t head = register_n(40);
	CHECK(head > 0);
	int64_t t0 = check_mono_ms();
	CHECK(CHECK_WAIT_UNTIL(applied(f) >= head - 1, 2000));
	printf("  converged %" PRId64 " ms after the last write\n",
	    check_mono_ms() - t0);
	/* The very last event may be the dropped one: no later event shows
	 * the gap, and the periodic sync closes it. */
	CHECK(CHECK_WAIT_UNTIL(applied(f) >= head, 5000));
	CHECK(all_found(f));
	tc_signal(&c, f, SIGTERM);
	CHECK(tc_start_dir(&c, f, NULL) == 0);
}

static void
test_follower_too_far_behind_reloads(void)
{
	/* Drops every event and syncs rarely: by its next sync the log
	 * (50 entries kept) has moved past it, so it must reload fully. */
	static const char *const drop[] = { "HS_TEST_DROP_PUB_EVERY=1",
		"FOLLOWER_SYNC_INTERVAL=3s", NULL };
	int f = follower_with(drop);
	CHECK(f >= 0);
	uint64_t head = register_n(300);
	CHECK(head > 0);
	CHECK(CHECK_WAIT_UNTIL(applied(f) >= head, 6000));
	CHECK(all_found(f));
	tc_signal(&c, f, SIGTERM);
	CHECK(tc_start_dir(&c, f, NULL) == 0);
}

static void
test_redis_restarted_records_intact(void)
{
	int l = tc_wait_leader(&c, 5000);
	CHECK(l >= 0);
	uint64_t head = register_n(20);
	CHECK(head > 0);
	/* A crash: appendfsync always means every acknowledged commit is in
	 * the AOF. */
	test_redis_kill(&c.redis);
	redisFree(c.rc);
	c.rc = NULL;
	CHECK(test_redis_restart(&c.redis) == 0);
	c.rc = test_redis_connect(&c.redis, "admin");
	CHECK(c.rc != NULL && c.rc->err == 0);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), head);
	/* A leader again (the old lease may have lapsed meanwhile), writes
	 * work, and every directory still has every record. */
	CHECK(tc_wait_leader(&c, 5000) >= 0);
	uint64_t head2 = 0;
	CHECK((head2 = register_n(1)) > 0);
	for (int i = 0; i < c.n; i++) {
		CHECK(CHECK_WAIT_UNTIL(applied(i) >= head2, 5000));
		CHECK(all_found(i));
	}
}

/* --- store health --- */

static _Atomic int beating[4]; /* store i heartbeats while set */
static _Atomic int hb_stop;

static void *
heartbeats(void *arg)
{
	(void)arg;
	static const char *zones[] = { "", "z1", "z2", "z3" };
	while (!atomic_load(&hb_stop)) {
		for (uint32_t s = 1; s <= 3; s++)
			if (atomic_load(&beating[s]))
				tc_heartbeat(c.all, s, zones[s], 1u << 30,
				    NULL);
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static Hs__StoreState
store_state(int dir, uint32_t id)
{
	Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	Hs__StoreState st = HS__STORE_STATE__STORE_UNKNOWN;
	q.include_down = 1;
	if (rpc_invoke(c.d[dir].cl, &hs__directory__descriptor, "ListStores",
		&q.base, &m, 1000, 0, NULL) != HS_OK)
		return st;
	Hs__ListStoresReply *r = (Hs__ListStoresReply *)m;
	for (size_t i = 0; i < r->n_stores; i++)
		if (r->stores[i]->id == id)
			st = r->stores[i]->state;
	protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

/* Replicas a Lookup of photo key at dir lists (stores 1 and 2 hold it). */
static int
replicas(int dir, uint64_t key, int include_down)
{
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *idp = &id;
	ProtobufCMessage *m = NULL;
	id.key = key;
	id.cookie = 3;
	q.ids = &idp;
	q.n_ids = 1;
	q.include_down = include_down;
	if (rpc_invoke(c.d[dir].cl, &hs__directory__descriptor, "Lookup",
		&q.base, &m, 1000, 0, NULL) != HS_OK)
		return -1;
	Hs__LookupReply *r = (Hs__LookupReply *)m;
	int n = r->results[0]->code == HS__CODE__OK ?
	    (int)r->results[0]->n_replicas :
	    -1;
	protobuf_c_message_free_unpacked(m, NULL);
	return n;
}

static hs_status
allocate(int replicas_wanted, struct rpc_error *e)
{
	Hs__AllocateRequest q = HS__ALLOCATE_REQUEST__INIT;
	uint8_t sha[32] = { 0 };
	ProtobufCMessage *m = NULL;
	q.sha256.data = sha;
	q.sha256.len = 32;
	q.size = 10;
	q.replicas = (uint32_t)replicas_wanted;
	char as[600];
	hs_status st = test_rpc_invoke_leader(c.all,
	    test_identity(as, sizeof(as), c.keyfile, RT_DIRECTORY_PRINCIPAL),
	    &hs__directory__descriptor, "Allocate", &q.base, &m, 2000, e);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

static void
test_store_heartbeats_down_and_up(void)
{
	pthread_t t;
	struct rpc_error e;
	int l = tc_wait_leader(&c, 5000);
	CHECK(l >= 0);
	for (int s = 1; s <= 3; s++)
		atomic_store(&beating[s], 1);
	pthread_create(&t, NULL, heartbeats, NULL);
	uint64_t key = next_key;
	uint64_t seq = register_n(1); /* on stores 1 and 2 */
	CHECK(seq > 0);
	for (int i = 0; i < c.n; i++)
		CHECK(CHECK_WAIT_UNTIL(store_state(i, 3) ==
			    HS__STORE_STATE__STORE_UP &&
			replicas(i, key, 0) == 2,
		    3000));
	CHECK_STATUS(allocate(3, &e), HS_OK, e.message);

	/* Store 2 falls silent: DOWN everywhere within 3 intervals (+ a
	 * sync), filtered out of lookups and allocations. */
	atomic_store(&beating[2], 0);
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < c.n; i++)
		CHECK(CHECK_WAIT_UNTIL(store_state(i, 2) ==
			HS__STORE_STATE__STORE_DOWN,
		    3000));
	printf("  DOWN everywhere %" PRId64 " ms after its last heartbeat\n",
	    check_mono_ms() - t0);
	for (int i = 0; i < c.n; i++) {
		CHECK_EQ(replicas(i, key, 0), 1);
		CHECK_EQ(replicas(i, key, 1), 2);
	}
	CHECK_STATUS(allocate(3, &e), HS_FAILED_PRECONDITION, e.message);
	CHECK(strstr(e.message, "2 UP") != NULL ||
	    strstr(e.message, "of 2") != NULL);
	printf("  %s\n", e.message);

	/* Back: UP again everywhere. */
	atomic_store(&beating[2], 1);
	for (int i = 0; i < c.n; i++)
		CHECK(CHECK_WAIT_UNTIL(store_state(i, 2) ==
			    HS__STORE_STATE__STORE_UP &&
			replicas(i, key, 0) == 2,
		    3000));
	CHECK_STATUS(allocate(3, &e), HS_OK, e.message);
	atomic_store(&hb_stop, 1);
	pthread_join(t, NULL);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "a restarted follower catches up",
		    test_follower_restarted_catches_up },
		{ "a follower missing PUB messages converges",
		    test_follower_missing_pub_messages_converges },
		{ "a follower behind a trimmed log reloads",
		    test_follower_too_far_behind_reloads },
		{ "Redis restarted: records intact",
		    test_redis_restarted_records_intact },
		{ "store heartbeats stop -> DOWN, resume -> UP",
		    test_store_heartbeats_down_and_up },
		{ NULL, NULL },
	};
	rt_log_init("follower_test", 'T');
	return tc_main(&c, 3, env, cases, argc, argv);
}
