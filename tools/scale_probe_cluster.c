/* scale_probe's whole-cluster part (scale_probe.h): Redis x2, two
 * directories, three stores, the replicator and nginx as real processes
 * (testing/cluster.h); N photos of 4 KB and a few of 64 KB uploaded
 * through libhs; then, per photo, the metadata Redis's used_memory and
 * MEMORY USAGE of the photo hashes, the change log and the other keys,
 * the cache Redis's, nginx's cache files after a read of each photo
 * through it, the tombstones a delete leaves for a store that is away,
 * and the RSS every process grew by. */
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cluster.h"
#include "curl.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "redis.h"
#include "redis_keys.h"
#include "scale_probe.h"

#define BIG 65536
#define NBIG 500
#define SAMPLE 1000

static struct test_cluster C;
static redisContext *meta, *cache;
static hs_photo_id *ids;
static long nids, want;
static size_t photo_len;
static _Atomic long next_i, failed;

/* A field of INFO section (e.g. used_memory of "memory"). */
static uint64_t
info_u64(redisContext *rc, const char *section, const char *name)
{
	redisReply *r = redisCommand(rc, "INFO %s", section);
	uint64_t v = r != NULL && r->type == REDIS_REPLY_STRING ?
	    rt_redis_info_u64(r->str, name) :
	    0;
	freeReplyObject(r);
	return v;
}

static uint64_t
used_memory(redisContext *rc)
{
	return info_u64(rc, "memory", "used_memory");
}

static uint64_t
aof_size(void)
{
	return info_u64(meta, "persistence", "aof_current_size");
}

/* An integer reply of a command (0 on anything else). */
static long long
redis_int(redisContext *rc, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(rc, fmt, arg);
	long long v = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer :
								    0;
	freeReplyObject(r);
	return v;
}

static long long
mem_usage(redisContext *rc, const char *key)
{
	return redis_int(rc, "MEMORY USAGE %s SAMPLES 0", key);
}

static void
print_encoding(redisContext *rc, const char *key)
{
	redisReply *r = redisCommand(rc, "OBJECT ENCODING %s", key);
	printf("  (%s is encoded as %s)\n", key,
	    r != NULL && r->type == REDIS_REPLY_STRING ? r->str : "?");
	freeReplyObject(r);
}

static void *
uploader(void *arg)
{
	hs_client *cl;
	hs_error e;
	(void)arg;
	if (hs_open_file(&cl, C.cluster_file, &e) != HS_OK) {
		fprintf(stderr, "scale_probe: hs_open: %s\n", e.message);
		return NULL;
	}
	uint8_t *b = test_bytes(photo_len, 1);
	for (long i; (i = atomic_fetch_add(&next_i, 1)) < want;) {
		memcpy(b, &i, sizeof(i)); /* distinct bytes, distinct photo */
		if (hs_upload(cl, b, photo_len, 0, 60000, &ids[nids + i], &e) !=
		    HS_OK) {
			atomic_fetch_add(&failed, 1);
			memset(&ids[nids + i], 0, sizeof(ids[0]));
		}
	}
	free(b);
	test_hs_close(cl);
	return NULL;
}

/* Uploads n photos of len bytes with t threads; their ids follow ids[nids]. */
static void
upload(long n, size_t len, int t)
{
	pthread_t th[64];
	int64_t t0 = check_mono_ms();
	long failed0 = atomic_load(&failed);
	int made = 0;
	t = t < 1 ? 1 : t > 64 ? 64 : t;
	photo_len = len, want = n;
	atomic_store(&next_i, 0);
	while (made < t && pthread_create(&th[made], NULL, uploader, NULL) == 0)
		made++;
	if (made == 0)
		uploader(NULL);
	for (int i = 0; i < made; i++)
		pthread_join(th[i], NULL);
	nids += n;
	fprintf(stderr,
	    "scale_probe: %ld photos of %zu bytes uploaded in %.1f "
	    "s, %ld failed\n",
	    n, len, (double)(check_mono_ms() - t0) / 1000.0,
	    atomic_load(&failed) - failed0);
}

/* Average MEMORY USAGE of prefix + the ids[from..to)'s name, sampled. */
static double
avg_usage(redisContext *rc, const char *prefix, long from, long to, int hex)
{
	long long sum = 0, n = 0;
	long step = (to - from) / SAMPLE > 0 ? (to - from) / SAMPLE : 1;
	for (long i = from; i < to; i += step) {
		char key[64], h[HS_ID_HEX_LEN + 1];
		if (ids[i].key == 0)
			continue;
		hs_id_format(ids[i], h);
		snprintf(key, sizeof(key), "%s%.*s", prefix, hex, h);
		long long u = mem_usage(rc, key);
		sum += u, n += u > 0;
	}
	return n ? (double)sum / n : 0;
}

struct rss {
	long dir[TEST_CLUSTER_MAX_DIRS], store[TEST_CLUSTER_MAX_STORES], repl;
};

static void
rss_all(struct rss *r)
{
	for (int i = 0; i < C.ndirs; i++)
		r->dir[i] = test_proc_status_kib(C.dirs[i].pid, "VmRSS");
	for (int i = 0; i < C.nstores; i++)
		r->store[i] = test_proc_status_kib(C.stores[i].pid, "VmRSS");
	r->repl = test_proc_status_kib(C.repl.pid, "VmRSS");
}

static void
print_rss(const struct rss *a, const struct rss *b, long n)
{
	for (int i = 0; i < C.ndirs; i++)
		printf("directory %d RSS growth bytes/photo: %.1f\n", i + 1,
		    (b->dir[i] - a->dir[i]) * 1024.0 / n);
	for (int i = 0; i < C.nstores; i++)
		printf("store %d RSS growth bytes/photo: %.1f\n", i + 1,
		    (b->store[i] - a->store[i]) * 1024.0 / n);
	printf("replicator RSS growth bytes/photo: %.1f\n",
	    (b->repl - a->repl) * 1024.0 / n);
}

/* The metadata Redis after the 4 KB uploads. */
static void
report_meta(uint64_t used0, uint64_t aof0, long n)
{
	char pk[40];
	snprintf(pk, sizeof(pk), RK_PHOTO_PREFIX "%016llx",
	    (unsigned long long)ids[0].key);
	long long xlen = redis_int(meta, "XLEN %s", RK_LOG);
	printf("meta Redis used_memory growth bytes/photo (%ld photos): %.1f\n",
	    n, ((double)used_memory(meta) - (double)used0) / n);
	printf("meta Redis AOF growth bytes/photo: %.1f\n",
	    ((double)aof_size() - (double)aof0) / n);
	printf("meta Redis MEMORY USAGE of a photo hash (4 KB photos, "
	       "average of %d): %.1f\n",
	    SAMPLE, avg_usage(meta, RK_PHOTO_PREFIX, 0, n, 16));
	print_encoding(meta, pk);
	printf("meta Redis packed record (rec) bytes: %lld\n",
	    redis_int(meta, "HSTRLEN %s rec", pk));
	printf("meta Redis change log: %lld entries, MEMORY USAGE "
	       "bytes/entry: %.1f\n",
	    xlen, xlen ? (double)mem_usage(meta, RK_LOG) / xlen : 0);
	printf("meta Redis keys: %lld; hs:groups %lld groups, %lld bytes; "
	       "hs:stores %lld bytes\n",
	    redis_int(meta, "DBSIZE", NULL),
	    redis_int(meta, "HLEN %s", RK_GROUPS), mem_usage(meta, RK_GROUPS),
	    mem_usage(meta, RK_STORES));
}

/* nginx's cache files: count, bytes, bytes of disk blocks (nftw's). */
static long long nacc[3];

static int
nginx_file(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)p, (void)w;
	if (f == FTW_F)
		nacc[0]++, nacc[1] += s->st_size, nacc[2] += s->st_blocks * 512;
	return 0;
}

/* Reads ids[from..to) through nginx once each; then nginx's cache files:
 * their count, bytes and blocks, and each file's bytes beyond the photo. */
static void
nginx_cache(long from, long to, size_t len, const char *what)
{
	char dir[700];
	long long reads = 0, *acc = nacc;
	snprintf(dir, sizeof(dir), "%s/nginx/cache", C.dir);
	memset(nacc, 0, sizeof(nacc));
	nftw(dir, nginx_file, 16, FTW_PHYS);
	long long before[3] = { acc[0], acc[1], acc[2] };
	for (long i = from; i < to; i++) {
		char url[128], h[HS_ID_HEX_LEN + 1];
		struct test_http_resp r;
		hs_id_format(ids[i], h);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", C.p_web,
		    h);
		memset(&r, 0, sizeof(r));
		test_http("GET", url, NULL, &r);
		reads += r.status == 200;
		test_http_free(&r);
	}
	memset(nacc, 0, sizeof(nacc));
	nftw(dir, nginx_file, 16, FTW_PHYS);
	long long files = acc[0] - before[0];
	printf("nginx cache, %s photos (%lld read, %lld files): bytes/file "
	       "%.1f (header %.1f), disk blocks/file %.1f bytes\n",
	    what, reads, files,
	    files ? (double)(acc[1] - before[1]) / files : 0,
	    files ? (double)(acc[1] - before[1]) / files - (double)len : 0,
	    files ? (double)(acc[2] - before[2]) / files : 0);
}

/* Deletes ids[from..to) while store 3 is paused, so the tombstones owed
 * to it stay in hs:tombstones; the deleted records' hashes and the set. */
static void
tombstones(long from, long to)
{
	hs_client *cl;
	hs_error e;
	long ok = 0;
	if (hs_open_file(&cl, C.cluster_file, &e) != HS_OK)
		return;
	test_proc_stop(&C.stores[2]);
	for (long i = from; i < to; i++)
		ok += hs_delete(cl, ids[i], 30000, &e) == HS_OK;
	long long n = redis_int(meta, "SCARD %s", RK_TOMBSTONES);
	printf("meta Redis MEMORY USAGE of a deleted photo's hash: %.1f\n",
	    avg_usage(meta, RK_PHOTO_PREFIX, from, to, 16));
	printf("meta Redis tombstones: %ld deletes, %lld owed, MEMORY USAGE "
	       "bytes/tombstone: %.1f\n",
	    ok, n, n ? (double)mem_usage(meta, RK_TOMBSTONES) / n : 0);
	print_encoding(meta, RK_TOMBSTONES);
	test_proc_cont(&C.stores[2]);
	test_hs_close(cl);
}

/* The design's denser layout (docs/scale.md), measured on this Redis:
 * the records of ids[0..n) in hashes of BUCKET photos each, field the
 * 8-byte key, value the real packed record (rec) or a slim record with
 * the locations left to the write group (slim 20 bytes: cookie, size,
 * seq, state). Scratch keys of this tool only, deleted after. */
#define BUCKET 512
#define SCRATCH "scale_probe:bucket:" /* not a haystack-c key */

static double
bucketed(long n, size_t vlen)
{
	long long sum = 0;
	redisReply *r;
	for (long i = 0; i < n; i++) {
		char pk[40], bk[64];
		snprintf(pk, sizeof(pk), RK_PHOTO_PREFIX "%016llx",
		    (unsigned long long)ids[i].key);
		snprintf(bk, sizeof(bk), SCRATCH "%ld", i / BUCKET);
		r = redisCommand(meta, "HGET %s rec", pk);
		if (r == NULL || r->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			continue;
		}
		size_t len = vlen && vlen <= r->len ? vlen : r->len;
		freeReplyObject(redisCommand(meta, "HSET %s %b %b", bk,
		    &ids[i].key, sizeof(ids[i].key), r->str, len));
		freeReplyObject(r);
	}
	for (long b = 0; b <= (n - 1) / BUCKET; b++) {
		char bk[64];
		snprintf(bk, sizeof(bk), SCRATCH "%ld", b);
		sum += mem_usage(meta, bk);
		if (b == 0)
			print_encoding(meta, bk);
		redis_int(meta, "DEL %s", bk);
	}
	return (double)sum / n;
}

static void
buckets(long n)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", BUCKET);
	freeReplyObject(redisCommand(meta,
	    "CONFIG SET hash-max-listpack-entries %s hash-max-listpack-value "
	    "256",
	    v));
	printf("meta Redis bytes/photo in hashes of %d records (real "
	       "record): %.1f\n",
	    BUCKET, bucketed(n, 0));
	for (size_t v = 20; v <= 52; v += 32)
		printf("meta Redis bytes/photo in hashes of %d records (%zu-byte "
		       "record, locations from the write group): %.1f\n",
		    BUCKET, v, bucketed(n, v));
}

static int
start(const char *argv0, int listpack_value)
{
	if (getenv("TEST_SRCDIR") == NULL) {
		char rf[1024];
		snprintf(rf, sizeof(rf), "%s.runfiles", argv0);
		setenv("TEST_SRCDIR", rf, 1);
	}
	struct test_cluster_opts o = { .ndirs = 2,
		.nstores = 3,
		.replicator = 1,
		.nginx = 1,
		.store_args = "--scrub-rate=0" };
	if (test_cluster_start(&C, &o) != 0)
		return -1;
	meta = test_redis_connect(&C.meta, "admin");
	cache = test_redis_connect(&C.cache, "admin");
	if (meta == NULL || cache == NULL)
		return -1;
	if (listpack_value > 0) { /* the setting docs/scale.md proposes */
		char v[24];
		snprintf(v, sizeof(v), "%d", listpack_value);
		redisReply *r = redisCommand(meta,
		    "CONFIG SET hash-max-listpack-value %s", v);
		int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		printf("meta Redis hash-max-listpack-value set to %s%s\n", v,
		    ok ? "" : " (refused)");
	}
	return 0;
}

/* Undoes what start did, as far as it got; the cluster's folder, for the
 * caller to remove, into dir ("" when none was made). */
static void
stop(char *dir, size_t dirlen)
{
	if (meta != NULL)
		redisFree(meta);
	if (cache != NULL)
		redisFree(cache);
	meta = cache = NULL;
	snprintf(dir, dirlen, "%s", C.dir);
	test_cluster_stop(&C);
	free(ids);
	ids = NULL;
}

int
probe_cluster(const char *argv0, long n, int threads, int listpack_value,
    char *dir, size_t dirlen)
{
	struct rss r0, r1;
	rt_log_init("scale_probe", 'T');
	if (n < 2 * SAMPLE) {
		fprintf(stderr, "scale_probe: --photos must be at least %d\n",
		    2 * SAMPLE);
		return 1;
	}
	ids = calloc((size_t)n + NBIG, sizeof(*ids));
	if (ids == NULL || start(argv0, listpack_value) != 0) {
		fprintf(stderr, "scale_probe: cannot start the cluster\n");
		stop(dir, dirlen);
		return 1;
	}
	uint64_t m0 = used_memory(meta), c0 = used_memory(cache);
	uint64_t a0 = aof_size();
	rss_all(&r0);
	upload(n, 4096, threads);
	/* Cache pushes run after the answer: wait until they landed. */
	CHECK_WAIT_UNTIL(redis_int(cache, "DBSIZE", NULL) >= n - failed, 20000);
	rss_all(&r1);
	report_meta(m0, a0, n);
	/* Per entry held: past its maxmemory the cache evicts (LRU). */
	long long held = redis_int(cache, "DBSIZE", NULL);
	printf("cache Redis used_memory growth bytes/entry (4 KB, %lld "
	       "entries held): %.1f\n",
	    held, held ? ((double)used_memory(cache) - (double)c0) / held : 0);
	printf("cache Redis MEMORY USAGE of a 4 KB photo's entry: %.1f\n",
	    avg_usage(cache, RK_CACHE_PREFIX, 0, n, HS_ID_HEX_LEN));
	print_rss(&r0, &r1, n);
	upload(NBIG, BIG, threads);
	CHECK_WAIT_UNTIL(redis_int(cache, "DBSIZE", NULL) >= nids - failed,
	    20000);
	printf("meta Redis MEMORY USAGE of a photo hash (64 KB photos): %.1f\n",
	    avg_usage(meta, RK_PHOTO_PREFIX, n, nids, 16));
	printf("cache Redis MEMORY USAGE of a 64 KB photo's entry: %.1f\n",
	    avg_usage(cache, RK_CACHE_PREFIX, n, nids, HS_ID_HEX_LEN));
	nginx_cache(0, SAMPLE, 4096, "4 KB");
	nginx_cache(n, nids, BIG, "64 KB");
	tombstones(SAMPLE, 2 * SAMPLE);
	buckets(n > 20 * BUCKET ? 20 * BUCKET : n);
	stop(dir, dirlen);
	return 0;
}
