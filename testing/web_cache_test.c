/* The Haystack Cache (testing/nginx.conf.template) on a whole cluster: a
 * photo read through nginx comes from a store once and from the cache
 * after, with no store involved; errors are never cached; a dead store is
 * skipped for the next replica; a delete drops the cached copy before it
 * returns, and a purge nginx missed lands once nginx is back.
 * Requests go through the real curl; the cluster is driven through libhs
 * dialing the directory itself, so a stopped nginx stops nothing else. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster_run.h"
#include "curl.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "proc.h"

static struct test_cluster tc;
static hs_client *cl;

/* A photo of len bytes of seed, uploaded; its id in hex. */
static int
upload(size_t len, uint64_t seed, uint8_t **bytes, hs_photo_id *id,
    char hex[HS_ID_HEX_LEN + 1])
{
	hs_error e;
	*bytes = test_bytes(len, seed);
	if (hs_upload(cl, *bytes, len, 0, 30000, id, &e) != HS_OK) {
		fprintf(stderr, "upload: %s\n", e.message);
		return -1;
	}
	hs_id_format(*id, hex);
	return 0;
}

/* method on nginx's photo URL path (e.g. "/<hex>.jpg"); extra headers
 * (NULL-ended) may be NULL. Its status, 0 when nothing answered. */
static int
web(const char *method, const char *path, const char *const *extra,
    struct test_http_resp *r)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", tc.p_web, path);
	memset(r, 0, sizeof(*r));
	test_http(method, url, extra, r);
	return r->status;
}

/* X-Cache-Status of r ("" when absent). */
static const char *
cache_status(const struct test_http_resp *r, char *buf, size_t len)
{
	if (test_http_header(r, "X-Cache-Status", buf, len) == NULL)
		buf[0] = '\0';
	return buf;
}

/* 1 if r is 200 with exactly want[0..len). */
static int
is_photo(const struct test_http_resp *r, const uint8_t *want, size_t len)
{
	return r->status == 200 && r->len == len &&
	    memcmp(r->body, want, len) == 0;
}

static void
each_store(void (*fn)(struct test_proc *))
{
	for (int i = 0; i < tc.nstores; i++)
		fn(&tc.stores[i]);
}

static void
test_second_read_is_a_hit_that_needs_no_store(void)
{
	uint8_t *b;
	hs_photo_id id;
	char hex[HS_ID_HEX_LEN + 1], path[64], cs[32];
	struct test_http_resp r;
	CHECK_EQ(upload(20000, 1, &b, &id, hex), 0);
	snprintf(path, sizeof(path), "/%s", hex);
	web("GET", path, NULL, &r);
	int ok = is_photo(&r, b, 20000);
	cache_status(&r, cs, sizeof(cs));
	test_http_free(&r);
	CHECK_MSG(ok && strcmp(cs, "MISS") == 0, "first read: %s", cs);
	/* The extension shares the entry; no store may answer it. */
	each_store(test_proc_stop);
	snprintf(path, sizeof(path), "/%s.jpg", hex);
	web("GET", path, NULL, &r);
	ok = is_photo(&r, b, 20000);
	cache_status(&r, cs, sizeof(cs));
	test_http_free(&r);
	const char *range[] = { "Range: bytes=100-199", NULL };
	web("GET", path, range, &r);
	int ranged = r.status == 206 && r.len == 100 &&
	    memcmp(r.body, b + 100, 100) == 0;
	test_http_free(&r);
	each_store(test_proc_cont);
	free(b);
	CHECK_MSG(ok && strcmp(cs, "HIT") == 0, "second read: %s", cs);
	CHECK_MSG(ranged, "a Range from the cached photo is a 206 of it");
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 10000));
}

#define HERD 20

/* HERD reads of one new photo at once (curl's parallel mode, the URLs in
 * a config file): one goes to a store, the others wait for its entry
 * (proxy_cache_lock) and are hits. */
static void
test_a_herd_of_first_reads_makes_one_store_read(void)
{
	uint8_t *b;
	hs_photo_id id;
	char hex[HS_ID_HEX_LEN + 1], conf[600], out[4096];
	CHECK_EQ(upload(30000, 5, &b, &id, hex), 0);
	free(b);
	snprintf(conf, sizeof(conf), "%s/herd.curl", tc.dir);
	FILE *f = fopen(conf, "w");
	CHECK(f != NULL);
	for (int i = 0; i < HERD; i++)
		fprintf(f,
		    "url = \"http://127.0.0.1:%d/%s\"\noutput = /dev/null\n",
		    tc.p_web, hex);
	fclose(f);
	char *argv[] = { "curl", "-s", "-Z", "--parallel-immediate",
		"--parallel-max", "50", "-w", "%header{x-cache-status}\n", "-K",
		conf, NULL };
	CHECK_EQ(test_proc_run(argv, NULL, tc.dir, out, sizeof(out), NULL, 0,
		     20000),
	    0);
	int miss = 0, hit = 0;
	for (char *p = out; (p = strstr(p, "MISS")) != NULL; p++)
		miss++;
	for (char *p = out; (p = strstr(p, "HIT")) != NULL; p++)
		hit++;
	CHECK_MSG(miss == 1 && hit == HERD - 1,
	    "%d misses and %d hits of %d reads at once", miss, hit, HERD);
}

static void
test_errors_are_never_cached(void)
{
	char cs[2][32];
	struct test_http_resp r;
	int status[2];
	for (int i = 0; i < 2; i++) {
		status[i] = web("GET", "/00000000000004d2cafef00d", NULL, &r);
		cache_status(&r, cs[i], sizeof(cs[i]));
		test_http_free(&r);
	}
	CHECK_EQ(status[0], 404);
	CHECK_EQ(status[1], 404);
	CHECK_MSG(strcmp(cs[1], "HIT") != 0, "an unknown id was cached");
	CHECK_EQ(web("GET", "/not-a-photo", NULL, &r), 404);
	test_http_free(&r);
}

/* The store the directory's redirect names first for hex: its index, or
 * -1. */
static int
first_store(const char *hex)
{
	char url[128], loc[256];
	struct test_http_resp r = { 0 };
	int port = 0, at = -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", tc.p_dirhttp[0],
	    hex);
	if (test_http("GET", url, NULL, &r) == 0 && r.status == 302 &&
	    test_http_header(&r, "Location", loc, sizeof(loc)) != NULL)
		sscanf(loc, "http://127.0.0.1:%d/", &port);
	test_http_free(&r);
	for (int i = 0; i < tc.nstores; i++)
		if (tc.p_storehttp[i] == port)
			at = i;
	return at;
}

static void
test_a_dead_store_is_skipped_for_the_next_replica(void)
{
	uint8_t *b;
	hs_photo_id id;
	char hex[HS_ID_HEX_LEN + 1], path[64];
	struct test_http_resp r;
	CHECK_EQ(upload(3000, 2, &b, &id, hex), 0);
	int s = first_store(hex);
	CHECK_MSG(s >= 0, "the directory redirects %s to a store", hex);
	test_proc_kill(&tc.stores[s], SIGKILL);
	snprintf(path, sizeof(path), "/%s", hex);
	web("GET", path, NULL, &r);
	int ok = is_photo(&r, b, 3000);
	int status = r.status;
	test_http_free(&r);
	free(b);
	int back = test_proc_restart(&tc.stores[s]) == 0 &&
	    test_cluster_wait_stores_up(&tc, tc.nstores, 20000);
	CHECK_MSG(ok, "read with store %d dead: HTTP %d", s + 1, status);
	CHECK(back);
}

/* Reads hex through nginx twice (the second a HIT); 1 if both were the
 * photo and the second a hit. */
static int
cached(const char *path, const uint8_t *b, size_t len)
{
	struct test_http_resp r;
	char cs[32];
	web("GET", path, NULL, &r);
	int ok = is_photo(&r, b, len);
	test_http_free(&r);
	web("GET", path, NULL, &r);
	ok = ok && is_photo(&r, b, len) &&
	    strcmp(cache_status(&r, cs, sizeof(cs)), "HIT") == 0;
	test_http_free(&r);
	return ok;
}

static void
test_a_delete_drops_the_cached_copy_before_it_returns(void)
{
	uint8_t *b;
	hs_photo_id id;
	hs_error e;
	char hex[HS_ID_HEX_LEN + 1], path[64];
	struct test_http_resp r;
	CHECK_EQ(upload(5000, 3, &b, &id, hex), 0);
	snprintf(path, sizeof(path), "/%s.jpg", hex);
	int hit = cached(path, b, 5000);
	free(b);
	CHECK_MSG(hit, "the photo is cached before the delete");
	CHECK_STATUS(hs_delete(cl, id, 10000, &e), HS_OK, e.message);
	int status = web("GET", path, NULL, &r);
	test_http_free(&r);
	CHECK_MSG(status == 404 || status == 410,
	    "read right after the delete: HTTP %d", status);
}

static int
gone(const char *path)
{
	struct test_http_resp r;
	int status = web("GET", path, NULL, &r);
	test_http_free(&r);
	return status == 404 || status == 410;
}

/* nginx down during a delete: the delete is acknowledged anyway and the
 * purge retried, so the copy nginx still has on disk when it comes back
 * (a cold cache serves its files) is not served for long. */
static void
test_a_missed_purge_lands_once_nginx_is_back(void)
{
	uint8_t *b;
	hs_photo_id id;
	hs_error e;
	char hex[HS_ID_HEX_LEN + 1], path[64];
	CHECK_EQ(upload(5000, 4, &b, &id, hex), 0);
	snprintf(path, sizeof(path), "/%s", hex);
	int hit = cached(path, b, 5000);
	free(b);
	CHECK_MSG(hit, "the photo is cached before the delete");
	test_proc_kill(&tc.nginx, SIGTERM);
	hs_status st = hs_delete(cl, id, 10000, &e);
	int back = test_proc_restart(&tc.nginx) == 0;
	CHECK_STATUS(st, HS_OK, e.message);
	CHECK(back);
	CHECK_MSG(CHECK_WAIT_UNTIL(gone(path), 5000),
	    "the cached copy outlived the retried purge");
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "second read is a hit that needs no store",
		    test_second_read_is_a_hit_that_needs_no_store },
		{ "a herd of first reads makes one store read",
		    test_a_herd_of_first_reads_makes_one_store_read },
		{ "errors are never cached", test_errors_are_never_cached },
		{ "a dead store is skipped for the next replica",
		    test_a_dead_store_is_skipped_for_the_next_replica },
		{ "a delete drops the cached copy before it returns",
		    test_a_delete_drops_the_cached_copy_before_it_returns },
		{ "a missed purge lands once nginx is back",
		    test_a_missed_purge_lands_once_nginx_is_back },
		{ NULL, NULL },
	};
	/* One directory (nginx's upstream of one), three stores: every
	 * photo on all three. */
	struct test_cluster_opts o = { .ndirs = 1,
		.nstores = 3,
		.nginx = 1,
		.dir_args = "--web-purge-wait=300ms" };
	hs_error e;
	rt_log_init("web_cache_test", 'T');
	if (test_cluster_up(&tc, &o, NULL) != 0)
		return 1;
	/* The directory itself, not nginx's balancer. */
	cl = test_cluster_client(&tc, TEST_CL_NO_BALANCER, NULL, &e);
	if (cl == NULL) {
		fprintf(stderr, "%s\n", e.message);
		test_cluster_stop(&tc);
		return 1;
	}
	return test_cluster_run(&tc, cl, cases, argc, argv);
}
