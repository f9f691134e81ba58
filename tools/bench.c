/* bench: the system benchmark, against a running cluster (the launcher's
 * cluster file, or --cluster). For 4 KB and 64 KB photos and --clients
 * concurrent clients: uploads/s (3 replicas, durable); downloads/s through
 * the cache and straight from the stores (with the location memory, and
 * with a Lookup before every read), over 200 photos read again and again
 * (uploaded after that size's upload phase, so they are in the cache);
 * and random reads over --random-photos photos, each read once by fresh
 * clients with the cache off (the location memory cold). Every phase gives
 * p50/p99, CPU microseconds, RPC calls and TCP segments per operation, and
 * its ratio of the bare nng echo ceiling at the same concurrency and size,
 * measured in the same run. A watchdog bounds every step. Not a test.
 *   bazel run //tools:bench -- [--duration=5s] [--clients=16] [--json]
 *   bazel run //tools:bench -- --ceiling-runs=10   (the echo step alone) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cfg.h"
#include "check.h"
#include "echo_ceiling.h"
#include "log.h"
#include "watchdog.h"

#define SLACK_MS 45000 /* a call's 30 s deadline, closes, a slow machine */
#define REPEAT_PHOTOS 200

static const char NOTE[] =
    "cpu_us_per_op: the whole machine's non-idle CPU time (/proc/stat, "
    "every process) over the phase / operations; rpc_calls_per_op: RPC "
    "calls the bench's clients started / operations; tcp_segs_per_op: the "
    "machine's TCP OutSegs (/proc/net/snmp) / operations; echo ceiling: "
    "bare nng REQ/REP echo, as many in flight as clients, replies of the "
    "phase's size";

static const struct bench_phase phases[] = {
	{ "upload_4k", "upload 4KB", 4096, UPLOAD, CACHED },
	{ "cache_4k", "download 4KB (cache)", 4096, READ_REPEAT, CACHED },
	{ "stores_4k", "download 4KB (stores)", 4096, READ_REPEAT, STORES },
	{ "lookup_4k", "download 4KB (+Lookup)", 4096, READ_REPEAT,
	    LOOKUP_EACH },
	{ "random_4k", "random read 4KB (cold)", 4096, READ_RANDOM, COLD },
	{ "upload_64k", "upload 64KB", 65536, UPLOAD, CACHED },
	{ "cache_64k", "download 64KB (cache)", 65536, READ_REPEAT, CACHED },
	{ "stores_64k", "download 64KB (stores)", 65536, READ_REPEAT, STORES },
	{ "random_64k", "random read 64KB (cold)", 65536, READ_RANDOM, COLD },
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

/* Everything one run holds. */
struct bench {
	struct bench_opts o;
	struct watchdog *wd;
	hs_client **cl[NCLIENT_SETS];
	hs_photo_id *repeat4, *repeat64;
	double ceiling4, ceiling64;
	const char *only; /* --phases: keys, comma-separated; "" = all */
	int printed;	  /* phases printed so far */
};

/* Whether --phases names key (a whole item of the list). */
static int
selected(const struct bench *b, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = b->only; *p != '\0';) {
		if (strncmp(p, key, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		p++;
	}
	return b->only[0] == '\0';
}

static double
ceiling(struct bench *b, size_t size)
{
	char what[96];
	snprintf(what, sizeof(what), "echo ceiling, %lld in flight, %zu B",
	    (long long)b->o.clients, size);
	watchdog_phase(b->wd, what, b->o.duration_ms + SLACK_MS);
	double c = echo_ceiling_bare((int)b->o.clients, size, b->o.duration_ms);
	if (c < 0) {
		fprintf(stderr,
		    "bench: the %s failed (above); not measuring "
		    "against a ceiling that did not finish\n",
		    what);
		exit(1);
	}
	return c;
}

/* --ceiling-runs: the echo step alone, n times; each must end in time. */
static int
ceiling_runs(struct bench *b, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		printf("echo ceiling run %lld/%lld: %.0f calls/s\n",
		    (long long)i + 1, (long long)n, ceiling(b, 4096));
	watchdog_stop(b->wd);
	return 0;
}

static void
print_head(const struct bench *b)
{
	if (b->o.json) {
		printf("{\"clients\":%lld,\"duration_ms\":%lld,"
		       "\"random_photos\":%lld,\"echo_ceiling_per_s\":%.0f,"
		       "\"note\":\"%s\",\"phases\":[",
		    (long long)b->o.clients, (long long)b->o.duration_ms,
		    (long long)b->o.random_photos, b->ceiling4, NOTE);
		return;
	}
	printf("%lld clients; bare nng echo ceiling at %lld in flight: "
	       "%.0f/s (4 KB replies), %.0f/s (64 KB)\n%s\n\n",
	    (long long)b->o.clients, (long long)b->o.clients, b->ceiling4,
	    b->ceiling64, NOTE);
	printf("%-24s %8s %7s %7s %8s %6s %6s %8s %6s %6s\n", "phase", "ops/s",
	    "p50 ms", "p99 ms", "cpu us", "rpc", "segs", "ceiling", "ratio",
	    "errors");
}

static void
print_phase(struct bench *b, size_t i, const struct bench_result *r)
{
	const struct bench_phase *ph = &phases[i];
	double c = ph->size == 4096 ? b->ceiling4 : b->ceiling64;
	static const char *kinds[] = { "upload", "read_repeat", "read_random" };
	if (b->o.json)
		printf("%s{\"key\":\"%s\",\"phase\":\"%s\",\"kind\":\"%s\","
		       "\"size\":%zu,\"ops\":%llu,\"ops_per_s\":%.0f,"
		       "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%ld,"
		       "\"cpu_us_per_op\":%.1f,\"rpc_calls_per_op\":%.2f,"
		       "\"tcp_segs_per_op\":%.2f,\"echo_ceiling_per_s\":%.0f,"
		       "\"ratio_of_ceiling\":%.3f}",
		    b->printed++ ? "," : "", ph->key, ph->name, kinds[ph->kind],
		    ph->size, (unsigned long long)r->n, r->ops, r->p50_ms,
		    r->p99_ms, r->errors, r->cpu_us_per_op, r->rpc_per_op,
		    r->segs_per_op, c, r->ops / c);
	else
		printf("%-24s %8.0f %7.2f %7.2f %8.0f %6.2f %6.1f %8.0f %6.3f "
		       "%6ld\n",
		    ph->name, r->ops, r->p50_ms, r->p99_ms, r->cpu_us_per_op,
		    r->rpc_per_op, r->segs_per_op, c, r->ops / c, r->errors);
	fflush(stdout);
}

/* Random reads: their own photos, uploaded first, read by fresh clients
 * that never saw them, the cache off. */
static struct bench_result
random_phase(struct bench *b, const struct bench_phase *ph)
{
	size_t n = (size_t)b->o.random_photos;
	char what[96];
	snprintf(what, sizeof(what), "uploading %zu photos for \"%s\"", n,
	    ph->name);
	watchdog_phase(b->wd, what, SLACK_MS + (int64_t)n * 20);
	hs_photo_id *ids = bench_seed(&b->o, b->cl[CACHED], ph->size, n, 1);
	for (size_t i = n; i > 1; i--) { /* a random order */
		size_t j = (size_t)random() % i;
		hs_photo_id t = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	watchdog_phase(b->wd, ph->name, b->o.duration_ms + SLACK_MS);
	hs_client **cold = bench_open_clients(&b->o, 0, 1);
	struct bench_result r = bench_run_phase(&b->o, cold, ph, ids, n);
	bench_close_clients(&b->o, cold);
	free(ids);
	return r;
}

/* The photos read again and again, uploaded just before the first phase
 * that reads them: after that size's upload phase, whose pushes into the
 * cache (an LRU of 256 MB in the launcher's cluster) would evict them. */
static const hs_photo_id *
repeat_photos(struct bench *b, size_t size)
{
	hs_photo_id **ids = size == 4096 ? &b->repeat4 : &b->repeat64;
	if (*ids == NULL) {
		watchdog_phase(b->wd, "uploading the photos to read again",
		    SLACK_MS + REPEAT_PHOTOS * 100);
		*ids = bench_seed(&b->o, b->cl[CACHED], size, REPEAT_PHOTOS, 0);
	}
	return *ids;
}

static void
run_phases(struct bench *b)
{
	for (size_t i = 0; i < NPHASES; i++) {
		const struct bench_phase *ph = &phases[i];
		struct bench_result r;
		if (!selected(b, ph->key))
			continue;
		if (ph->kind == READ_RANDOM) {
			r = random_phase(b, ph);
		} else {
			const hs_photo_id *ids = ph->kind == UPLOAD ?
			    NULL :
			    repeat_photos(b, ph->size);
			watchdog_phase(b->wd, ph->name,
			    b->o.duration_ms + SLACK_MS);
			r = bench_run_phase(&b->o, b->cl[ph->clients], ph, ids,
			    REPEAT_PHOTOS);
		}
		print_phase(b, i, &r);
	}
}

static void
setup(struct bench *b)
{
	b->ceiling4 = ceiling(b, 4096);
	b->ceiling64 = ceiling(b, 65536);
	watchdog_phase(b->wd, "opening the clients", SLACK_MS);
	b->cl[CACHED] = bench_open_clients(&b->o, 1, 1);
	b->cl[STORES] = bench_open_clients(&b->o, 0, 1);
	b->cl[LOOKUP_EACH] = bench_open_clients(&b->o, 0, 0);
}

static int
teardown(struct bench *b)
{
	watchdog_phase(b->wd, "closing the clients", 3 * SLACK_MS);
	for (int i = 0; i < NCLIENT_SETS; i++)
		if (b->cl[i] != NULL)
			bench_close_clients(&b->o, b->cl[i]);
	free(b->repeat4);
	free(b->repeat64);
	watchdog_stop(b->wd);
	if (check_failures) {
		fprintf(stderr,
		    "bench: a close overran its bound (above); the "
		    "figures stand, the exit status says so\n");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b = { .o = { 0 } };
	int64_t runs = 0;
	const struct rt_cfg_opt opts[] = {
		{ NULL, "phases", RT_CFG_STRING, &b.only, 0, 0, "",
		    "only these phases, by key (upload_4k,random_4k,...)" },
		{ "HS_CLUSTER", "cluster", RT_CFG_STRING, &b.o.cluster_file, 0,
		    0, ".hs/cluster", "cluster file written by the launcher" },
		{ NULL, "duration", RT_CFG_MS, &b.o.duration_ms, 200, 600000,
		    "5s", "length of each phase" },
		{ NULL, "clients", RT_CFG_INT, &b.o.clients, 1, 256, "16",
		    "concurrent clients (calls in flight)" },
		{ NULL, "random-photos", RT_CFG_INT, &b.o.random_photos, 1,
		    10000000, "20000", "photos of each size for random reads" },
		{ NULL, "json", RT_CFG_BOOL, &b.o.json, 0, 0, "false",
		    "one JSON object on stdout" },
		{ NULL, "ceiling-runs", RT_CFG_INT, &runs, 0, 1000, "0",
		    "only run the echo ceiling step this many times" },
	};
	char err[256];
	rt_log_init("bench", 'B');
	rt_log_set_level(RT_LOG_ERROR);
	int rc = rt_cfg_parse(opts, 7, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "bench: %s\n", err);
		return rc < 0 ? 64 : 0;
	}
	const char *wd = getenv("BUILD_WORKSPACE_DIRECTORY");
	static char path[1024];
	if (b.o.cluster_file[0] != '/' && wd != NULL) {
		snprintf(path, sizeof(path), "%s/%s", wd, b.o.cluster_file);
		b.o.cluster_file = path;
	}
	b.wd = watchdog_start("bench");
	if (runs > 0)
		return ceiling_runs(&b, runs);
	setup(&b);
	print_head(&b);
	run_phases(&b);
	if (b.o.json)
		printf("]}\n");
	return teardown(&b);
}
