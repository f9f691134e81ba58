/* store_bench: figures for the needle volume engine, printed as plain
 * "name: value" lines.
 *   - durable 4 KiB puts/s with 16 writers (group commit) vs 16 threads each
 *     doing 4 KiB O_APPEND write + fdatasync on one plain file;
 *   - 4 KiB gets/s with 16 readers (store_engine_read: one pread each);
 *   - index RAM bytes per needle at 1M and 10M needles (index only, the
 *     needle lengths included: 4 KiB photos, one in 1,000 of 1 MiB);
 *   - start-up time with 1M needles (with hints, and with a full rescan).
 * Usage: store_bench [dir] [--quick]   (dir defaults to $TMPDIR or /tmp)
 *        store_bench [dir] --gets N    N puts then N gets on one thread and
 *        nothing else, to count the get's syscalls under strace. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/engine/engine.h"
#include "store/engine/needle.h"
#include "store/engine/volume_index.h"

#define BENCH_THREADS 16
#define BENCH_SIZE 4096

static int bench_quick;
static double bench_secs = 3.0;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s;
	(void)f;
	(void)w;
	return remove(p);
}

static char *
bench_dir(const char *base, const char *tag)
{
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/store_bench_%s.XXXXXX", base, tag);
	if (!mkdtemp(p)) {
		perror("mkdtemp");
		exit(1);
	}
	return p;
}

static void
bench_rmdir(char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(p);
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, store_strerror(rc));
	exit(1);
}

/* One of BENCH_THREADS threads doing op until the deadline. */
struct worker {
	void (*op)(struct worker *w, uint64_t i, uint8_t *buf);
	struct store_engine *se;
	int fd;
	int id;
	double until;
	long ops;
	uint64_t nkeys;
	uint64_t x; /* the reader's random state */
};

static void *
worker_run(void *p)
{
	struct worker *w = p;
	uint8_t buf[BENCH_SIZE];
	memset(buf, w->id, sizeof(buf));
	for (uint64_t i = 0; now_s() < w->until; i++, w->ops++)
		w->op(w, i, buf);
	return NULL;
}

/* Durable puts of new keys, this thread's id in the top bits. */
static void
engine_put(struct worker *w, uint64_t i, uint8_t *buf)
{
	uint64_t key = ((uint64_t)w->id << 40) | i;
	memcpy(buf, &key, sizeof(key));
	int rc = store_engine_put(w->se, key, 1, buf, BENCH_SIZE);
	if (rc)
		die("put", rc);
}

/* The baseline: O_APPEND write + fdatasync on one plain file. */
static void
plain_write(struct worker *w, uint64_t i, uint8_t *buf)
{
	(void)i;
	if (write(w->fd, buf, BENCH_SIZE) != (ssize_t)BENCH_SIZE ||
	    fdatasync(w->fd) != 0)
		die("plain write", -errno);
}

/* A get of one of the nkeys keys engine_put wrote, at random. */
static void
engine_get(struct worker *w, uint64_t i, uint8_t *buf)
{
	(void)i;
	(void)buf;
	w->x = w->x * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t n = (w->x >> 20) % w->nkeys;
	uint64_t key = ((n % BENCH_THREADS) << 40) | (n / BENCH_THREADS);
	struct store_read r;
	int rc = store_engine_read(w->se, key, 1, &r);
	if (rc && rc != STORE_E_NOT_FOUND)
		die("get", rc);
	store_read_free(&r);
}

static long
run_threads(struct worker *proto)
{
	pthread_t th[BENCH_THREADS];
	struct worker w[BENCH_THREADS];
	long total = 0;
	proto->until = now_s() + bench_secs;
	for (int i = 0; i < BENCH_THREADS; i++) {
		w[i] = *proto;
		w[i].id = i;
		w[i].ops = 0;
		w[i].x = (uint64_t)i * 2654435761u + 1;
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < BENCH_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += w[i].ops;
	}
	return total;
}

static void
bench_writes_and_reads(const char *base)
{
	char *dir = bench_dir(base, "rw");
	struct store_engine *se;
	int rc = store_engine_open(dir, NULL, &se);
	if (rc)
		die("open", rc);
	struct worker proto = { .op = engine_put, .se = se, .fd = -1 };
	long puts = run_threads(&proto);
	double eng = (double)puts / bench_secs;
	printf("engine durable 4KiB puts/s (16 writers): %.0f\n", eng);

	char path[4200];
	snprintf(path, sizeof(path), "%s/plain.dat", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
	struct worker pp = { .op = plain_write, .fd = fd };
	long plain = run_threads(&pp);
	close(fd);
	double pl = (double)plain / bench_secs;
	printf("plain append+fdatasync 4KiB writes/s (16 threads): %.0f\n", pl);
	printf("engine/plain write ratio: %.2f\n", pl > 0 ? eng / pl : 0.0);

	proto.op = engine_get;
	proto.nkeys = (uint64_t)puts;
	long gets = run_threads(&proto);
	printf("engine 4KiB gets/s (16 readers, %ld needles): %.0f\n", puts,
	    (double)gets / bench_secs);
	store_engine_close(se);
	bench_rmdir(dir);
}

static void
bench_index_ram(uint64_t n)
{
	struct vidx x;
	vidx_init(&x);
	uint64_t s = 88172645463325252ull;
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint32_t len8 = needle_len8(
		    (i % 1000 ? BENCH_SIZE : 1u << 20) + NEEDLE_EXT_SIZE);
		if (vidx_set(&x, s, (uint32_t)(8 + (i & 0x3fffffff)), len8))
			die("vidx_set", -ENOMEM);
	}
	double t1 = now_s();
	printf("index RAM bytes/needle at %lluM (active volume): %.2f\n",
	    (unsigned long long)(n / 1000000),
	    (double)vidx_bytes(&x) / (double)vidx_count(&x));
	vidx_seal(&x);
	printf("index RAM bytes/needle at %lluM (sealed volume): %.2f\n",
	    (unsigned long long)(n / 1000000),
	    (double)vidx_bytes(&x) / (double)vidx_count(&x));
	printf("index inserts/s at %lluM: %.0f\n",
	    (unsigned long long)(n / 1000000), (double)n / (t1 - t0));
	vidx_free(&x);
}

static double
timed_open(const char *dir, const struct store_options *o)
{
	struct store_engine *se;
	double t0 = now_s();
	int rc = store_engine_open(dir, o, &se);
	double t = now_s() - t0;
	if (rc)
		die("reopen", rc);
	store_engine_close(se);
	return t;
}

static void
bench_startup(const char *base, uint64_t n)
{
	char *dir = bench_dir(base, "start");
	struct store_options o;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE; /* bulk load; durability is not measured */
	o.max_volume_size = 64u << 20;
	struct store_engine *se;
	int rc = store_engine_open(dir, &o, &se);
	if (rc)
		die("open", rc);
	uint8_t buf[100];
	memset(buf, 7, sizeof(buf));
	for (uint64_t k = 1; k <= n; k++)
		if ((rc = store_engine_put(se, k * 0x9E3779B97F4A7C15ull, 1,
			 buf, sizeof(buf))))
			die("put", rc);
	struct store_stats st;
	store_engine_stats(se, &st);
	store_engine_close(se);
	sync();
	printf("engine index bytes/needle with %llu needles (%llu volumes): %.2f\n",
	    (unsigned long long)n, (unsigned long long)st.volumes,
	    st.bytes_per_needle);
	printf("start-up with %llu needles, hints: %.3f s\n",
	    (unsigned long long)n, timed_open(dir, &o));
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.idx", dir);
	if (system(cmd) != 0)
		die("rm hints", -EIO);
	printf("start-up with %llu needles, no hints (full scan): %.3f s\n",
	    (unsigned long long)n, timed_open(dir, &o));
	printf("start-up with %llu needles, rebuilt hints: %.3f s\n",
	    (unsigned long long)n, timed_open(dir, &o));
	bench_rmdir(dir);
}

/* n puts, then n gets of them on this thread: under strace -f -e
 * trace=pread64,preadv the gets are the only reads after the open. */
static void
bench_gets(const char *base, long n)
{
	char *dir = bench_dir(base, "gets");
	struct store_options o;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE;
	struct store_engine *se;
	uint8_t buf[BENCH_SIZE];
	int rc = store_engine_open(dir, &o, &se);
	if (rc)
		die("open", rc);
	for (long k = 1; k <= n; k++) {
		memset(buf, (int)k, sizeof(buf));
		if ((rc = store_engine_put(se, (uint64_t)k, 1, buf,
			 sizeof(buf))))
			die("put", rc);
	}
	fprintf(stderr, "store_bench: %ld puts done; the gets start\n", n);
	for (long k = 1; k <= n; k++) {
		struct store_read r;
		if ((rc = store_engine_read(se, (uint64_t)k, 1, &r)))
			die("get", rc);
		store_read_free(&r);
	}
	printf("gets done: %ld\n", n);
	store_engine_close(se);
	bench_rmdir(dir);
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	long gets = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			bench_quick = 1;
		else if (strcmp(argv[i], "--gets") == 0 && i + 1 < argc)
			gets = atol(argv[++i]);
		else
			base = argv[i];
	}
	if (gets > 0) {
		bench_gets(base, gets);
		return 0;
	}
	if (bench_quick)
		bench_secs = 1.0;
	bench_writes_and_reads(base);
	bench_index_ram(1000000);
	if (!bench_quick)
		bench_index_ram(10000000);
	bench_startup(base, bench_quick ? 200000 : 1000000);
	return 0;
}
