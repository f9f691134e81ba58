/* End to end, on a whole cluster of real processes (Redis x2, directories
 * x3 behind nginx, stores x5): what a user of the photo store relies on.
 * Uploads and downloads go through libhs; exit codes and messages through
 * the real `hs` binary. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "cluster.h"
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

/* Downloads id and compares with want; HS_DATA_LOSS on a mismatch. */
static hs_status
download_equals(hs_client *c, hs_photo_id id, const uint8_t *want, size_t len,
    hs_error *e)
{
	void *data = NULL;
	size_t got = 0;
	hs_status st = hs_download(c, id, 10000, &data, &got, e);
	if (st == HS_OK && (got != len || (len && memcmp(data, want, len))))
		st = HS_DATA_LOSS;
	free(data);
	return st;
}

/* Runs hs with args (NULL-terminated), stdout into out. Its exit code. */
static int
run_hs(char *out, size_t outlen, const char *const *args)
{
	const char *argv[32] = { hs_bin, "--cluster", tc.cluster_file };
	int n = 3;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return test_proc_run((char *const *)argv, NULL, tc.dir, out, outlen,
	    NULL, 0, 60000);
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
		CHECK_STATUS(download_equals(cl, id, b, sizes[i], &e), HS_OK,
		    e.message);
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

/* Downloads id through c until the answer is NOT_FOUND, for at most 5 s;
 * 1 if c returned the photo's bytes meanwhile. *st and e: the last answer. */
static int
served_until_not_found(hs_client *c, hs_photo_id id, const uint8_t *want,
    size_t len, hs_status *st, hs_error *e)
{
	int served = 0;
	int64_t until = check_mono_ms() + 5000;
	do {
		*st = download_equals(c, id, want, len, e);
		served |= *st == HS_OK;
	} while (*st != HS_NOT_FOUND && check_mono_ms() < until);
	return served;
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
	CHECK_STATUS(download_equals(cl, id, b, 3000, &e), HS_OK, e.message);
	static struct hs_cluster nc_cfg;
	hs_client *nc;
	CHECK_STATUS(hs_cluster_load(tc.cluster_file, &nc_cfg, &e), HS_OK,
	    e.message);
	nc_cfg.cache[0] = '\0';
	CHECK_STATUS(hs_open(&nc, &nc_cfg, &e), HS_OK, e.message);
	/* nc did not upload it, so it has no sequence to read its write at:
	 * a follower shows the photo once it has applied the registration. */
	hs_status st;
	CHECK_WAIT_UNTIL((st = download_equals(nc, id, b, 3000, &e)) == HS_OK,
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
	st = download_equals(cl, id, b, 3000, &e);
	hs_error ne;
	hs_status nst;
	int served = served_until_not_found(nc, id, b, 3000, &nst, &ne);
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
		hs_status st = download_equals(cl, up_ids[i], b,
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
	struct hs_cluster cfg;
	CHECK_STATUS(hs_cluster_load(tc.cluster_file, &cfg, &e), HS_OK,
	    e.message);
	cfg.cache[0] = '\0';
	hs_client *nocache;
	CHECK_STATUS(hs_open(&nocache, &cfg, &e), HS_OK, e.message);
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < N; i++) {
		hs_status st = download_equals(nocache, ids[i], b[i], 10000,
		    &e);
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
	CHECK_STATUS(download_equals(cl, id, b, 8000, &e), HS_OK, e.message);
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
		{ "store killed: downloads still succeed",
		    test_store_killed_downloads_still_succeed },
		{ "leader killed during 200 uploads",
		    test_leader_killed_during_200_uploads },
		{ "deleted photo stays deleted after restarting everything",
		    test_deleted_photo_stays_deleted_after_restarting_everything },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .nginx = 1 };
	hs_error e;
	rt_log_init("e2e_test", 'T');
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	if (test_cluster_start(&tc, &o) != 0)
		return 1;
	if (hs_open_file(&cl, tc.cluster_file, &e) != HS_OK) {
		fprintf(stderr, "hs_open_file: %s\n", e.message);
		return 1;
	}
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		test_cluster_dump_logs(&tc);
	test_hs_close(cl);
	test_cluster_stop(&tc);
	return rc;
}
