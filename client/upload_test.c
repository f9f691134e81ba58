/* The v2 upload path through libhs, on a whole cluster of real processes
 * (Redis x2, directories x3 behind nginx, stores x5): uploads take ids of
 * write grants, so a steady stream makes a directory call only every 64
 * uploads and never registers a photo itself (the stores do); every upload
 * reads its own write back through the seq its store answered; a store
 * killed between its append and its registration costs the upload a retry
 * with the same id at the group's next store, never a second id. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "cluster_run.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"
#include "store.pb-c.h"

static struct test_cluster tc;

enum { STREAM = 200 };

/* One thread uploading STREAM photos back to back: ceil(200/64) + 1 = 5
 * Allocates at most (each a grant of 64 ids), no RegisterPhoto, and every
 * photo downloads intact right after its upload through a Lookup that
 * carries the seq its store answered (read your writes: the directory
 * asked may be a follower). */
static void
test_steady_stream_uses_grants_and_never_registers(void)
{
	/* No location memory and no cache: each download is a Lookup (with
	 * this client's last seq of the photo) and a Read. */
	hs_error e;
	hs_client *c = test_cluster_client(&tc,
	    TEST_CL_NO_LOCATIONS | TEST_CL_NO_CACHE, NULL, &e);
	CHECK_MSG(c != NULL, "%s", e.message);
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < STREAM; i++) {
		hs_photo_id id;
		size_t len = 1000 + (size_t)i;
		uint8_t *b = test_bytes(len, 500 + (uint64_t)i);
		CHECK_STATUS(hs_upload(c, b, len, 0, 30000, &id, &e), HS_OK,
		    e.message);
		CHECK_STATUS(test_download_equals(c, id, b, len, &e), HS_OK,
		    e.message);
		free(b);
	}
	struct hs_upload_counters n;
	hs_upload_counters(c, &n);
	printf("  %d uploads and downloads in %lld ms: %llu Allocate calls, "
	       "%llu RegisterPhoto calls\n",
	    STREAM, (long long)(check_mono_ms() - t0),
	    (unsigned long long)n.allocate_calls,
	    (unsigned long long)n.register_calls);
	CHECK(n.allocate_calls >= 1);
	CHECK(n.allocate_calls <= (STREAM + 63) / 64 + 1);
	CHECK_EQ(n.register_calls, 0);
	test_hs_close(c);
}

/* What one store's Stats says. */
struct store_counts {
	uint64_t writes, replicates, needles;
	int ok;
};

static struct store_counts
counts_of(int s)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct store_counts k = { 0, 0, 0, 0 };
	if (test_rpc_call(tc.p_store[s], tc.keyfile, &hs__store__descriptor,
		"Stats", &req.base, &reply, 2000, NULL) != HS_OK)
		return k;
	Hs__StoreStatsReply *r = (Hs__StoreStatsReply *)reply;
	k = (struct store_counts){ r->writes, r->replicate_calls,
		r->store ? r->store->needles : 0, 1 };
	protobuf_c_message_free_unpacked(reply, NULL);
	return k;
}

/* The store that took a client's Write since `before`: its own append
 * counted, no Replicate received. -1 while there is none. */
static int
first_store(const struct store_counts *before)
{
	for (int s = 0; s < tc.nstores; s++) {
		struct store_counts k = counts_of(s);
		if (k.ok && k.writes > before[s].writes &&
		    k.replicates == before[s].replicates)
			return s;
	}
	return -1;
}

struct upload_job {
	hs_client *c;
	const uint8_t *data;
	size_t len;
	hs_photo_id id;
	hs_status st;
	hs_error e;
};

static void *
upload_main(void *arg)
{
	struct upload_job *j = arg;
	j->st = hs_upload(j->c, j->data, j->len, 0, 30000, &j->id, &j->e);
	return NULL;
}

static int
replicas_of(hs_client *c, hs_photo_id id)
{
	struct hs_photo_info info;
	hs_error e;
	return hs_stat(c, id, 5000, &info, &e) == HS_OK ? (int)info.nreplicas :
							  -1;
}

/* The leader is held (SIGSTOP) so the registration waits; the store that
 * took the Write is SIGKILLed once it has appended; the leader goes on.
 * The upload succeeds through the group's next store with the same id:
 * every needle the surviving stores gained is a copy of that photo (a
 * second id would have left orphans behind). */
static void
test_store_killed_before_registering_retry_lands_same_id(void)
{
	hs_error e;
	hs_client *c = test_cluster_client(&tc, 0, NULL, &e);
	CHECK_MSG(c != NULL, "%s", e.message);
	hs_photo_id warm;
	uint8_t *w = test_bytes(100, 1);
	/* Takes a grant (63 ids left: no Allocate during the test) and
	 * settles: its copies are all in before the counts are taken. */
	CHECK_STATUS(hs_upload(c, w, 100, 0, 30000, &warm, &e), HS_OK,
	    e.message);
	free(w);
	CHECK(CHECK_WAIT_UNTIL(replicas_of(c, warm) == 3, 5000));
	struct store_counts before[TEST_CLUSTER_MAX_STORES];
	for (int s = 0; s < tc.nstores; s++)
		before[s] = counts_of(s);
	int leader = test_cluster_leader(&tc);
	CHECK(leader >= 0);
	struct upload_job j = { .c = c, .len = 7000 };
	j.data = test_bytes(j.len, 4242);
	pthread_t t;
	test_proc_stop(&tc.dirs[leader]);
	pthread_create(&t, NULL, upload_main, &j);
	int first = -1;
	CHECK(CHECK_WAIT_UNTIL((first = first_store(before)) >= 0, 5000));
	if (first >= 0)
		test_proc_kill(&tc.stores[first], SIGKILL);
	test_proc_cont(&tc.dirs[leader]);
	pthread_join(t, NULL);
	CHECK_STATUS(j.st, HS_OK, j.e.message);
	CHECK_STATUS(test_download_equals(c, j.id, j.data, j.len, &e), HS_OK,
	    e.message);
	uint64_t added = 0, holders = 0;
	for (int s = 0; s < tc.nstores && j.st == HS_OK; s++) {
		if (s == first)
			continue;
		added += counts_of(s).needles - before[s].needles;
		holders += test_cluster_read(&tc, s, j.id.key, j.id.cookie,
			       0) == HS_OK;
	}
	printf("  store %d killed; the survivors gained %llu needles, %llu "
	       "of them copies of the uploaded photo\n",
	    first + 1, (unsigned long long)added, (unsigned long long)holders);
	CHECK(holders >= 2);
	CHECK_EQ(added, holders);
	free((void *)j.data);
	if (first >= 0) {
		test_proc_restart(&tc.stores[first]);
		CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 20000));
	}
	test_hs_close(c);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "steady stream uses grants and never registers",
		    test_steady_stream_uses_grants_and_never_registers },
		{ "store killed before registering: retry lands the same id",
		    test_store_killed_before_registering_retry_lands_same_id },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .nginx = 1 };
	rt_log_init("upload_test", 'T');
	if (test_cluster_start(&tc, &o) != 0)
		return 1;
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		test_cluster_dump_logs(&tc);
	/* Every store stops cleanly and at once: a crash (under
	 * --config=asan, any memory error) or a call to a dead peer that
	 * holds the store for its whole timeout is a failure even when the
	 * uploads went through. */
	for (int i = 0; i < tc.nstores; i++) {
		int64_t t0 = check_mono_ms();
		int x = test_proc_term(&tc.stores[i]);
		int64_t took = check_mono_ms() - t0;
		if (x != 0 || took > 10000) {
			fprintf(stderr,
			    "store %d exited with %d after %lld ms\n", i + 1, x,
			    (long long)took);
			test_proc_dump_log(&tc.stores[i]);
			rc = 1;
		}
	}
	test_cluster_stop(&tc);
	return rc;
}
