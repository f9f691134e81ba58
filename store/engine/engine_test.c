/* Engine behaviour through the public API: round trips, idempotent
 * resends, tombstones, reopen, roll-over, the data-dir lock, listing and
 * stats. Crash/recovery cases live in recovery_test.c. */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "engine_testutil.h"

static void
write_read_delete_round_trip(void)
{
	char *dir = test_mkdir("rt");
	struct store_engine *se;
	struct store_options o = test_opts(0);
	CHECK_OK(store_engine_open(dir, &o, &se));
	uint8_t buf[5000];
	for (uint64_t k = 1; k <= 50; k++)
		CHECK_OK(test_put(se, k, (uint32_t)k + 100, k * 97));
	for (uint64_t k = 1; k <= 50; k++)
		CHECK_OK(test_expect(se, k, (uint32_t)k + 100, k * 97));
	size_t n;
	CHECK_RC(store_engine_get(se, 7, 999, buf, sizeof(buf), &n),
	    STORE_E_NOT_FOUND);
	CHECK_RC(store_engine_get(se, 5000, 1, buf, sizeof(buf), &n),
	    STORE_E_NOT_FOUND);
	CHECK_RC(store_engine_get(se, 50, 150, buf, 10, &n), STORE_E_TOO_SMALL);
	CHECK_MSG(n == 50 * 97, "TOO_SMALL must report the size, got %zu", n);
	CHECK_OK(store_engine_delete(se, 7));
	CHECK_RC(store_engine_get(se, 7, 107, buf, sizeof(buf), &n),
	    STORE_E_NOT_FOUND);
	CHECK_OK(store_engine_delete(se, 7)); /* resend */
	CHECK_RC(store_engine_delete(se, 4242), STORE_E_NOT_FOUND);
	CHECK_RC(store_engine_exists(se, 7), 0);
	CHECK_RC(store_engine_exists(se, 8), 1);
	struct store_needle_info info;
	CHECK_OK(store_engine_stat(se, 8, &info));
	CHECK_MSG(info.cookie == 108 && info.size == 8 * 97, "stat %u %u",
	    info.cookie, info.size);
	CHECK_OK(store_engine_put(se, 60, 1, NULL, 0)); /* empty photo */
	CHECK_OK(test_expect(se, 60, 1, 0));
	store_engine_close(se);
	test_rmdir(dir);
}

static void
resend_is_idempotent_and_conflicts_are_refused(void)
{
	char *dir = test_mkdir("idem");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	uint8_t a[300], b[300];
	test_fill(1, a, sizeof(a));
	memcpy(b, a, sizeof(b));
	b[100] ^= 1;
	CHECK_OK(store_engine_put(se, 1, 5, a, sizeof(a)));
	struct store_stats st;
	store_engine_stats(se, &st);
	uint64_t bytes = st.live_bytes;
	CHECK_OK(store_engine_put(se, 1, 5, a, sizeof(a)));
	store_engine_stats(se, &st);
	CHECK_MSG(st.live_bytes == bytes && st.needles == 1,
	    "resend appended again");
	CHECK_RC(store_engine_put(se, 1, 5, b, sizeof(b)), STORE_E_EXISTS);
	CHECK_RC(store_engine_put(se, 1, 6, a, sizeof(a)), STORE_E_EXISTS);
	CHECK_RC(store_engine_put(se, 1, 5, a, 299), STORE_E_EXISTS);
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_RC(store_engine_put(se, 1, 5, a, sizeof(a)), STORE_E_DELETED);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
reopen_keeps_everything(void)
{
	char *dir = test_mkdir("reopen");
	struct store_engine *se;
	struct store_options o = test_opts(64 * 1024);
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 200; k++)
		CHECK_OK(test_put(se, k, 1, 100 + k * 7));
	for (uint64_t k = 1; k <= 200; k += 3)
		CHECK_OK(store_engine_delete(se, k));
	struct store_stats before, after;
	store_engine_stats(se, &before);
	store_engine_close(se);
	for (int round = 0; round < 2; round++) {
		CHECK_OK(store_engine_open(dir, &o, &se));
		for (uint64_t k = 1; k <= 200; k++) {
			int want = (k % 3 == 1) ? STORE_E_NOT_FOUND : 0;
			CHECK_RC(test_expect(se, k, 1, 100 + k * 7), want);
		}
		store_engine_stats(se, &after);
		CHECK_MSG(after.needles == before.needles &&
			after.deleted == before.deleted &&
			after.live_bytes == before.live_bytes &&
			after.volumes == before.volumes,
		    "stats differ after reopen: %llu/%llu needles",
		    (unsigned long long)after.needles,
		    (unsigned long long)before.needles);
		CHECK_RC(test_put(se, 1, 1, 107), STORE_E_DELETED);
		store_engine_close(se);
	}
	test_rmdir(dir);
}

static void
volumes_roll_over_at_small_max_size(void)
{
	char *dir = test_mkdir("roll");
	struct store_engine *se;
	struct store_options o = test_opts(8192);
	CHECK_OK(store_engine_open(dir, &o, &se));
	const size_t len = 1000;
	for (uint64_t k = 1; k <= 40; k++)
		CHECK_OK(test_put(se, k, 9, len));
	struct store_stats st;
	store_engine_stats(se, &st);
	/* 7 needles of 1032 bytes fit after the 64-byte superblock. */
	CHECK_MSG(st.volumes == 6, "volumes %llu",
	    (unsigned long long)st.volumes);
	CHECK_MSG(store_engine_active_volume(se) == 6, "active %u",
	    store_engine_active_volume(se));
	CHECK_RC(test_put(se, 99, 1, 8192), STORE_E_TOO_BIG);
	CHECK_OK(store_engine_delete(se, 3)); /* tombstone in a sealed volume */
	CHECK_OK(test_reopen(&se, dir, &o));
	for (uint64_t k = 1; k <= 40; k++)
		CHECK_RC(test_expect(se, k, 9, len),
		    k == 3 ? STORE_E_NOT_FOUND : 0);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
data_dir_lock_refuses_second_open(void)
{
	char *dir = test_mkdir("lock");
	struct store_engine *se, *se2 = NULL;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	CHECK_RC(store_engine_open(dir, NULL, &se2), STORE_E_LOCKED);
	CHECK_MSG(strstr(store_strerror(STORE_E_LOCKED), "already open"),
	    "message");
	store_engine_close(se);
	CHECK_OK(store_engine_open(dir, NULL, &se2));
	store_engine_close(se2);
	test_rmdir(dir);
}

static void
list_pages_through_all_keys_in_order(void)
{
	char *dir = test_mkdir("list");
	struct store_engine *se;
	struct store_options o = test_opts(16384);
	o.sync_mode = STORE_SYNC_NONE;
	CHECK_OK(store_engine_open(dir, &o, &se));
	const size_t len = 200;
	int64_t t0 = rt_now_ms();
	for (uint64_t i = 0; i < 300; i++) {
		/* shuffled, spread over volumes */
		uint64_t k = (i * 7919) % 1000 + 1;
		CHECK_OK(test_put(se, k, (uint32_t)k, len));
	}
	CHECK_OK(store_engine_delete(se, 7919 % 1000 + 1));
	struct store_needle_info page[32];
	uint64_t last = 0;
	size_t total = 0, n, deleted = 0;
	const uint64_t *after = NULL;
	do {
		CHECK_OK(store_engine_list(se, after, page, 32, &n));
		for (size_t i = 0; i < n; i++) {
			CHECK_MSG(!after || page[i].key > last, "order at %zu",
			    total + i);
			CHECK_MSG(page[i].cookie == (uint32_t)page[i].key,
			    "cookie");
			CHECK_MSG(page[i].written_ms >= t0 &&
				page[i].written_ms <= rt_now_ms(),
			    "written_ms %lld, "
			    "puts from %lld",
			    (long long)page[i].written_ms, (long long)t0);
			if (page[i].flags & STORE_NF_DELETED)
				deleted++;
			else
				CHECK_MSG(page[i].size == len, "size %u",
				    page[i].size);
			last = page[i].key;
			after = &last;
		}
		total += n;
	} while (n == 32);
	CHECK_MSG(total == 300 && deleted == 1, "listed %zu, deleted %zu",
	    total, deleted);
	store_engine_close(se);
	/* After a reopen the time is the volume file's mtime (coarser than
	 * CLOCK_REALTIME: a tick of slack). */
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_OK(store_engine_list(se, NULL, page, 32, &n));
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(page[i].written_ms >= t0 - 100 &&
			page[i].written_ms <= rt_now_ms(),
		    "written_ms %lld after "
		    "reopen, puts from %lld",
		    (long long)page[i].written_ms, (long long)t0);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
stats_report_bytes_per_needle(void)
{
	char *dir = test_mkdir("stats");
	struct store_engine *se;
	struct store_options o = test_opts(0);
	o.sync_mode = STORE_SYNC_NONE;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 20000; k++)
		CHECK_OK(
		    store_engine_put(se, k * 0x9E3779B97F4A7C15ull, 1, &k, 8));
	struct store_stats st;
	store_engine_stats(se, &st);
	CHECK_MSG(st.needles == 20000 && st.index_entries == 20000, "counts");
	CHECK_MSG(st.bytes_per_needle > 8 && st.bytes_per_needle <= 14.0,
	    "%.2f bytes/needle", st.bytes_per_needle);
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "write, read, delete round trip",
		    write_read_delete_round_trip },
		{ "resend is idempotent and conflicts are refused",
		    resend_is_idempotent_and_conflicts_are_refused },
		{ "reopen keeps everything", reopen_keeps_everything },
		{ "volumes roll over at small max size",
		    volumes_roll_over_at_small_max_size },
		{ "data dir lock refuses second open",
		    data_dir_lock_refuses_second_open },
		{ "list pages through all keys in order",
		    list_pages_through_all_keys_in_order },
		{ "stats report bytes per needle",
		    stats_report_bytes_per_needle },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
