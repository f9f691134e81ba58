/* directory_bench: the directory's figures in one run, on this machine.
 *   bazel run //tools:directory_bench
 * Starts its own redis-server (metadata settings) and three directoryd,
 * then prints: redis-benchmark SET/GET on that Redis as the baseline;
 * registrations/s through the leader and lookups/s served by a follower
 * (16 clients each) with their ratio to the baseline; the write stall after
 * SIGKILL of the leader (median of 5) and after SIGSTOP of it, with short
 * leases (LEADER_TIMEOUT=2s) and with the defaults; and the RAM per
 * photo record in a follower holding 1M records. A benchmark, not a test. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "directory/test_cluster.h"
#include "log.h"
#include "rpc.h"

#define CLIENTS 16
#define RUN_MS 3000

static struct tc c;
static const char *const env[] = { "LEADER_TIMEOUT=2s",
	"LEADER_HEARTBEAT_INTERVAL=300ms", "FOLLOWER_SYNC_INTERVAL=500ms",
	"HEARTBEAT_INTERVAL=1s", "HS_LOG_LEVEL=warn", NULL };

static double
redis_baseline(const char *test)
{
	char cmd[1024], line[256];
	double rps = 0;
	/* As the admin user; redis-benchmark takes a password only as -a,
	 * so the shell reads it from its file. */
	struct rt_redis_ep ep = test_redis_ep(&c.redis, "admin");
	snprintf(cmd, sizeof(cmd),
	    "redis-benchmark -p %d --user admin -a \"$(cat '%s')\" -c %d "
	    "-n 200000 -t %s -q 2>/dev/null",
	    c.redis.port, ep.password_file, CLIENTS, test);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		/* "SET: 81234.56 requests per second, p50=..." (after \r) */
		char *s = strrchr(line, '\r');
		s = s ? s + 1 : line;
		if (sscanf(s, "%*[A-Z]: %lf requests per second", &rps) == 1)
			break;
	}
	pclose(p);
	return rps;
}

struct load {
	int dir;       /* target directory index, -1 = all */
	int lookups;   /* 0 = register */
	uint64_t base; /* key range */
	_Atomic uint64_t done;
	_Atomic int stop;
};

static _Atomic uint64_t key_counter = 1;

static void *
load_main(void *arg)
{
	struct load *l = arg;
	const char *url = c.d[l->dir].rpc;
	struct rpc_client_opts co = { .connect_wait_ms = 2000 };
	rpc_client *cl;
	char err[256];
	co.ident = test_ident(c.keyfile);
	if (rpc_client_open(&cl, &url, 1, &co, err, sizeof(err)) != 0)
		return NULL;
	uint64_t x = (uint64_t)(uintptr_t)&cl;
	while (!atomic_load(&l->stop)) {
		hs_status st;
		if (l->lookups) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t k = 1 + (x >> 33) % l->base;
			st = tc_lookup(cl, k, 3, 0, NULL, NULL, NULL);
		} else {
			uint64_t k = atomic_fetch_add(&key_counter, 1);
			st = tc_register(cl, k, 3, 1, 100, NULL, NULL);
		}
		if (st == HS_OK)
			atomic_fetch_add(&l->done, 1);
	}
	test_rpc_close(cl); /* bounded: nng 1.5.2 can hang in close */
	return NULL;
}

static double
run_load(int dir, int lookups)
{
	static struct load l;
	pthread_t t[CLIENTS];
	memset(&l, 0, sizeof(l));
	l.dir = dir;
	l.lookups = lookups;
	l.base = atomic_load(&key_counter) - 1;
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&t[i], NULL, load_main, &l);
	usleep(RUN_MS * 1000);
	atomic_store(&l.stop, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(t[i], NULL);
	return (double)atomic_load(&l.done) * 1000.0 / RUN_MS;
}

/* Time from sig (SIGKILL or SIGSTOP) of t's leader to the next
 * acknowledged registration; the leader is then restarted or woken. */
static double
write_stall(struct tc *t, int sig)
{
	int l = tc_wait_leader(t, 15000);
	if (l < 0)
		return -1;
	uint64_t k = atomic_fetch_add(&key_counter, 1);
	tc_register(t->all, k, 3, 1, 100, NULL, NULL);
	int64_t t0 = check_mono_ms();
	/* Like a real client: short attempts, resent until acknowledged. */
	tc_call_timeout_ms = 500;
	tc_signal(t, l, sig);
	k = atomic_fetch_add(&key_counter, 1);
	while (tc_register(t->all, k, 3, 1, 100, NULL, NULL) != HS_OK)
		usleep(10000);
	double s = (double)(check_mono_ms() - t0) / 1000.0;
	tc_call_timeout_ms = 3000;
	if (sig == SIGSTOP)
		tc_signal(t, l, SIGCONT);
	else
		tc_start_dir(t, l, NULL);
	return s;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The stalls of t: SIGKILL of the leader (median of 5), then SIGSTOP
 * (once: it lasts about LEADER_TIMEOUT). */
static void
stalls(struct tc *t, const char *what)
{
	double kill[5];
	for (int i = 0; i < 5; i++) {
		kill[i] = write_stall(t, SIGKILL);
		printf("  %s: stall %d after SIGKILL: %.2f s\n", what, i + 1,
		    kill[i]);
	}
	qsort(kill, 5, sizeof(double), cmp_double);
	double stop = write_stall(t, SIGSTOP);
	printf("write stall, %s: SIGKILL of the leader median %.2f s "
	       "(target <= 3 s, old system 10-15 s); SIGSTOP of the leader "
	       "%.2f s (replaced when its lease runs out)\n",
	    what, kill[2], stop);
}

/* Writes n records straight into Redis in the committed format. */
static int
bulk_load(redisContext *rc, uint64_t n)
{
	uint8_t sha[32], buf[256];
	uint32_t stores[3] = { 1, 2, 3 };
	memset(sha, 7, sizeof(sha));
	for (uint64_t i = 1; i <= n; i++) {
		Hs__PhotoRecord r = HS__PHOTO_RECORD__INIT;
		Hs__PhotoId id = HS__PHOTO_ID__INIT;
		char key[40];
		id.key = i;
		id.cookie = (uint32_t)i;
		r.id = &id;
		r.size = 50000;
		r.sha256.data = sha;
		r.sha256.len = 32;
		r.state = HS__PHOTO_STATE__PHOTO_ACTIVE;
		r.stores = stores;
		r.n_stores = 3;
		r.target_replicas = 3;
		r.created_ms = r.updated_ms = rt_now_ms();
		r.seq = i;
		size_t len = hs__photo_record__pack(&r, buf);
		snprintf(key, sizeof(key), "hs:photo:%016" PRIx64, i);
		redisAppendCommand(rc, "HSET %s rec %b seq %" PRIu64, key, buf,
		    len, i);
		if (i % 10000 == 0 || i == n) {
			for (uint64_t k = (i - 1) / 10000 * 10000; k < i; k++) {
				void *rep;
				if (redisGetReply(rc, &rep) != REDIS_OK)
					return -1;
				freeReplyObject(rep);
			}
		}
	}
	redisReply *r = redisCommand(rc, "SET hs:seq %" PRIu64, n);
	if (r != NULL)
		freeReplyObject(r);
	return 0;
}

/* RSS of one directoryd at 0 and at n records on a fresh Redis. */
static double
bytes_per_record(uint64_t n)
{
	static struct tc m;
	static const char *const e2[] = { "HS_LOG_LEVEL=warn", NULL };
	if (tc_start(&m, 1, e2) != 0)
		return -1;
	CHECK_WAIT_UNTIL(tc_applied(m.d[0].cl, 1000) == 0 &&
		test_proc_status_kib(m.d[0].proc.pid, "VmRSS") > 0,
	    2000);
	usleep(300000);
	long rss0 = test_proc_status_kib(m.d[0].proc.pid, "VmRSS");
	tc_signal(&m, 0, SIGTERM);
	if (bulk_load(m.rc, n) != 0)
		return -1;
	tc_start_dir(&m, 0, NULL);
	int64_t t0 = check_mono_ms();
	CHECK_WAIT_UNTIL(tc_applied(m.d[0].cl, 1000) >= n, 120000);
	printf("  (a directory loaded %" PRIu64 " records in %.1f s)\n", n,
	    (double)(check_mono_ms() - t0) / 1000.0);
	usleep(300000);
	long rss1 = test_proc_status_kib(m.d[0].proc.pid, "VmRSS");
	tc_stop(&m);
	return (double)(rss1 - rss0) * 1024.0 / (double)n;
}

int
main(int argc, char **argv)
{
	char srcdir[600];
	(void)argc;
	rt_log_init("directory_bench", 'T');
	if (getenv("TEST_SRCDIR") == NULL) {
		/* bazel run: runfiles sit beside the binary. */
		snprintf(srcdir, sizeof(srcdir), "%s.runfiles", argv[0]);
		setenv("TEST_SRCDIR", srcdir, 1);
	}
	if (tc_start(&c, 3, env) != 0) {
		fprintf(stderr, "cannot start the cluster\n");
		tc_dump_logs(&c);
		return 1;
	}
	int l = tc_wait_leader(&c, 10000);
	double set = redis_baseline("set"), get = redis_baseline("get");
	printf("redis-benchmark baseline (%d clients): SET %.0f/s, GET %.0f/s\n",
	    CLIENTS, set, get);
	double reg = run_load(l, 0);
	double look = run_load((l + 1) % c.n, 1);
	printf("registrations through the leader: %.0f/s (%.2f x SET)\n", reg,
	    set > 0 ? reg / set : 0);
	printf("lookups served by a follower:     %.0f/s (%.2f x GET)\n", look,
	    get > 0 ? look / get : 0);
	stalls(&c, "short leases (LEADER_TIMEOUT=2s)");
	/* The defaults, as a new user runs it (LEADER_TIMEOUT=10s). */
	static struct tc dflt;
	static const char *const e_dflt[] = { "HS_LOG_LEVEL=warn", NULL };
	if (tc_start(&dflt, 3, e_dflt) == 0)
		stalls(&dflt, "defaults (LEADER_TIMEOUT=10s)");
	else
		fprintf(stderr, "cannot start the cluster with defaults\n");
	tc_stop(&dflt);
	tc_stop(&c);
	double bpr = bytes_per_record(1000000);
	printf("RAM per photo record in a follower at 1M records: %.1f bytes "
	       "(target < 100)\n",
	    bpr);
	return 0;
}
