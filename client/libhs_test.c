/* libhs without the services (those are tested end to end once they
 * exist; no fakes): opening from explicit addresses, clear errors that come
 * fast when the cluster is down, many threads at once, and the photo cache
 * against a real redis-server: a hit whose bytes match the SHA-256 stored
 * with them is served with no directory at all, a corrupt entry is never
 * served. */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "redis_server.h"

static char key_path[600];
static int closed_port;

static void
cluster_at(struct hs_cluster *cl, int port)
{
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->directories[0], HS_ADDR_MAX, "tcp://127.0.0.1:%d", port);
	cl->ndirectories = 1;
	snprintf(cl->key_file, sizeof(cl->key_file), "%s", key_path);
}

static void
test_down_cluster_fails_fast_and_says_where(void)
{
	struct hs_cluster cl;
	hs_client *c;
	hs_error e;
	cluster_at(&cl, closed_port);
	snprintf(cl.cache, HS_ADDR_MAX, "127.0.0.1:%d", closed_port);
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_OK, e.message);
	hs_photo_id id = { 1, 2 }, got;
	void *data = NULL;
	size_t len;
	int64_t t0 = check_mono_ms();
	hs_status st = hs_download(c, id, 20000, &data, &len, &e);
	int64_t took = check_mono_ms() - t0;
	int named = strstr(e.message, cl.directories[0]) != NULL;
	hs_status up = hs_upload(c, "x", 1, 0, 20000, &got, &e);
	test_hs_close(c);
	CHECK_STATUS(st, HS_UNAVAILABLE, e.message);
	CHECK(named);
	CHECK(took < 3000); /* not the 20 s deadline */
	CHECK_STATUS(up, HS_UNAVAILABLE, e.message);
	CHECK(strstr(e.message, "upload") != NULL);
}

static void
test_what_needs_config_says_so(void)
{
	struct hs_cluster cl;
	hs_client *c;
	hs_error e;
	hs_events *ev;
	Hs__QueueReply *q;
	cluster_at(&cl, closed_port);
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_OK, e.message);
	hs_status a = hs_events_open(c, NULL, 0, &ev, &e);
	int a_msg = strstr(e.message, "pub") != NULL;
	hs_status b = hs_queue(c, 1000, &q, &e);
	int b_msg = strstr(e.message, "replicator") != NULL;
	struct hs_cache_stats k;
	hs_status d = hs_cache_stats(c, 1000, &k, &e);
	test_hs_close(c);
	CHECK_STATUS(a, HS_FAILED_PRECONDITION, "events without pub");
	CHECK(a_msg);
	CHECK_STATUS(b, HS_FAILED_PRECONDITION, "queue without replicator");
	CHECK(b_msg);
	CHECK_STATUS(d, HS_OK, e.message);
	CHECK_EQ(k.configured, 0);
}

static void
test_bad_open_arguments(void)
{
	struct hs_cluster cl;
	hs_client *c = NULL;
	hs_error e;
	cluster_at(&cl, closed_port);
	snprintf(cl.key_file, sizeof(cl.key_file), "/nonexistent/key");
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_UNAUTHENTICATED, "no key file");
	CHECK(strstr(e.message, "/nonexistent/key") != NULL);
	cluster_at(&cl, closed_port);
	snprintf(cl.cache, HS_ADDR_MAX, "no-port-here");
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_INVALID_ARGUMENT, "bad cache");
	cluster_at(&cl, closed_port);
	snprintf(cl.directories[0], HS_ADDR_MAX, "nonsense://x");
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_INVALID_ARGUMENT, "bad url");
	cluster_at(&cl, closed_port);
	cl.ndirectories = 0;
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_INVALID_ARGUMENT, "no dirs");
	CHECK(c == NULL);
}

static void
test_oversized_upload_refused_before_any_call(void)
{
	struct hs_cluster cl;
	hs_client *c;
	hs_error e;
	hs_photo_id id;
	cluster_at(&cl, closed_port);
	CHECK_STATUS(hs_open(&c, &cl, &e), HS_OK, e.message);
	size_t n = HS_MAX_PHOTO_SIZE + 1;
	char *big = calloc(1, n);
	int64_t t0 = check_mono_ms();
	hs_status st = hs_upload(c, big, n, 0, 5000, &id, &e);
	int64_t took = check_mono_ms() - t0;
	st = st == HS_INVALID_ARGUMENT &&
		hs_upload_file(c, "/nonexistent/p", 0, 5000, &id, &e) ==
		    HS_INVALID_ARGUMENT ?
	    st :
	    HS_INTERNAL;
	free(big);
	test_hs_close(c);
	CHECK_STATUS(st, HS_INVALID_ARGUMENT, e.message);
	CHECK(strstr(e.message, "/nonexistent/p") != NULL);
	CHECK(took < 500);
}

struct many {
	hs_client *c;
	int unavailable;
};

static void *
many_worker(void *arg)
{
	struct many *m = arg;
	for (int i = 0; i < 2; i++) {
		hs_error e;
		struct hs_photo_info info;
		if (hs_stat(m->c, (hs_photo_id){ (uint64_t)i, 1 }, 5000, &info,
			&e) == HS_UNAVAILABLE)
			__atomic_add_fetch(&m->unavailable, 1,
			    __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* 16 threads on one client: every call answers, nothing races (ASan). */
static void
test_many_threads_one_client(void)
{
	struct hs_cluster cl;
	struct many m = { .unavailable = 0 };
	hs_error e;
	pthread_t t[16];
	cluster_at(&cl, closed_port);
	CHECK_STATUS(hs_open(&m.c, &cl, &e), HS_OK, e.message);
	for (int i = 0; i < 16; i++)
		pthread_create(&t[i], NULL, many_worker, &m);
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	test_hs_close(m.c);
	CHECK_EQ(m.unavailable, 32);
}

static void
test_cache_hit_is_verified_and_needs_no_directory(void)
{
	struct test_redis cache;
	redisContext *r = NULL;
	if (test_redis_start(&cache, TEST_REDIS_CACHE, NULL, 0) == 0)
		r = test_redis_connect(&cache, "admin");
	if (r == NULL || r->err) {
		fprintf(stderr,
		    "redis-server did not start (is it installed? "
		    "tools/setup.sh installs it)\n");
		redisFree(r);
		test_redis_stop(&cache);
		CHECK(0);
	}
	struct hs_cluster cl;
	hs_client *c;
	hs_error e;
	cluster_at(&cl, closed_port); /* no directory: only the cache works */
	struct rt_redis_ep ep = test_redis_ep(&cache, "client");
	snprintf(cl.cache, HS_ADDR_MAX, "%s", ep.addr);
	snprintf(cl.cache_user, sizeof(cl.cache_user), "%s", ep.user);
	snprintf(cl.cache_password_file, sizeof(cl.cache_password_file), "%s",
	    ep.password_file);
	hs_status open_st = hs_open(&c, &cl, &e);

	/* A good entry: SHA-256 then the bytes. */
	const char photo[] = "not really a jpeg";
	uint8_t val[32 + sizeof(photo)];
	hs_sha256(photo, sizeof(photo), val);
	memcpy(val + 32, photo, sizeof(photo));
	hs_photo_id good = { 0x4d2, 0xcafef00d }, bad = { 0x4d3, 1 };
	freeReplyObject(redisCommand(r,
	    "SET hs:cache:00000000000004d2cafef00d "
	    "%b",
	    val, sizeof(val)));
	/* A corrupt one: the digest of other bytes. */
	val[40] ^= 1;
	freeReplyObject(redisCommand(r,
	    "SET hs:cache:00000000000004d300000001 "
	    "%b",
	    val, sizeof(val)));
	/* The directory's marker of a committed delete. */
	hs_photo_id gone = { 0x4d4, 2 };
	freeReplyObject(redisCommand(r,
	    "SET hs:cache:00000000000004d400000002 "
	    "deleted"));
	void *data = NULL;
	size_t len = 0;
	hs_status hit = open_st == HS_OK ?
	    hs_download(c, good, 5000, &data, &len, &e) :
	    open_st;
	int same = hit == HS_OK && len == sizeof(photo) &&
	    memcmp(data, photo, len) == 0;
	free(data);
	data = NULL;
	hs_status miss = hs_download(c, bad, 5000, &data, &len, &e);
	hs_error ge;
	hs_status deleted = hs_download(c, gone, 5000, &data, &len, &ge);
	struct hs_cache_stats k;
	hs_cache_stats(c, 1000, &k, NULL);
	test_hs_close(c);
	redisFree(r);
	test_redis_stop(&cache);
	CHECK_STATUS(hit, HS_OK, "cache hit");
	CHECK(same);
	/* The corrupt entry was skipped: on to the (down) directory. */
	CHECK_STATUS(miss, HS_UNAVAILABLE, e.message);
	/* Deleted, known from the cache alone (no directory is up). */
	CHECK_STATUS(deleted, HS_NOT_FOUND, ge.message);
	CHECK(strstr(ge.message, "deleted") != NULL);
	CHECK(data == NULL);
	CHECK_EQ(k.reachable, 1);
	CHECK_EQ(k.client_hits, 1);
	CHECK_EQ(k.client_misses, 2);
	CHECK(k.hits >= 3);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "down cluster fails fast and says where",
		    test_down_cluster_fails_fast_and_says_where },
		{ "what needs config says so", test_what_needs_config_says_so },
		{ "bad open arguments", test_bad_open_arguments },
		{ "oversized upload refused before any call",
		    test_oversized_upload_refused_before_any_call },
		{ "many threads, one client", test_many_threads_one_client },
		{ "cache hit is verified and needs no directory",
		    test_cache_hit_is_verified_and_needs_no_directory },
		{ NULL, NULL },
	};
	char tmp[512];
	if (test_temp_dir(tmp, sizeof(tmp), "libhs-test") != 0 ||
	    test_key_file(key_path, sizeof(key_path), tmp) != 0)
		return 1;
	unsetenv("HS_KEY_FILE");
	closed_port = test_free_port();
	return check_run(cases, argc, argv);
}
