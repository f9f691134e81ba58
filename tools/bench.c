/* bench: the system benchmark, against a running cluster (the launcher's
 * cluster file, or --cluster). For 4 KB and 64 KB photos, 16 concurrent
 * clients: uploads/s (3 replicas, durable), downloads/s through the cache
 * and straight from the stores (with the location memory, and with a
 * Lookup before every read), with p50/p99 latency; and, in the same
 * run, the bare nng echo ceiling, so each figure is also a ratio of it.
 * Not a test.  bazel run //tools:bench -- [--duration=5s] [--json] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "echo_ceiling.h"
#include "hs.h"
#include "log.h"

#define MAX_SAMPLES 2000000

static int64_t duration_ms, clients_n;
static const char *cluster_file;
static int json;

struct phase {
	const char *name;
	size_t size;
	int upload; /* else download */
	enum { CACHED, STORES, LOOKUP_EACH } clients;
};

struct worker {
	hs_client *c;
	const struct phase *ph;
	int index;
	hs_photo_id *ids; /* photos to download */
	size_t nids;
	int64_t *lat_us; /* this worker's samples */
	size_t n, cap;
	long errors;
	char last_error[512];
};

static atomic_int running;

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(w->ph->size);
	for (size_t i = 0; i < w->ph->size; i++)
		buf[i] = (uint8_t)(i * 13 + (size_t)w->index);
	for (uint64_t k = 0; atomic_load(&running); k++) {
		hs_error e;
		hs_status st;
		int64_t t0 = now_us();
		if (w->ph->upload) {
			hs_photo_id id;
			memcpy(buf, &k, sizeof(k)); /* every photo distinct */
			st = hs_upload(w->c, buf, w->ph->size, 0, 30000, &id,
			    &e);
		} else {
			void *data = NULL;
			size_t len;
			st = hs_download(w->c, w->ids[k % w->nids], 30000,
			    &data, &len, &e);
			free(data);
		}
		int64_t took = now_us() - t0;
		if (st != HS_OK) {
			w->errors++;
			snprintf(w->last_error, sizeof(w->last_error), "%s",
			    e.message);
			continue;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 4096;
			w->lat_us = realloc(w->lat_us,
			    w->cap * sizeof(int64_t));
		}
		w->lat_us[w->n++] = took;
	}
	free(buf);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	double ops;
	double p50_ms, p99_ms;
	long errors;
};

static struct result
run_phase(hs_client **cl, const struct phase *ph, hs_photo_id *ids, size_t nids)
{
	struct worker *w = calloc((size_t)clients_n, sizeof(*w));
	pthread_t *t = calloc((size_t)clients_n, sizeof(*t));
	struct result r = { 0 };
	atomic_store(&running, 1);
	int64_t t0 = now_us();
	for (int i = 0; i < clients_n; i++) {
		w[i] = (struct worker){ .c = cl[i],
			.ph = ph,
			.index = i,
			.ids = ids,
			.nids = nids };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	rt_sleep_ms(duration_ms);
	atomic_store(&running, 0);
	size_t total = 0;
	for (int i = 0; i < clients_n; i++) {
		pthread_join(t[i], NULL);
		total += w[i].n;
		r.errors += w[i].errors;
	}
	int64_t took = now_us() - t0;
	int64_t *all = malloc((total ? total : 1) * sizeof(int64_t));
	size_t k = 0;
	for (int i = 0; i < clients_n; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(int64_t));
		k += w[i].n;
		if (w[i].errors && !json)
			fprintf(stderr, "  %s: %ld errors, last: %s\n",
			    ph->name, w[i].errors, w[i].last_error);
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(int64_t), cmp64);
	r.ops = (double)total * 1e6 / (double)took;
	r.p50_ms = total ? (double)all[total / 2] / 1000.0 : 0;
	r.p99_ms = total ? (double)all[total * 99 / 100] / 1000.0 : 0;
	free(all);
	free(w);
	free(t);
	return r;
}

/* Uploads n photos of size bytes for the download phases. */
static hs_photo_id *
seed_photos(hs_client *c, size_t size, size_t n)
{
	hs_photo_id *ids = calloc(n, sizeof(*ids));
	uint8_t *buf = calloc(1, size);
	for (size_t i = 0; i < n; i++) {
		hs_error e;
		memcpy(buf, &i, sizeof(i));
		buf[size - 1] = 0x5a;
		if (hs_upload(c, buf, size, 0, 30000, &ids[i], &e) != HS_OK) {
			fprintf(stderr, "bench: seeding failed: %s\n",
			    e.message);
			exit(3);
		}
	}
	free(buf);
	return ids;
}

/* Clients with the cache, or without it (reads go to the stores); with or
 * without the location memory that lets a repeated read skip Lookup. */
static hs_client **
open_clients(int use_cache, int locations)
{
	struct hs_cluster cfg;
	hs_error e;
	if (hs_cluster_load(cluster_file, &cfg, &e) != HS_OK) {
		fprintf(stderr, "bench: %s\n", e.message);
		exit(3);
	}
	if (!use_cache)
		cfg.cache[0] = '\0';
	if (!locations)
		cfg.location_ttl_ms = -1;
	hs_client **cl = calloc((size_t)clients_n, sizeof(*cl));
	for (int i = 0; i < clients_n; i++)
		if (hs_open(&cl[i], &cfg, &e) != HS_OK) {
			fprintf(stderr, "bench: %s\n", e.message);
			exit(3);
		}
	return cl;
}

static void
close_clients(hs_client **cl)
{
	for (int i = 0; i < clients_n; i++)
		hs_close(cl[i]);
	free(cl);
}

int
main(int argc, char **argv)
{
	const struct rt_cfg_opt opts[] = {
		{ "HS_CLUSTER", "cluster", RT_CFG_STRING, &cluster_file, 0, 0,
		    ".hs/cluster", "cluster file written by the launcher" },
		{ NULL, "duration", RT_CFG_MS, &duration_ms, 200, 600000, "5s",
		    "length of each phase" },
		{ NULL, "clients", RT_CFG_INT, &clients_n, 1, 256, "16",
		    "concurrent clients" },
		{ NULL, "json", RT_CFG_BOOL, &json, 0, 0, "false",
		    "one JSON object on stdout" },
	};
	char err[256];
	rt_log_init("bench", 'B');
	rt_log_set_level(RT_LOG_ERROR);
	int rc = rt_cfg_parse(opts, 4, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "bench: %s\n", err);
		return rc < 0 ? 64 : 0;
	}
	const char *wd = getenv("BUILD_WORKSPACE_DIRECTORY");
	static char path[1024];
	if (cluster_file[0] != '/' && wd != NULL) {
		snprintf(path, sizeof(path), "%s/%s", wd, cluster_file);
		cluster_file = path;
	}
	static const struct phase phases[] = {
		{ "upload 4KB", 4096, 1, CACHED },
		{ "download 4KB (cache)", 4096, 0, CACHED },
		{ "download 4KB (stores)", 4096, 0, STORES },
		{ "download 4KB (+Lookup)", 4096, 0, LOOKUP_EACH },
		{ "upload 64KB", 65536, 1, CACHED },
		{ "download 64KB (cache)", 65536, 0, CACHED },
		{ "download 64KB (stores)", 65536, 0, STORES },
	};
	double ceiling = echo_ceiling_bare(64, 4096, duration_ms);
	hs_client **cl[] = { open_clients(1, 1), open_clients(0, 1),
		open_clients(0, 0) };
	hs_client **cached = cl[CACHED];
	hs_photo_id *ids4 = seed_photos(cached[0], 4096, 200);
	hs_photo_id *ids64 = seed_photos(cached[0], 65536, 200);
	if (json)
		printf("{\"clients\":%lld,\"duration_ms\":%lld,"
		       "\"echo_ceiling_per_s\":%.0f,\"phases\":[",
		    (long long)clients_n, (long long)duration_ms, ceiling);
	else
		printf("bare nng echo ceiling (4 KB replies, 64 in flight): "
		       "%.0f/s\n%-24s %10s %8s %8s %8s %7s\n",
		    ceiling, "phase", "ops/s", "p50 ms", "p99 ms", "ratio",
		    "errors");
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		const struct phase *ph = &phases[i];
		struct result r = run_phase(cl[ph->clients], ph,
		    ph->size == 4096 ? ids4 : ids64, 200);
		if (json)
			printf("%s{\"phase\":\"%s\",\"size\":%zu,\"ops_per_s\":%.0f,"
			       "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"ratio_of_ceiling\":"
			       "%.3f,\"errors\":%ld}",
			    i ? "," : "", ph->name, ph->size, r.ops, r.p50_ms,
			    r.p99_ms, r.ops / ceiling, r.errors);
		else
			printf("%-24s %10.0f %8.2f %8.2f %8.3f %7ld\n",
			    ph->name, r.ops, r.p50_ms, r.p99_ms,
			    r.ops / ceiling, r.errors);
		fflush(stdout);
	}
	if (json)
		printf("]}\n");
	free(ids4);
	free(ids64);
	for (int i = 0; i < 3; i++)
		close_clients(cl[i]);
	return 0;
}
