/* Metadata that survives its Redis (issue 14 §3): the metadata Redis as a
 * primary, a replica and three sentinels. A commit is acknowledged only
 * once the replica has it (with the replica paused, an upload is not
 * acknowledged); the primary SIGKILLed under a stream of uploads: uploads
 * resume after the failover (the old primary back as a replica), every
 * acknowledged photo downloads, and the
 * change log shows no sequence number twice and no commit by a deposed
 * leader (each entry names the lease that wrote it). Prints the stall,
 * the longest gap between two acknowledged uploads. And a new leader
 * starts above the highest epoch and seq a directory reported in hs:dirs
 * (what a follower that read a tail the failover lost would report). */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "cluster.h"
#include "directory.pb-c.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "redis_keys.h"

#define MAX_ACKED 4096
#define PHOTO_LEN 4000

static struct test_cluster tc;

/* The uploader: one client uploading photo after photo, noting each
 * acknowledged one and when. */
static struct {
	pthread_t th;
	atomic_int stop;
	atomic_int n; /* acknowledged so far */
	hs_photo_id id[MAX_ACKED];
	int64_t at[MAX_ACKED];
	int failed;
	char last_err[512];
} up;

static void
photo_bytes(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

static void *
uploader(void *arg)
{
	(void)arg;
	hs_client *c;
	hs_error e;
	uint8_t photo[PHOTO_LEN];
	if (hs_open_file(&c, tc.cluster_file, &e) != HS_OK)
		return NULL;
	while (!atomic_load(&up.stop) && atomic_load(&up.n) < MAX_ACKED) {
		int k = atomic_load(&up.n);
		photo_bytes(photo, sizeof(photo), (uint32_t)k);
		hs_photo_id id;
		if (hs_upload(c, photo, sizeof(photo), 2, 5000, &id, &e) !=
		    HS_OK) {
			up.failed++;
			snprintf(up.last_err, sizeof(up.last_err), "%s",
			    e.message);
			continue;
		}
		up.id[k] = id;
		up.at[k] = rt_mono_ms();
		atomic_store(&up.n, k + 1);
	}
	test_hs_close(c);
	return NULL;
}

static int
acked_past(int n)
{
	return atomic_load(&up.n) >= n;
}

/* SIGSTOPs (stop) or SIGCONTs every instance but the primary p. */
static void
pause_replicas(int p, int stop)
{
	for (int i = 0; i < TEST_SENTINEL_REDIS; i++) {
		struct test_proc *r = &tc.sentinel.redis[i].proc;
		if (i == p)
			continue;
		if (stop) {
			test_proc_stop(r);
			CHECK(CHECK_WAIT_UNTIL(test_proc_stopped(r), 2000));
		} else {
			test_proc_cont(r);
		}
	}
}

static int
one_upload(hs_client *c, int64_t timeout_ms, hs_error *e)
{
	uint8_t photo[PHOTO_LEN];
	hs_photo_id id;
	photo_bytes(photo, sizeof(photo), 7777);
	return hs_upload(c, photo, sizeof(photo), 2, timeout_ms, &id, e) ==
	    HS_OK;
}

static void
test_no_ack_without_the_replica(void)
{
	hs_client *c;
	hs_error e;
	CHECK_STATUS(hs_open_file(&c, tc.cluster_file, &e), HS_OK, e.message);
	CHECK_MSG(one_upload(c, 10000, &e), "before: %s", e.message);
	int p = test_sentinel_primary(&tc.sentinel);
	CHECK(p >= 0);
	pause_replicas(p, 1);
	int acked = one_upload(c, 2500, &e);
	pause_replicas(p, 0);
	CHECK_MSG(!acked,
	    "an upload was acknowledged while the replicas were paused");
	printf("paused replicas: upload refused: %s\n", e.message);
	/* Back: commits go on (a new lease once the old one ran out). */
	int64_t t0 = rt_mono_ms();
	CHECK_MSG(one_upload(c, 20000, &e), "after: %s", e.message);
	printf("replica back: upload acknowledged after %" PRId64 " ms\n",
	    rt_mono_ms() - t0);
	test_hs_close(c);
}

/* The change log as the admin sees it: each entry's seq in order, and
 * the epoch of the lease that wrote it never going down. */
static void
check_log(void)
{
	struct rt_redis_ep ep = test_redis_ep(&tc.meta, "admin");
	char err[256];
	redisContext *c = rt_redis_connect(&ep, 2000, err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	redisReply *rep = redisCommand(c, "XRANGE " RK_LOG " - +");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY);
	uint64_t last_seq = 0, last_epoch = 0;
	size_t n = rep->elements;
	for (size_t i = 0; i < n; i++) {
		redisReply *e = rep->element[i], *f = e->element[1];
		uint64_t seq = strtoull(e->element[0]->str, NULL, 10);
		uint64_t epoch = 0;
		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (strcmp(f->element[k]->str, "by") == 0) {
				const char *s = strrchr(f->element[k + 1]->str,
				    '/');
				epoch = s ? strtoull(s + 1, NULL, 10) : 0;
			}
		CHECK_MSG(seq > last_seq, "seq %" PRIu64 " after %" PRIu64, seq,
		    last_seq);
		CHECK_MSG(epoch >= last_epoch,
		    "seq %" PRIu64 " committed by epoch %" PRIu64
		    " after epoch %" PRIu64 " had committed: a deposed leader",
		    seq, epoch, last_epoch);
		last_seq = seq;
		last_epoch = epoch;
	}
	printf("change log: %zu entries, seq up to %" PRIu64
	       ", last epoch %" PRIu64 "\n",
	    n, last_seq, last_epoch);
	freeReplyObject(rep);
	redisFree(c);
}

/* Every acknowledged photo's seq, from its hash: no two the same. */
static void
check_seqs_distinct(int n)
{
	struct rt_redis_ep ep = test_redis_ep(&tc.meta, "admin");
	char err[256];
	redisContext *c = rt_redis_connect(&ep, 2000, err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	uint64_t *seq = calloc((size_t)n, sizeof(*seq));
	for (int i = 0; i < n; i++) {
		redisReply *rep = redisCommand(c,
		    "HGET " RK_PHOTO_PREFIX "%016" PRIx64 " seq", up.id[i].key);
		CHECK_MSG(rep != NULL && rep->type == REDIS_REPLY_STRING,
		    "acknowledged photo %d has no record", i);
		seq[i] = strtoull(rep->str, NULL, 10);
		freeReplyObject(rep);
		for (int k = 0; k < i; k++)
			CHECK_MSG(seq[k] != seq[i],
			    "photos %d and %d share seq %" PRIu64, k, i,
			    seq[i]);
	}
	free(seq);
	redisFree(c);
}

static void
check_downloads(int n)
{
	hs_client *c;
	hs_error e;
	uint8_t want[PHOTO_LEN];
	CHECK_STATUS(hs_open_file(&c, tc.cluster_file, &e), HS_OK, e.message);
	for (int i = 0; i < n; i++) {
		void *back = NULL;
		size_t len = 0;
		hs_status st = hs_download(c, up.id[i], 10000, &back, &len, &e);
		photo_bytes(want, sizeof(want), (uint32_t)i);
		int same = st == HS_OK && len == sizeof(want) &&
		    memcmp(back, want, len) == 0;
		free(back);
		CHECK_MSG(same, "acknowledged photo %d: %s", i,
		    st == HS_OK ? "other bytes" : e.message);
	}
	test_hs_close(c);
}

static void
test_primary_killed_under_uploads(void)
{
	pthread_create(&up.th, NULL, uploader, NULL);
	CHECK(CHECK_WAIT_UNTIL(acked_past(20), 20000));
	int p = test_sentinel_primary(&tc.sentinel);
	CHECK(p >= 0);
	int before = atomic_load(&up.n);
	int64_t t0 = rt_mono_ms();
	test_redis_kill(&tc.sentinel.redis[p]);
	CHECK_MSG(CHECK_WAIT_UNTIL(test_sentinel_moved_on(&tc.sentinel, p),
		      20000),
	    "the sentinels did not promote a replica");
	int64_t failover = rt_mono_ms() - t0;
	/* The new primary takes writes once it has a replica again. */
	CHECK(test_sentinel_rejoin(&tc.sentinel, p) == 0);
	int ok = CHECK_WAIT_UNTIL(acked_past(before + 20), 30000);
	int64_t resumed = rt_mono_ms() - t0;
	atomic_store(&up.stop, 1);
	pthread_join(up.th, NULL);
	CHECK_MSG(ok,
	    "uploads did not resume: %d acknowledged, %d failed, "
	    "last: %s",
	    atomic_load(&up.n), up.failed, up.last_err);
	int n = atomic_load(&up.n);
	int64_t stall = 0;
	for (int i = 1; i < n; i++)
		if (up.at[i] - up.at[i - 1] > stall)
			stall = up.at[i] - up.at[i - 1];
	printf("primary killed: failover named by the sentinels after %" PRId64
	       " ms, 20 more uploads acknowledged after %" PRId64
	       " ms (the old primary back as a replica); %d uploads acknowledged (%d before "
	       "the kill), %d failed; stall %" PRId64 " ms\n",
	    failover, resumed, n, before, up.failed, stall);
	check_downloads(n);
	check_seqs_distinct(n);
	check_log();
}

/* One integer command as admin (through the sentinels). */
static long long
admin_int(const char *cmd)
{
	struct rt_redis_ep ep = test_redis_ep(&tc.meta, "admin");
	char err[256];
	redisContext *c = rt_redis_connect(&ep, 2000, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "admin: %s\n", err);
		return -1;
	}
	redisReply *rep = redisCommand(c, cmd);
	long long v = rep == NULL	     ? -1 :
	    rep->type == REDIS_REPLY_INTEGER ? rep->integer :
	    rep->type == REDIS_REPLY_STRING  ? atoll(rep->str) :
					       -1;
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
	return v;
}

/* A directory node in hs:dirs reporting epoch e and seq s, as a follower
 * that saw them on the lost primary would. */
static void
report_ghost(uint64_t e, uint64_t s)
{
	Hs__DirectoryNode n = HS__DIRECTORY_NODE__INIT;
	uint8_t buf[256];
	n.id = "ghost";
	n.rpc_addr = "tcp://127.0.0.1:1";
	n.applied_seq = s;
	n.epoch_seen = e;
	size_t len = hs__directory_node__pack(&n, buf);
	struct rt_redis_ep ep = test_redis_ep(&tc.meta, "admin");
	char err[256];
	redisContext *c = rt_redis_connect(&ep, 2000, err, sizeof(err));
	CHECK_MSG(c != NULL, "%s", err);
	redisReply *rep = redisCommand(c, "HSET " RK_DIRS " ghost %b", buf,
	    len);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_INTEGER);
	freeReplyObject(rep);
	redisFree(c);
}

static int
new_leader(int old)
{
	int l = test_cluster_leader(&tc);
	return l >= 0 && l != old;
}

static void
test_new_leader_starts_above_reports(void)
{
	hs_client *c;
	hs_error e;
	long long epoch = admin_int("GET " RK_EPOCH),
		  seq = admin_int("GET " RK_SEQ);
	CHECK(epoch > 0 && seq > 0);
	report_ghost((uint64_t)epoch + 50, (uint64_t)seq + 100);
	int old = test_cluster_leader(&tc);
	CHECK(old >= 0);
	test_proc_kill(&tc.dirs[old], SIGKILL);
	CHECK(CHECK_WAIT_UNTIL(new_leader(old), 20000));
	CHECK_STATUS(hs_open_file(&c, tc.cluster_file, &e), HS_OK, e.message);
	CHECK_MSG(one_upload(c, 20000, &e), "%s", e.message);
	test_hs_close(c);
	long long epoch2 = admin_int("GET " RK_EPOCH),
		  seq2 = admin_int("GET " RK_SEQ);
	printf("reported epoch %lld, seq %lld: the new leader's epoch %lld, "
	       "its first seq %lld\n",
	    epoch + 50, seq + 100, epoch2, seq2);
	CHECK_MSG(epoch2 > epoch + 50, "epoch %lld not above %lld", epoch2,
	    epoch + 50);
	CHECK_MSG(seq2 > seq + 100, "seq %lld not above %lld", seq2, seq + 100);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "no ack without the replica",
		    test_no_ack_without_the_replica },
		{ "primary killed under uploads",
		    test_primary_killed_under_uploads },
		{ "new leader starts above reports",
		    test_new_leader_starts_above_reports },
		{ NULL, NULL },
	};
	rt_log_init("sentinel_test", 'T');
	struct test_cluster_opts o = { .ndirs = 3,
		.nstores = 3,
		.sentinel = 1 };
	if (test_cluster_start(&tc, &o) != 0)
		return 1;
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		test_cluster_dump_logs(&tc);
	test_cluster_stop(&tc);
	return rc;
}
