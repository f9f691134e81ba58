/* The system benchmark's workers (see bench.h): one thread per client,
 * each timing its own calls, for a fixed time or, for random reads, until
 * every photo has been read once. Only libhs's public API (client/hs.h),
 * so the benchmark keeps measuring whatever path lies beneath it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "hs_close.h"

#define CALL_TIMEOUT_MS 30000

/* What the threads of one phase (or one seeding) share. */
struct shared {
	const struct bench_phase *ph;
	const hs_photo_id *ids; /* photos to read */
	size_t nids;
	hs_photo_id *out;   /* seeding: where uploaded ids go */
	atomic_size_t next; /* READ_RANDOM and seeding: next index taken */
	atomic_int running;
};

struct worker {
	struct shared *sh;
	hs_client *c;
	int index;
	int64_t *lat_us; /* this worker's samples */
	size_t n, cap;
	long errors;
	char last_error[512];
};

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The photo this worker's k-th operation reads; -1 when there is none
 * left (random reads read each photo once). */
static long
pick(struct worker *w, uint64_t k)
{
	if (w->sh->ph->kind != READ_RANDOM)
		return (long)(k % w->sh->nids);
	size_t i = atomic_fetch_add(&w->sh->next, 1);
	return i < w->sh->nids ? (long)i : -1;
}

/* One operation; its status. */
static hs_status
one_op(struct worker *w, uint8_t *buf, uint64_t k, int *done, hs_error *e)
{
	const struct bench_phase *ph = w->sh->ph;
	if (ph->kind == UPLOAD) {
		hs_photo_id id;
		memcpy(buf, &k, sizeof(k)); /* every photo distinct */
		return hs_upload(w->c, buf, ph->size, 0, CALL_TIMEOUT_MS, &id,
		    e);
	}
	long i = pick(w, k);
	if (i < 0) {
		*done = 1;
		return HS_OK;
	}
	void *data = NULL;
	size_t len;
	hs_status st = hs_download(w->c, w->sh->ids[i], CALL_TIMEOUT_MS, &data,
	    &len, e);
	free(data);
	return st;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	size_t size = w->sh->ph->size;
	uint8_t *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + (size_t)w->index);
	/* k starts apart per worker so uploads never repeat bytes */
	for (uint64_t k = (uint64_t)w->index << 40;
	     atomic_load(&w->sh->running); k++) {
		hs_error e;
		int done = 0;
		int64_t t0 = now_us();
		hs_status st = one_op(w, buf, k, &done, &e);
		int64_t took = now_us() - t0;
		if (done)
			break;
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

/* Merges the workers' samples into r and frees them. */
static void
collect(const struct bench_opts *o, struct worker *w, int64_t took_us,
    struct bench_result *r)
{
	size_t total = 0, k = 0;
	for (int i = 0; i < o->clients; i++)
		total += w[i].n;
	int64_t *all = malloc((total ? total : 1) * sizeof(int64_t));
	for (int i = 0; i < o->clients; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(int64_t));
		k += w[i].n;
		r->errors += w[i].errors;
		if (w[i].errors)
			fprintf(stderr, "  %s: %ld errors, last: %s\n",
			    w[i].sh->ph->name, w[i].errors, w[i].last_error);
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(int64_t), cmp64);
	r->n = total;
	r->ops = (double)total * 1e6 / (double)took_us;
	r->p50_ms = total ? (double)all[total / 2] / 1000.0 : 0;
	r->p99_ms = total ? (double)all[total * 99 / 100] / 1000.0 : 0;
	free(all);
}

struct bench_result
bench_run_phase(const struct bench_opts *o, hs_client **cl,
    const struct bench_phase *ph, const hs_photo_id *ids, size_t nids)
{
	struct shared sh = { .ph = ph, .ids = ids, .nids = nids };
	struct worker *w = calloc((size_t)o->clients, sizeof(*w));
	pthread_t *t = calloc((size_t)o->clients, sizeof(*t));
	struct bench_result r = { 0 };
	struct bench_costs c0, c1;
	atomic_store(&sh.running, 1);
	bench_costs_sample(&c0);
	int64_t t0 = now_us();
	for (int i = 0; i < o->clients; i++) {
		w[i] = (struct worker){ .sh = &sh, .c = cl[i], .index = i };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	/* Random reads end early once every photo was read. */
	int64_t until = rt_mono_ms() + o->duration_ms;
	while (rt_mono_ms() < until &&
	    (ph->kind != READ_RANDOM || atomic_load(&sh.next) < nids))
		rt_sleep_ms(10);
	atomic_store(&sh.running, 0);
	for (int i = 0; i < o->clients; i++)
		pthread_join(t[i], NULL);
	int64_t took = now_us() - t0;
	bench_costs_sample(&c1);
	collect(o, w, took, &r);
	bench_costs_per_op(&c0, &c1, &r);
	free(w);
	free(t);
	return r;
}

/* Seeding: each thread takes the next index and uploads that photo. */
static void *
seed_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	uint8_t *buf = calloc(1, sh->ph->size);
	size_t i;
	while (atomic_load(&sh->running) &&
	    (i = atomic_fetch_add(&sh->next, 1)) < sh->nids) {
		hs_error e;
		memcpy(buf, &i, sizeof(i));
		buf[sh->ph->size - 1] = 0x5a; /* unlike any upload phase's */
		if (hs_upload(w->c, buf, sh->ph->size, 0, CALL_TIMEOUT_MS,
			&sh->out[i], &e) != HS_OK) {
			w->errors++;
			snprintf(w->last_error, sizeof(w->last_error), "%s",
			    e.message);
			atomic_store(&sh->running, 0);
		}
	}
	free(buf);
	return NULL;
}

hs_photo_id *
bench_seed(const struct bench_opts *o, hs_client **cl, size_t size, size_t n,
    int progress)
{
	struct bench_phase ph = { .name = "seeding", .size = size };
	struct shared sh = { .ph = &ph, .nids = n };
	struct worker *w = calloc((size_t)o->clients, sizeof(*w));
	pthread_t *t = calloc((size_t)o->clients, sizeof(*t));
	sh.out = calloc(n, sizeof(*sh.out));
	atomic_store(&sh.running, 1);
	for (int i = 0; i < o->clients; i++) {
		w[i] = (struct worker){ .sh = &sh, .c = cl[i], .index = i };
		pthread_create(&t[i], NULL, seed_main, &w[i]);
	}
	int64_t t0 = rt_mono_ms(), said = t0;
	while (atomic_load(&sh.running) && atomic_load(&sh.next) < n) {
		rt_sleep_ms(50);
		if (progress && rt_mono_ms() - said >= 1000) {
			said = rt_mono_ms();
			size_t done = atomic_load(&sh.next);
			fprintf(stderr,
			    "bench: uploading %zu photos of %zu B: "
			    "%zu started, %.0f/s\n",
			    n, size, done < n ? done : n,
			    (double)done * 1000.0 / (double)(said - t0));
		}
	}
	long errors = 0;
	for (int i = 0; i < o->clients; i++) {
		pthread_join(t[i], NULL);
		if (w[i].errors && errors++ == 0)
			fprintf(stderr,
			    "bench: uploading the photos to read "
			    "failed: %s\n",
			    w[i].last_error);
	}
	free(w);
	free(t);
	if (errors)
		exit(3);
	return sh.out;
}

hs_client **
bench_open_clients(const struct bench_opts *o, int use_cache, int locations)
{
	struct hs_cluster cfg;
	hs_error e;
	if (hs_cluster_load(o->cluster_file, &cfg, &e) != HS_OK) {
		fprintf(stderr, "bench: %s\n", e.message);
		exit(3);
	}
	if (!use_cache)
		cfg.cache[0] = '\0'; /* libhs reads the cache only if set */
	if (!locations)
		cfg.location_ttl_ms = -1;
	hs_client **cl = calloc((size_t)o->clients, sizeof(*cl));
	for (int i = 0; i < o->clients; i++)
		if (hs_open(&cl[i], &cfg, &e) != HS_OK) {
			fprintf(stderr, "bench: %s\n", e.message);
			exit(3);
		}
	return cl;
}

void
bench_close_clients(const struct bench_opts *o, hs_client **cl)
{
	for (int i = 0; i < o->clients; i++)
		test_hs_close(cl[i]);
	free(cl);
}
