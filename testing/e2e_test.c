/* End to end, on a whole cluster of real processes (Redis x2, directories
 * x3 behind nginx, stores x5): what a user of the photo store relies on.
 * Uploads and downloads go through libhs; exit codes and messages through
 * the real `hs` binary. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "cluster_run.h"
#include "curl.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"
#include "store.pb-c.h"

static struct test_cluster tc;
static hs_client *cl;
static char hs_bin[512];

/* Runs hs on cluster file cf with args (NULL-terminated), stdout into
 * out. Its exit code. */
static int
run_hs_on(const char *cf, char *out, size_t outlen, const char *const *args)
{
	const char *argv[32] = { hs_bin, "--cluster", cf };
	int n = 3;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return test_proc_run((char *const *)argv, NULL, tc.dir, out, outlen,
	    NULL, 0, 60000);
}

static int
run_hs(char *out, size_t outlen, const char *const *args)
{
	return run_hs_on(tc.cluster_file, out, outlen, args);
}

static void
test_round_trip_of_every_size(void)
{
	size_t sizes[] = { 0, 1, 4096, 1 << 20, 16 << 20 };
	for (int i = 0; i < 5; i++) {
		uint8_t *b = test_bytes(sizes[i], (uint64_t)i);
		hs_photo_id id;
		hs_error e;
		CHECK_STATUS(hs_upload(cl, b, sizes[i], 0, 30000, &id, &e),
		    HS_OK, e.message);
		CHECK_STATUS(test_download_equals(cl, id, b, sizes[i], &e),
		    HS_OK, e.message);
		free(b);
	}
}

static void
test_status_shows_three_healthy_replicas(void)
{
	uint8_t *b = test_bytes(5000, 77);
	hs_photo_id id;
	hs_error e;
	struct hs_photo_info info;
	CHECK_STATUS(hs_upload(cl, b, 5000, 0, 30000, &id, &e), HS_OK,
	    e.message);
	free(b);
	CHECK_STATUS(hs_stat(cl, id, 10000, &info, &e), HS_OK, e.message);
	CHECK_EQ(info.size, 5000);
	CHECK_EQ(info.state, HS_PHOTO_ACTIVE);
	CHECK_EQ(info.nreplicas, 3);
	for (size_t i = 0; i < info.nreplicas; i++)
		CHECK_EQ(info.replicas[i].state, HS_STORE_UP);
	/* The same through the CLI, as a person would check it. */
	char hex[HS_ID_HEX_LEN + 1], out[8192];
	hs_id_format(id, hex);
	const char *args[] = { "status", hex, NULL };
	CHECK_EQ(run_hs(out, sizeof(out), args), 0);
	CHECK(strstr(out, "UP") != NULL);
}

static int
all_processes_answer(void)
{
	return test_cluster_wait_stores_up(&tc, tc.nstores, 100);
}

static int
tombstoned_everywhere(hs_photo_id id, const struct hs_photo_info *info)
{
	for (size_t i = 0; i < info->nreplicas; i++)
		if (test_cluster_read(&tc, (int)info->replicas[i].store_id - 1,
			id.key, id.cookie, 0) != HS_NOT_FOUND)
			return 0;
	return 1;
}

static void
test_deleted_photo_stays_deleted_after_restarting_everything(void)
{
	uint8_t *b = test_bytes(3000, 99);
	hs_photo_id id;
	hs_error e;
	char hex[HS_ID_HEX_LEN + 1], out[4096];
	CHECK_STATUS(hs_upload(cl, b, 3000, 0, 30000, &id, &e), HS_OK,
	    e.message);
	/* Read it once so it is in the cache too; and through a client with
	 * no cache, which now remembers where it is. */
	CHECK_STATUS(test_download_equals(cl, id, b, 3000, &e), HS_OK,
	    e.message);
	hs_client *nc = test_cluster_client(&tc, TEST_CL_NO_CACHE, NULL, &e);
	CHECK_MSG(nc != NULL, "%s", e.message);
	/* nc did not upload it, so it has no sequence to read its write at:
	 * a follower shows the photo once it has applied the registration. */
	hs_status st;
	CHECK_WAIT_UNTIL((st = test_download_equals(nc, id, b, 3000, &e)) ==
		HS_OK,
	    5000);
	if (st != HS_OK)
		test_hs_close(nc);
	CHECK_STATUS(st, HS_OK, e.message);
	struct hs_photo_info info;
	CHECK_STATUS(hs_stat(cl, id, 10000, &info, &e), HS_OK, e.message);
	CHECK(!tombstoned_everywhere(id, &info));
	hs_id_format(id, hex);
	const char *del[] = { "delete", hex, NULL };
	CHECK_EQ(run_hs(out, sizeof(out), del), 0);
	const char *get[] = { "download", hex, "-", NULL };
	CHECK_EQ(run_hs(out, sizeof(out), get), 2);
	/* The stores' tombstones follow the committed delete. */
	CHECK(CHECK_WAIT_UNTIL(tombstoned_everywhere(id, &info), 10000));
	/* The delete came from another process. cl finds the directory's
	 * marker in the cache; nc, with no cache, remembers where the photo
	 * was, and the tombstones there send it back to the directory, whose
	 * answer wins (once the follower asked has applied the delete: until
	 * then it is DATA_LOSS, never the bytes). */
	st = test_download_equals(cl, id, b, 3000, &e);
	hs_error ne;
	hs_status nst;
	int served = TEST_SERVED_UNTIL_NOT_FOUND(test_download_equals(nc, id, b,
						     3000, &ne),
	    nst, 5000);
	test_hs_close(nc);
	CHECK_STATUS(st, HS_NOT_FOUND, e.message);
	CHECK(!served);
	CHECK_STATUS(nst, HS_NOT_FOUND, ne.message);
	/* Restart every process of the cluster. */
	for (int i = 0; i < tc.nstores; i++) {
		test_proc_kill(&tc.stores[i], SIGTERM);
		test_proc_restart(&tc.stores[i]);
	}
	for (int i = 0; i < tc.ndirs; i++) {
		test_proc_kill(&tc.dirs[i], SIGTERM);
		test_proc_restart(&tc.dirs[i]);
	}
	test_proc_kill(&tc.meta.proc, SIGTERM);
	CHECK(test_redis_restart(&tc.meta) == 0);
	CHECK(CHECK_WAIT_UNTIL(all_processes_answer(), 30000));
	CHECK_EQ(run_hs(out, sizeof(out), get), 2);
	CHECK(tombstoned_everywhere(id, &info));
	hs_client *fresh;
	CHECK_STATUS(hs_open_file(&fresh, tc.cluster_file, &e), HS_OK,
	    e.message);
	void *data = NULL;
	size_t len;
	st = hs_download(fresh, id, 10000, &data, &len, &e);
	free(data);
	test_hs_close(fresh);
	CHECK_STATUS(st, HS_NOT_FOUND, e.message);
	free(b);
}

/* 200 uploads from 8 threads; the directory leader is SIGKILLed after the
 * first 50. Every upload that returned an id must download intact. */
enum { UPLOADS = 200, UPLOADERS = 8 };
static hs_photo_id up_ids[UPLOADS];
static atomic_int up_ok[UPLOADS];
static atomic_int up_done;

static void *
uploader_main(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = t; i < UPLOADS; i += UPLOADERS) {
		uint8_t *b = test_bytes(2048 + (size_t)i, 1000 + (uint64_t)i);
		hs_error e;
		if (hs_upload(cl, b, 2048 + (size_t)i, 0, 30000, &up_ids[i],
			&e) == HS_OK)
			atomic_store(&up_ok[i], 1);
		else
			fprintf(stderr, "  upload %d failed: %s\n", i,
			    e.message);
		atomic_fetch_add(&up_done, 1);
		free(b);
	}
	return NULL;
}

static void
test_leader_killed_during_200_uploads(void)
{
	pthread_t t[UPLOADERS];
	int leader = test_cluster_leader(&tc);
	CHECK(leader >= 0);
	for (int i = 0; i < UPLOADERS; i++)
		pthread_create(&t[i], NULL, uploader_main, (void *)(intptr_t)i);
	CHECK(CHECK_WAIT_UNTIL(atomic_load(&up_done) >= 50, 60000));
	test_proc_kill(&tc.dirs[leader], SIGKILL);
	int64_t killed_at = check_mono_ms();
	for (int i = 0; i < UPLOADERS; i++)
		pthread_join(t[i], NULL);
	int ok = 0;
	for (int i = 0; i < UPLOADS; i++) {
		if (!atomic_load(&up_ok[i]))
			continue;
		ok++;
		uint8_t *b = test_bytes(2048 + (size_t)i, 1000 + (uint64_t)i);
		hs_error e;
		hs_status st = test_download_equals(cl, up_ids[i], b,
		    2048 + (size_t)i, &e);
		free(b);
		CHECK_STATUS(st, HS_OK, e.message);
	}
	printf("  %d of %d uploads acknowledged across the failover (%lld ms "
	       "after the kill)\n",
	    ok, UPLOADS, (long long)(check_mono_ms() - killed_at));
	CHECK(ok >= UPLOADS * 9 / 10);
	CHECK(test_cluster_leader(&tc) >= 0);
	test_proc_restart(&tc.dirs[leader]);
}

static void
test_store_killed_downloads_still_succeed(void)
{
	enum { N = 10 };
	hs_photo_id ids[N];
	uint8_t *b[N];
	hs_error e;
	for (int i = 0; i < N; i++) {
		b[i] = test_bytes(10000, 5000 + (uint64_t)i);
		CHECK_STATUS(hs_upload(cl, b[i], 10000, 0, 30000, &ids[i], &e),
		    HS_OK, e.message);
	}
	/* Kill a store that holds the first photo. */
	struct hs_photo_info info;
	CHECK_STATUS(hs_stat(cl, ids[0], 10000, &info, &e), HS_OK, e.message);
	int victim = (int)info.replicas[0].store_id - 1;
	test_proc_kill(&tc.stores[victim], SIGKILL);
	/* Right away: no waiting for the directory to notice. The cache is
	 * bypassed by a client without one, so stores really serve. */
	hs_client *nocache = test_cluster_client(&tc, TEST_CL_NO_CACHE, NULL,
	    &e);
	CHECK_MSG(nocache != NULL, "%s", e.message);
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < N; i++) {
		hs_status st = test_download_equals(nocache, ids[i], b[i],
		    10000, &e);
		CHECK_STATUS(st, HS_OK, e.message);
	}
	printf("  %d downloads with store-%d dead took %lld ms\n", N,
	    victim + 1, (long long)(check_mono_ms() - t0));
	test_hs_close(nocache);
	for (int i = 0; i < N; i++)
		free(b[i]);
	test_proc_restart(&tc.stores[victim]);
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 20000));
}

/* Total reads served by all stores, from their Stats. */
static uint64_t
store_reads(void)
{
	uint64_t total = 0;
	for (int i = 0; i < tc.nstores; i++) {
		Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
		ProtobufCMessage *reply;
		if (test_rpc_call(tc.p_store[i], tc.keyfile,
			&hs__store__descriptor, "Stats", &req.base, &reply,
			2000, NULL) == HS_OK) {
			total += ((Hs__StoreStatsReply *)reply)->reads;
			protobuf_c_message_free_unpacked(reply, NULL);
		}
	}
	return total;
}

static int
cached(hs_photo_id id)
{
	struct hs_cache_stats before, after;
	hs_error e;
	void *data = NULL;
	size_t len;
	hs_cache_stats(cl, 1000, &before, &e);
	hs_download(cl, id, 5000, &data, &len, &e);
	free(data);
	hs_cache_stats(cl, 1000, &after, &e);
	return after.client_hits > before.client_hits;
}

static void
test_cache_serves_second_download_without_a_store(void)
{
	uint8_t *b = test_bytes(8000, 4242);
	hs_photo_id id;
	hs_error e;
	CHECK_STATUS(hs_upload(cl, b, 8000, 0, 30000, &id, &e), HS_OK,
	    e.message);
	/* Push-on-write is asynchronous: wait until the cache has it. */
	CHECK(CHECK_WAIT_UNTIL(cached(id), 5000));
	uint64_t reads = store_reads();
	struct hs_cache_stats before, after;
	hs_cache_stats(cl, 1000, &before, &e);
	CHECK_STATUS(test_download_equals(cl, id, b, 8000, &e), HS_OK,
	    e.message);
	hs_cache_stats(cl, 1000, &after, &e);
	CHECK_EQ(after.client_hits, before.client_hits + 1);
	CHECK_EQ(store_reads(), reads);
	free(b);
}

/* 1 once tap's output (the file out) shows the registration of hex and a
 * needle written. */
static int
tap_saw(const char *out, const char *hex, char *buf, size_t len)
{
	test_read_file(out, buf, len, 1);
	return strstr(buf, "photo.registered") && strstr(buf, hex) &&
	    strstr(buf, "needle.written");
}

static void
test_tap_shows_the_events_of_an_upload(void)
{
	char out[600], buf[65536], hex[HS_ID_HEX_LEN + 1];
	char *argv[] = { hs_bin, "--cluster", tc.cluster_file, "tap", NULL };
	struct test_proc tap;
	snprintf(out, sizeof(out), "%s/tap.out", tc.dir);
	struct test_proc_opts o = { .out = out };
	CHECK_EQ(test_proc_start_opts(&tap, "tap", tc.dir, argv, &o), 0);
	/* Upload until tap has seen one (it may join after the first). */
	int seen = 0;
	for (int round = 0; round < 20 && !seen; round++) {
		uint8_t *b = test_bytes(100, 9000 + (uint64_t)round);
		hs_photo_id id;
		hs_error e;
		hs_status st = hs_upload(cl, b, 100, 0, 30000, &id, &e);
		free(b);
		if (st != HS_OK)
			test_proc_kill(&tap, SIGINT);
		CHECK_STATUS(st, HS_OK, e.message);
		hs_id_format(id, hex);
		seen = CHECK_WAIT_UNTIL(tap_saw(out, hex, buf, sizeof(buf)),
		    1000);
	}
	test_proc_kill(&tap, SIGINT);
	test_proc_free(&tap);
	CHECK(seen);
	CHECK(strstr(buf, "needle.written") != NULL);
}

static void
test_unknown_and_nonsense_ids_and_missing_files(void)
{
	char out[4096];
	const char *unknown[] = { "download", "00000000000004d2cafef00d", "-",
		NULL };
	CHECK_EQ(run_hs(out, sizeof(out), unknown), 2);
	const char *nonsense[] = { "status", "not-a-photo", NULL };
	CHECK_EQ(run_hs(out, sizeof(out), nonsense), 64);
	const char *missing[] = { "upload", "/nonexistent/cat.jpg", NULL };
	CHECK_EQ(run_hs(out, sizeof(out), missing), 1);
}

/* --- The web face's redirect (directory/http_redirect.h) and hs url --- */

/* One answer of directory dir's redirect for path: its status, Location
 * and X-Hs-Replicas ("" when absent). Every answer must say no-store:
 * -1 (with a line on stderr) when one does not. */
static int
redirect_at(int dir, const char *method, const char *path, char *loc,
    size_t loclen, char nrep[16])
{
	char url[256], cc[64] = "";
	struct test_http_resp r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", tc.p_dirhttp[dir],
	    path);
	loc[0] = nrep[0] = '\0';
	if (test_http(method, url, NULL, &r) != 0)
		return 0;
	test_http_header(&r, "Location", loc, loclen);
	test_http_header(&r, "X-Hs-Replicas", nrep, 16);
	test_http_header(&r, "Cache-Control", cc, sizeof(cc));
	test_http_free(&r);
	if (strcmp(cc, "no-store") != 0) {
		fprintf(stderr, "%s: Cache-Control '%s'\n", url, cc);
		return -1;
	}
	return r.status;
}

/* The index of the store whose web face loc points into, or -1. */
static int
store_of(const char *loc)
{
	for (int i = 0; i < tc.nstores; i++) {
		char base[64];
		int n = snprintf(base, sizeof(base), "http://127.0.0.1:%d/",
		    tc.p_storehttp[i]);
		if (strncmp(loc, base, (size_t)n) == 0)
			return i;
	}
	return -1;
}

/* 1 if store index s holds a replica of info's photo. */
static int
holds(const struct hs_photo_info *info, int s)
{
	for (size_t i = 0; i < info->nreplicas; i++)
		if (info->replicas[i].store_id == (uint32_t)s + 1)
			return 1;
	return 0;
}

/* A store's web face answers (until the stores serve photos, the photo's
 * URL itself is not followed: see the report of branch web-redirect). */
static int
store_web_answers(int s)
{
	char url[128];
	struct test_http_resp r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health",
	    tc.p_storehttp[s]);
	int ok = test_http("GET", url, NULL, &r) == 0 && r.status == 200;
	test_http_free(&r);
	return ok;
}

static void
upload_one(uint64_t seed, hs_photo_id *id, struct hs_photo_info *info)
{
	uint8_t *b = test_bytes(3000, seed);
	hs_error e;
	CHECK_STATUS(hs_upload(cl, b, 3000, 0, 30000, id, &e), HS_OK,
	    e.message);
	free(b);
	CHECK_STATUS(hs_stat(cl, *id, 10000, info, &e), HS_OK, e.message);
}

static void
test_every_directory_redirects_to_the_stores_holding_a_photo(void)
{
	struct hs_photo_info info;
	hs_photo_id id;
	upload_one(31, &id, &info);
	char hex[HS_ID_HEX_LEN + 1], path[64], loc[256], first[256], n[16];
	hs_id_format(id, hex);
	snprintf(path, sizeof(path), "/%s.jpg", hex);
	/* Followers too, once they applied the photo (a 503 until then). */
	for (int d = 0; d < tc.ndirs; d++) {
		CHECK(CHECK_WAIT_UNTIL(redirect_at(d, "GET", path, loc,
					   sizeof(loc), n) == 302,
		    5000));
		CHECK_EQ(strcmp(n, "3"), 0);
		int s = store_of(loc);
		CHECK_MSG(s >= 0 && holds(&info, s), "Location %s", loc);
		CHECK(strstr(loc, path) != NULL); /* id and .jpg as asked */
		CHECK(store_web_answers(s));
		if (d == 0)
			snprintf(first, sizeof(first), "%s", loc);
		CHECK_MSG(strcmp(loc, first) == 0, "%s vs %s", loc, first);
	}
	CHECK_EQ(redirect_at(0, "HEAD", path, loc, sizeof(loc), n), 302);
	CHECK_EQ(strcmp(loc, first), 0);
	/* skip=N: the next stores, each a different holder, then none. */
	int seen[TEST_CLUSTER_MAX_STORES] = { 0 };
	seen[store_of(first)] = 1;
	for (int k = 1; k <= 3; k++) {
		char q[96];
		snprintf(q, sizeof(q), "%s?skip=%d", path, k);
		int st = redirect_at(1, "GET", q, loc, sizeof(loc), n);
		if (k == 3) {
			CHECK_EQ(st, 503);
			CHECK_EQ(strcmp(n, "3"), 0);
			break;
		}
		CHECK_EQ(st, 302);
		int s = store_of(loc);
		CHECK_MSG(s >= 0 && holds(&info, s) && !seen[s], "skip=%d: %s",
		    k, loc);
		seen[s] = 1;
	}
}

static void
test_redirect_errors_unknown_wrong_cookie_deleted_bad_id(void)
{
	struct hs_photo_info info;
	hs_photo_id id, wrong;
	upload_one(32, &id, &info);
	wrong = id;
	char hex[HS_ID_HEX_LEN + 1], path[64], loc[256], n[16];
	hs_error e;
	wrong.cookie ^= 1;
	hs_id_format(wrong, hex);
	snprintf(path, sizeof(path), "/%s", hex);
	int leader = test_cluster_leader(&tc);
	CHECK(leader >= 0);
	CHECK_EQ(redirect_at(leader, "GET", path, loc, sizeof(loc), n), 404);
	CHECK_EQ(redirect_at(leader, "GET", "/00000000000004d2cafef00d.png",
		     loc, sizeof(loc), n),
	    404);
	const char *bad[] = { "/not-a-photo", "/00000000000004d2cafef00",
		"/00000000000004d2cafef00d.j/g", "/00000000000004d2cafef00d.",
		"/00000000000004d2cafef00d?skip=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(redirect_at(leader, "GET", bad[i], loc, sizeof(loc),
			      n) == 400,
		    "%s", bad[i]);
	CHECK_STATUS(hs_delete(cl, id, 10000, &e), HS_OK, e.message);
	hs_id_format(id, hex);
	snprintf(path, sizeof(path), "/%s.jpg", hex);
	for (int d = 0; d < tc.ndirs; d++)
		CHECK(CHECK_WAIT_UNTIL(redirect_at(d, "GET", path, loc,
					   sizeof(loc), n) == 410,
		    5000));
}

/* 1 when directory d redirects path away from store s, to one of two. */
static int
redirect_avoids(int d, const char *path, int s)
{
	char loc[256], n[16];
	return redirect_at(d, "GET", path, loc, sizeof(loc), n) == 302 &&
	    store_of(loc) != s && strcmp(n, "2") == 0;
}

static void
test_a_killed_store_is_no_redirect_target_once_down(void)
{
	struct hs_photo_info info;
	hs_photo_id id;
	upload_one(33, &id, &info);
	char hex[HS_ID_HEX_LEN + 1], path[64], loc[256], n[16];
	hs_id_format(id, hex);
	snprintf(path, sizeof(path), "/%s", hex);
	CHECK(CHECK_WAIT_UNTIL(redirect_at(tc.ndirs - 1, "GET", path, loc,
				   sizeof(loc), n) == 302,
	    5000));
	int victim = store_of(loc);
	CHECK(victim >= 0);
	test_proc_kill(&tc.stores[victim], SIGKILL);
	/* DOWN after 3 missed heartbeats (200 ms here), on every directory. */
	for (int d = 0; d < tc.ndirs; d++)
		CHECK(CHECK_WAIT_UNTIL(redirect_avoids(d, path, victim), 5000));
	test_proc_restart(&tc.stores[victim]);
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 20000));
}

/* The cluster file without its `web` line, at path. */
static void
cluster_file_without_web(char *path, size_t len)
{
	char text[8192], *w;
	test_read_file(tc.cluster_file, text, sizeof(text), 0);
	CHECK((w = strstr(text, "\nweb = ")) != NULL);
	w[1] = '#'; /* commented out */
	snprintf(path, len, "%s/cluster.noweb", tc.dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void
test_hs_url_names_the_web_cache_or_the_redirect_store(void)
{
	char file[600], noweb[600], out[4096], url[4096], web[64], loc[256],
	    n[16];
	snprintf(file, sizeof(file), "%s/url.jpg", tc.dir);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	fputs("not really a jpeg", f);
	fclose(f);
	/* With `web`: the cache's URL, from upload --url and url alike. */
	const char *up[] = { "upload", "--url", file, NULL };
	CHECK_EQ(run_hs(out, sizeof(out), up), 0);
	int len = snprintf(web, sizeof(web), "http://127.0.0.1:%d/", tc.p_web);
	CHECK_MSG(strncmp(out, web, (size_t)len) == 0 &&
		strlen(out) == (size_t)len + HS_ID_HEX_LEN + 1,
	    "upload --url printed '%s'", out);
	char hex[HS_ID_HEX_LEN + 1];
	snprintf(hex, sizeof(hex), "%s", out + len);
	snprintf(url, sizeof(url), "%s", out);
	const char *get[] = { "url", hex, NULL };
	CHECK_EQ(run_hs(out, sizeof(out), get), 0);
	CHECK_EQ(strcmp(out, url), 0);
	const char *js[] = { "--json", "url", hex, NULL };
	CHECK_EQ(run_hs(out, sizeof(out), js), 0);
	CHECK(strstr(out, "\"url\":\"") != NULL &&
	    strstr(out, "\"id\":\"") != NULL);
	/* Without: the store the directories redirect to first. */
	cluster_file_without_web(noweb, sizeof(noweb));
	CHECK_EQ(run_hs_on(noweb, out, sizeof(out), get), 0);
	char path[64];
	snprintf(path, sizeof(path), "/%s", hex);
	CHECK_EQ(redirect_at(0, "GET", path, loc, sizeof(loc), n), 302);
	CHECK_MSG(strncmp(out, loc, strlen(loc)) == 0 &&
		out[strlen(loc)] == '\n',
	    "hs url '%s', redirect %s", out, loc);
	CHECK_EQ(run_hs_on(noweb, out, sizeof(out), up), 0);
	CHECK(store_of(out) >= 0);
	snprintf(hex, sizeof(hex), "%s", strrchr(out, '/') + 1);
	snprintf(url, sizeof(url), "%s", out);
	CHECK_EQ(run_hs_on(noweb, out, sizeof(out), get), 0);
	CHECK_EQ(strcmp(out, url), 0);
	const char *unknown[] = { "url", "00000000000004d2cafef00d", NULL };
	CHECK_EQ(run_hs(out, sizeof(out), unknown), 2);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "round trip of every size", test_round_trip_of_every_size },
		{ "status shows three healthy replicas",
		    test_status_shows_three_healthy_replicas },
		{ "cache serves a second download without a store",
		    test_cache_serves_second_download_without_a_store },
		{ "tap shows the events of an upload",
		    test_tap_shows_the_events_of_an_upload },
		{ "unknown and nonsense ids, missing files",
		    test_unknown_and_nonsense_ids_and_missing_files },
		{ "every directory redirects to the stores holding a photo",
		    test_every_directory_redirects_to_the_stores_holding_a_photo },
		{ "redirect errors: unknown, wrong cookie, deleted, bad id",
		    test_redirect_errors_unknown_wrong_cookie_deleted_bad_id },
		{ "a killed store is no redirect target once DOWN",
		    test_a_killed_store_is_no_redirect_target_once_down },
		{ "hs url names the web cache or the redirect's store",
		    test_hs_url_names_the_web_cache_or_the_redirect_store },
		{ "store killed: downloads still succeed",
		    test_store_killed_downloads_still_succeed },
		{ "leader killed during 200 uploads",
		    test_leader_killed_during_200_uploads },
		{ "deleted photo stays deleted after restarting everything",
		    test_deleted_photo_stays_deleted_after_restarting_everything },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .nginx = 1 };
	rt_log_init("e2e_test", 'T');
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	if (test_cluster_up(&tc, &o, &cl) != 0)
		return 1;
	return test_cluster_run(&tc, cl, cases, argc, argv);
}
