/* Leader election under faults, with real processes: exactly one leader
 * at a time over many elections (SIGKILL and clean hand-overs); SIGKILL of
 * the leader during a stream of registrations (a new leader within
 * LEADER_TIMEOUT + 2 s, no acknowledged registration lost, none committed
 * twice); a leader paused with SIGSTOP until another is elected commits
 * nothing after SIGCONT and follows; a stale lease is fenced in Redis. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"
#include "redis.h"
#include "scripts.h"
#include "test_cluster.h"

#define TIMEOUT_MS 1000

static struct tc c;

static const char *const env[] = { "LEADER_TIMEOUT=1s",
	"LEADER_HEARTBEAT_INTERVAL=100ms", "FOLLOWER_SYNC_INTERVAL=200ms",
	"HEARTBEAT_INTERVAL=200ms", "REDIS_TIMEOUT=200ms", NULL };

/* --- a monitor that samples every directory's Health ---
 *
 * Calls to the three go out one after another, so one round can straddle
 * a hand-over. A real overlap is proven only when a directory said
 * "leader" for an older epoch in a call *sent after* a call that had
 * already *returned* "leader" for a newer epoch: then both held at once. */

#define MAX_EPOCHS 64

static pthread_t mon_thr;
static _Atomic int mon_stop;
static int mon_samples;
static int64_t last_sent[MAX_EPOCHS]; /* latest send of a "leader" call */
static _Atomic int64_t first_recv[MAX_EPOCHS]; /* earliest return of one */

static void *
monitor(void *arg)
{
	(void)arg;
	while (!atomic_load(&mon_stop)) {
		for (int i = 0; i < c.n; i++) {
			Hs__HealthReply *h;
			int64_t sent = check_mono_ms();
			if (c.d[i].proc.pid <= 0 ||
			    tc_health(c.d[i].cl, &h, 100) != HS_OK)
				continue;
			int64_t recv = check_mono_ms();
			if (h->leader && h->epoch < MAX_EPOCHS) {
				if (sent > last_sent[h->epoch])
					last_sent[h->epoch] = sent;
				if (first_recv[h->epoch] == 0)
					first_recv[h->epoch] = recv;
			}
			hs__health_reply__free_unpacked(h, NULL);
		}
		mon_samples++;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Number of epoch pairs proven to have overlapped. */
static int
overlaps(void)
{
	int bad = 0;
	for (int e = 1; e < MAX_EPOCHS; e++)
		for (int f = e + 1; f < MAX_EPOCHS; f++)
			if (last_sent[e] && first_recv[f] &&
			    last_sent[e] > first_recv[f]) {
				fprintf(stderr,
				    "epoch %d still led at %" PRId64
				    " after epoch %d led at %" PRId64 "\n",
				    e, last_sent[e], f, first_recv[f]);
				bad++;
			}
	return bad;
}

static void
test_one_leader_over_many_elections(void)
{
	uint64_t last_epoch = 0, epoch;
	pthread_create(&mon_thr, NULL, monitor, NULL);
	for (int round = 0; round < 6; round++) {
		int l = tc_wait_leader(&c, 5000);
		CHECK(l >= 0);
		CHECK(tc_leader(&c, &epoch) == l);
		CHECK(epoch > last_epoch); /* a new fencing epoch per term */
		last_epoch = epoch;
		/* Let the monitor see this term before ending it. */
		CHECK(epoch < MAX_EPOCHS);
		CHECK(CHECK_WAIT_UNTIL(atomic_load(&first_recv[epoch]) != 0,
		    2000));
		int64_t t0 = check_mono_ms();
		/* Alternate crashes and clean shutdowns (lease released). */
		tc_signal(&c, l, round % 2 ? SIGTERM : SIGKILL);
		int nl = tc_wait_leader(&c, TIMEOUT_MS + 2000);
		int64_t took = check_mono_ms() - t0;
		CHECK(nl >= 0 && nl != l);
		printf("  round %d: %s -> %s in %" PRId64 " ms (%s)\n", round,
		    c.d[l].id, c.d[nl].id, took,
		    round % 2 ? "SIGTERM" : "SIGKILL");
		CHECK(tc_start_dir(&c, l, NULL) == 0);
	}
	atomic_store(&mon_stop, 1);
	pthread_join(mon_thr, NULL);
	int bad = overlaps(), seen = 0;
	for (int e = 0; e < MAX_EPOCHS; e++)
		seen += first_recv[e] != 0;
	printf("  %d health rounds; %d epochs seen leading; %d overlaps\n",
	    mon_samples, seen, bad);
	CHECK_EQ(bad, 0);
	CHECK(seen >= 6);
	CHECK(mon_samples > 20);
}

/* --- registrations while the leader dies --- */

#define MAX_ACKS 4000

struct stream {
	_Atomic int stop;
	_Atomic int acked;
	uint64_t key_base;
	uint64_t seq[MAX_ACKS];
	int failed;
};

/* Registers keys key_base+1, +2, ... one at a time through every
 * directory, resending each until it is acknowledged. */
static void *
writer(void *arg)
{
	struct stream *s = arg;
	for (int i = 0; i < MAX_ACKS && !atomic_load(&s->stop); i++) {
		struct rpc_error e;
		uint64_t seq = 0;
		int64_t give_up = check_mono_ms() + 10000;
		hs_status st;
		while (
		    (st = tc_register(c.all, s->key_base + (uint64_t)i + 1, 7,
			 (uint8_t)i, 100 + (uint64_t)i, &seq, &e)) != HS_OK) {
			if (check_mono_ms() > give_up) {
				fprintf(stderr,
				    "key %d never acknowledged: %s\n", i,
				    e.message);
				s->failed = 1;
				return NULL;
			}
			struct timespec ts = { 0, 20000000 };
			nanosleep(&ts, NULL);
		}
		s->seq[i] = seq;
		atomic_store(&s->acked, i + 1);
	}
	return NULL;
}

/* Every log entry, in order: checks seqs are 1..n without a hole, that
 * no photo was registered twice and that epochs ('by') never go back.
 * Returns the number of entries, or -1. */
static long
audit_log(uint64_t *keys_seen, size_t nkeys, uint64_t key_base)
{
	redisReply *r = redisCommand(c.rc, "XRANGE hs:log - +");
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return -1;
	uint64_t last_epoch = 0;
	long n = (long)r->elements, bad = 0;
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *f = e->element[1];
		uint64_t seq = strtoull(e->element[0]->str, NULL, 10);
		if (seq != i + 1)
			bad++;
		Hs__PhotoRecord *pr = NULL;
		uint64_t epoch = 0;
		for (size_t k = 0; k + 1 < f->elements; k += 2) {
			if (!strcmp(f->element[k]->str, "rec"))
				pr = hs__photo_record__unpack(NULL,
				    f->element[k + 1]->len,
				    (uint8_t *)f->element[k + 1]->str);
			if (!strcmp(f->element[k]->str, "by"))
				epoch = strtoull(strrchr(f->element[k + 1]->str,
						     '/') +
					1,
				    NULL, 10);
		}
		if (pr == NULL || epoch < last_epoch)
			bad++;
		last_epoch = epoch;
		if (pr != NULL && pr->state == HS__PHOTO_STATE__PHOTO_ACTIVE &&
		    pr->id->key > key_base && pr->id->key <= key_base + nkeys) {
			if (keys_seen[pr->id->key - key_base - 1]++ != 0) {
				fprintf(stderr,
				    "key %" PRIu64 " committed "
				    "twice\n",
				    pr->id->key);
				bad++;
			}
		}
		if (pr != NULL)
			hs__photo_record__free_unpacked(pr, NULL);
	}
	freeReplyObject(r);
	return bad ? -1 : n;
}

static void
test_sigkill_leader_during_registrations(void)
{
	static struct stream s = { .key_base = 1000000 };
	pthread_t t;
	int l = tc_wait_leader(&c, 5000);
	CHECK(l >= 0);
	pthread_create(&t, NULL, writer, &s);
	CHECK(CHECK_WAIT_UNTIL(atomic_load(&s.acked) >= 100, 10000));
	int64_t t0 = check_mono_ms();
	tc_signal(&c, l, SIGKILL);
	int at_kill = atomic_load(&s.acked);
	int nl = tc_wait_leader(&c, TIMEOUT_MS + 2000);
	int64_t elected = check_mono_ms() - t0;
	/* Writes flow again: 100 more acknowledged after the kill. */
	int ok = CHECK_WAIT_UNTIL(atomic_load(&s.acked) >= at_kill + 100 ||
		s.failed,
	    15000);
	int64_t stall = check_mono_ms() - t0;
	atomic_store(&s.stop, 1);
	pthread_join(t, NULL);
	printf("  new leader after %" PRId64 " ms; %d registrations before the "
	       "kill, %d after, in %" PRId64 " ms\n",
	    elected, at_kill, atomic_load(&s.acked) - at_kill, stall);
	CHECK(nl >= 0 && nl != l);
	CHECK(elected <= TIMEOUT_MS + 2000);
	CHECK(ok && !s.failed);
	CHECK(tc_start_dir(&c, l, NULL) == 0);

	/* No acknowledged registration lost: every one is in Redis with its
	 * seq and readable at every directory; none committed twice. */
	int n = atomic_load(&s.acked);
	CHECK(n > 0 && n <= MAX_ACKS);
	uint64_t max_seq = 0;
	for (int i = 0; i < n; i++) {
		char key[64];
		snprintf(key, sizeof(key), "hs:photo:%016" PRIx64,
		    s.key_base + (uint64_t)i + 1);
		redisReply *r = redisCommand(c.rc, "HGET %s seq", key);
		CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
		CHECK_EQ(strtoull(r->str, NULL, 10), s.seq[i]);
		freeReplyObject(r);
		if (s.seq[i] > max_seq)
			max_seq = s.seq[i];
	}
	uint64_t *seen = calloc((size_t)n + 1, sizeof(*seen));
	long entries = audit_log(seen, (size_t)n, s.key_base);
	for (int i = 0; i < n; i++)
		CHECK_EQ(seen[i], 1);
	free(seen);
	CHECK(entries > 0);
	CHECK_EQ((uint64_t)entries, tc_redis_int(&c, "hs:seq"));
	for (int i = 0; i < c.n; i++) {
		for (int k = 0; k < n; k += 37) {
			struct rpc_error e;
			int code;
			CHECK_STATUS(tc_lookup(c.d[i].cl,
					 s.key_base + (uint64_t)k + 1, 7,
					 max_seq, &code, NULL, &e),
			    HS_OK, e.message);
			CHECK_EQ(code, HS__CODE__OK);
		}
	}
}

static void
test_sigstop_leader_commits_nothing(void)
{
	uint64_t e0, e1;
	int l = tc_wait_leader(&c, 5000);
	CHECK(l >= 0);
	CHECK(tc_leader(&c, &e0) == l);
	uint64_t head0 = tc_redis_int(&c, "hs:seq");
	test_proc_stop(&c.d[l].proc);
	/* kill() returns before the target is off the CPU: until it is, it
	 * may still answer as the leader. */
	CHECK(CHECK_WAIT_UNTIL(test_proc_stopped(&c.d[l].proc), 2000));
	/* Writes sent to the paused leader wait in its socket. */
	struct rpc_error e;
	uint64_t key = 5000000;
	int nl = tc_wait_leader(&c, TIMEOUT_MS + 2000);
	CHECK(nl >= 0 && nl != l);
	CHECK(tc_leader(&c, &e1) == nl && e1 > e0);
	/* Writes through the new leader while the old one is paused. */
	for (int i = 0; i < 20; i++)
		CHECK_STATUS(tc_register(c.d[nl].cl, key + (uint64_t)i, 1, 1, 1,
				 NULL, &e),
		    HS_OK, e.message);
	uint64_t head1 = tc_redis_int(&c, "hs:seq");
	/* Queue registrations at the paused leader, then wake it. */
	test_proc_cont(&c.d[l].proc);
	for (int i = 0; i < 5; i++) {
		hs_status st = tc_register(c.d[l].cl, key + 100 + (uint64_t)i,
		    1, 1, 1, NULL, &e);
		/* Either refused, or forwarded to (and committed by) the new
		 * leader: the audit below tells which epoch wrote it. */
		CHECK(st == HS_OK || st == HS_UNAVAILABLE ||
		    st == HS_FAILED_PRECONDITION);
	}
	/* It becomes a follower of the new leader. */
	Hs__HealthReply *h = NULL;
	int follows = CHECK_WAIT_UNTIL(tc_health(c.d[l].cl, &h, 300) == HS_OK &&
		    !h->leader && strcmp(h->leader_id, c.d[nl].id) == 0 &&
		    h->applied_seq >= head1 ?
		1 :
		(h ? (hs__health_reply__free_unpacked(h, NULL), h = NULL, 0) :
		     0),
	    5000);
	if (h != NULL)
		hs__health_reply__free_unpacked(h, NULL);
	CHECK(follows);
	/* Nothing after head0 was committed under the old epoch. */
	redisReply *r = redisCommand(c.rc, "XRANGE hs:log %" PRIu64 "-0 +",
	    head0 + 1);
	CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY);
	char old_lease[64];
	snprintf(old_lease, sizeof(old_lease), "%s/%" PRIu64, c.d[l].id, e0);
	int by_old = 0;
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];
		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (!strcmp(f->element[k]->str, "by") &&
			    !strcmp(f->element[k + 1]->str, old_lease))
				by_old++;
	}
	freeReplyObject(r);
	CHECK_EQ(by_old, 0);
}

static void
test_stale_lease_is_fenced_in_redis(void)
{
	/* The commit script itself, run with a lease that is not current:
	 * refused before it writes anything. */
	rt_redis *r;
	char err[256];
	dir_scripts_init();
	struct rt_redis_ep ep = test_redis_ep(&c.redis, "directory");
	CHECK(rt_redis_open(&r, &ep, 1000, err, sizeof(err)) == 0);
	uint64_t head = tc_redis_int(&c, "hs:seq");
	const char *argv[] = { RK_LEADER, RK_SEQ, RK_LOG, "hs:photo:fenced",
		"dir-9/1", "1000", "rec", "1", "sha", "1", "0", "", "0" };
	redisReply *rep = rt_redis_eval(r, &dir_script_register, 4, 13, argv,
	    NULL, err, sizeof(err));
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strstr(rep->str, "FENCED") != NULL);
	freeReplyObject(rep);
	rt_redis_close(r);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), head);
	redisReply *x = redisCommand(c.rc, "EXISTS hs:photo:fenced");
	CHECK(x != NULL && x->integer == 0);
	freeReplyObject(x);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "one leader at a time over many elections",
		    test_one_leader_over_many_elections },
		{ "SIGKILL the leader during registrations",
		    test_sigkill_leader_during_registrations },
		{ "SIGSTOP the leader: it commits nothing, then follows",
		    test_sigstop_leader_commits_nothing },
		{ "a stale lease is fenced in Redis",
		    test_stale_lease_is_fenced_in_redis },
		{ NULL, NULL },
	};
	rt_log_init("election_test", 'T');
	return tc_main(&c, 3, env, cases, argc, argv);
}
