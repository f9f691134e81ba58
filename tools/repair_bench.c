/* repair_bench: how fast the replicator re-replicates a lost store, against
 * a plain `cp` of that store's volume files measured in the same run.
 *   1. a real cluster (redis x2, directoryd, stored x4, replicatord);
 *   2. uploads --small photos of 4 KiB and --large photos of 1 MiB (the
 *      issue's figures are 100000 and 1000, the defaults), 3 replicas each;
 *   3. `cp -r` of store 1's data dir (+ sync), timed;
 *   4. SIGKILL store 1; times until every photo it held is back at 3
 *      replicas on the other stores (each remaining store holds every
 *      photo), and reports photos/s and MB/s of the repair itself (from the
 *      moment the replicator can see the loss: DOWN detection plus the
 *      grace period, both printed, are subtracted) and the ratio to cp.
 * Usage: repair_bench [--small N] [--large N] [--threads N] */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "clock.h"
#include "cluster.h"
#include "log.h"
#include "repl_util.h"
#include "rpc.h"
#include "rpc_client.h"
#include "store.pb-c.h"

#define GRACE_MS 500
#define DOWN_MS 600 /* 3 heartbeats of 200 ms */

static struct test_cluster C;
static _Atomic long next_photo, uploaded, upload_failed;
static long nsmall = 100000, nlarge = 1000;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
uploader(void *arg)
{
	(void)arg;
	for (;;) {
		long i = atomic_fetch_add(&next_photo, 1);
		if (i >= nsmall + nlarge)
			return NULL;
		struct tphoto p;
		size_t len = i < nlarge ? (1u << 20) : 4096;
		if (tr_upload(&p, (uint64_t)i + 1, len, 1) == HS_OK)
			atomic_fetch_add(&uploaded, 1);
		else
			atomic_fetch_add(&upload_failed, 1);
		tr_photo_free(&p);
	}
}

/* One client per store, kept: the bench polls the stores while the repair
 * runs and must not spend the CPU it measures on dialing. */
static rpc_client *stats_clients[8];

/* Needles and live bytes store id holds (Stats). */
static int
store_stats(uint32_t id, uint64_t *needles, uint64_t *bytes)
{
	char url[64], err[256];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", C.p_store[id - 1]);
	const char *u = url;
	rpc_client *c = stats_clients[id];
	if (c == NULL) {
		struct rpc_client_opts o = { .ident = test_ident(C.keyfile) };
		if (o.ident == NULL)
			return -1;
		if (rpc_client_open(&c, &u, 1, &o, err, sizeof(err)) != 0)
			return -1;
		stats_clients[id] = c;
	}
	Hs__StoreStatsRequest q = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	int rc = -1;
	if (rpc_invoke(c, &hs__store__descriptor, "Stats", &q.base, &m, 5000, 0,
		&e) == HS_OK) {
		Hs__StoreStatsReply *r = (Hs__StoreStatsReply *)m;
		*needles = r->store ? r->store->needles : 0;
		*bytes = r->live_bytes;
		protobuf_c_message_free_unpacked(m, NULL);
		rc = 0;
	}
	return rc;
}

static int
all_back(long total)
{
	for (uint32_t s = 2; s <= 4; s++) {
		uint64_t n = 0, b = 0;
		if (store_stats(s, &n, &b) != 0 || (long)n < total)
			return 0;
	}
	return 1;
}

/* Uploads with threads uploaders; returns the photos acknowledged. */
static long
upload_all(int threads)
{
	double t0 = now_s();
	pthread_t th[64];
	threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, uploader, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	long total = atomic_load(&uploaded);
	printf("uploaded: %ld photos (%ld x 4 KiB, %ld x 1 MiB) in %.1f s, "
	       "%ld failed\n",
	    total, nsmall, nlarge, now_s() - t0, atomic_load(&upload_failed));
	return total;
}

/* The baseline: seconds for cp -r of the victim's data dir plus sync. */
static double
copy_victim(uint64_t vb)
{
	char cmd[2000];
	snprintf(cmd, sizeof(cmd), "cp -r %s/store-1 %s/store-1.copy && sync",
	    C.dir, C.dir);
	double c0 = now_s();
	int cprc = system(cmd);
	double cp_s = now_s() - c0;
	printf("cp -r of its data dir + sync: %.2f s, %.1f MB/s%s\n", cp_s,
	    (double)vb / 1e6 / cp_s, cprc ? " (cp failed)" : "");
	return cp_s;
}

/* Kills store 1 and waits until the others hold every photo again.
 * Returns the seconds from the kill. */
static double
kill_and_wait(long total)
{
	test_proc_kill(&C.stores[0], SIGKILL);
	double k0 = now_s();
	/* Polled every 50 ms (not CHECK_WAIT_UNTIL's 5 ms): the bench shares
	 * the two cores with the repair it times. */
	int64_t until = check_mono_ms() + 3600 * 1000;
	int back;
	while (!(back = all_back(total)) && check_mono_ms() < until)
		rt_sleep_ms(50);
	if (!back) {
		fprintf(stderr, "repair_bench: not repaired\n");
		test_cluster_dump_logs(&C);
	}
	return now_s() - k0;
}

static void
report(double total_s, double cp_s, uint64_t vn, uint64_t vb)
{
	double rep_s = total_s - (GRACE_MS + DOWN_MS) / 1000.0;
	if (rep_s <= 0)
		rep_s = total_s;
	printf("repair: %.2f s after the kill (incl. %.1f s DOWN detection + "
	       "grace); %.2f s of repair\n",
	    total_s, (GRACE_MS + DOWN_MS) / 1000.0, rep_s);
	printf("repair throughput: %.0f photos/s, %.1f MB/s\n",
	    (double)vn / rep_s, (double)vb / 1e6 / rep_s);
	printf("ratio repair/cp (MB/s): %.2f\n",
	    ((double)vb / rep_s) / ((double)vb / cp_s));
}

int
main(int argc, char **argv)
{
	int threads = 8;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--small"))
			nsmall = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--large"))
			nlarge = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
	}
	rt_log_init("repair_bench", 'C');
	/* Binaries are found in the runfiles tree, as tests find them. */
	if (getenv("TEST_SRCDIR") == NULL) {
		char rf[1024];
		snprintf(rf, sizeof(rf), "%s.runfiles", argv[0]);
		setenv("TEST_SRCDIR", rf, 1);
	}
	char repl_args[256];
	snprintf(repl_args, sizeof(repl_args),
	    "--store-down-grace=%dms "
	    "--tick=100ms --nightly-audit-hour=-1 --workers=4 "
	    "--repair-batch=256 --rpc-timeout=30s",
	    GRACE_MS);
	struct test_cluster_opts o = { .ndirs = 1,
		.nstores = 4,
		.replicator = 1,
		.repl_args = repl_args,
		.store_args = "--scrub-rate=0 --max-volume-size=1GiB" };
	if (test_cluster_start(&C, &o) != 0 || tr_open(&C) != 0) {
		fprintf(stderr, "repair_bench: cannot start the cluster\n");
		return 1;
	}
	long total = upload_all(threads);
	/* Every store must hold every photo before the loss (4 stores, 3
	 * replicas: the victim holds about 3/4 of them). */
	uint64_t vn = 0, vb = 0;
	store_stats(1, &vn, &vb);
	printf("victim: store 1 holds %llu photos, %.1f MB\n",
	    (unsigned long long)vn, (double)vb / 1e6);
	double cp_s = copy_victim(vb);
	report(kill_and_wait(total), cp_s, vn, vb);
	for (size_t i = 0; i < sizeof(stats_clients) / sizeof(*stats_clients);
	     i++)
		test_rpc_close(stats_clients[i]); /* bounded */
	tr_close();
	test_cluster_stop(&C);
	return 0;
}
