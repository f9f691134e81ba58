/* Durability: concurrent putters share fdatasyncs (group commit) and are
 * all readable after reopen; a failed write or fsync truncates the tail,
 * acknowledges nothing it covered and leaves the store writable; a failed
 * truncate after that turns the volume read-only. Faults come from vio's
 * injector, so no broken disk is needed. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_batch.h"
#include "engine_testutil.h"
#include "needle.h"
#include "vio.h"

#define GC_THREADS 16
#define GC_PER_THREAD 25

struct gc_arg {
	struct store_engine *se;
	int id;
	int rc[GC_PER_THREAD];
};

static void *
gc_writer(void *p)
{
	struct gc_arg *a = p;
	uint8_t buf[4096];
	for (int i = 0; i < GC_PER_THREAD; i++) {
		uint64_t key = (uint64_t)a->id * 1000 + (uint64_t)i + 1;
		test_fill(key, buf, sizeof(buf));
		a->rc[i] = store_engine_put(a->se, key, 42, buf, sizeof(buf));
	}
	return NULL;
}

static void
run_writers(struct store_engine *se, struct gc_arg *args)
{
	pthread_t th[GC_THREADS];
	for (int t = 0; t < GC_THREADS; t++) {
		args[t] = (struct gc_arg){ se, t, { 0 } };
		pthread_create(&th[t], NULL, gc_writer, &args[t]);
	}
	for (int t = 0; t < GC_THREADS; t++)
		pthread_join(th[t], NULL);
}

static void
group_commit_16_threads_all_acknowledged_and_readable(void)
{
	char *dir = test_mkdir("gc");
	struct store_engine *se;
	/* rolls over mid-run too */
	struct store_options o = test_opts(1 << 20);
	CHECK_OK(store_engine_open(dir, &o, &se));
	static struct gc_arg args[GC_THREADS];
	long syncs0 = vio_sync_count();
	run_writers(se, args);
	long syncs = vio_sync_count() - syncs0;
	for (int t = 0; t < GC_THREADS; t++)
		for (int i = 0; i < GC_PER_THREAD; i++)
			CHECK_OK(args[t].rc[i]);
	int puts = GC_THREADS * GC_PER_THREAD;
	printf("  %d puts, %ld fdatasyncs\n", puts, syncs);
	CHECK_MSG(syncs < puts, "no batching: %ld syncs for %d puts", syncs,
	    puts);
	CHECK_OK(test_reopen(&se, dir, &o));
	for (int t = 0; t < GC_THREADS; t++)
		for (int i = 0; i < GC_PER_THREAD; i++)
			CHECK_OK(test_expect(se,
			    (uint64_t)t * 1000 + (uint64_t)i + 1, 42, 4096));
	store_engine_close(se);
	test_rmdir(dir);
}

static off_t
file_size(const char *dir)
{
	struct stat st;
	return stat(test_path(dir, "vol_00000001.dat"), &st) ? -1 : st.st_size;
}

static void
failed_fsync_truncates_and_acknowledges_nothing(void)
{
	char *dir = test_mkdir("fsyncfail");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	uint8_t buf[100];
	for (uint64_t k = 1; k <= 2; k++)
		CHECK_OK(test_put(se, k, 1, sizeof(buf)));
	test_fill(3, buf, sizeof(buf));
	off_t good = file_size(dir);
	vio_fault_arm(VIO_SYNC, 1, EIO);
	CHECK_RC(store_engine_put(se, 3, 1, buf, sizeof(buf)), -EIO);
	CHECK_MSG(file_size(dir) == good, "tail not truncated: %lld vs %lld",
	    (long long)file_size(dir), (long long)good);
	CHECK_RC(store_engine_exists(se, 3), 0);
	vio_fault_arm(VIO_SYNC, 1, EIO);
	CHECK_RC(store_engine_delete(se, 2), -EIO);
	CHECK_RC(store_engine_exists(se, 2), 1); /* the delete was undone */
	/* client retry */
	CHECK_OK(store_engine_put(se, 3, 1, buf, sizeof(buf)));
	/* A put and its delete rolled back in one batch. */
	CHECK_OK(test_put(se, 4, 1, sizeof(buf)));
	vio_fault_arm(VIO_SYNC, 1, EIO);
	CHECK_RC(store_engine_delete(se, 4), -EIO);
	struct store_stats before, after;
	store_engine_stats(se, &before);
	CHECK_OK(test_reopen(&se, dir, NULL));
	store_engine_stats(se, &after);
	CHECK_MSG(before.needles == after.needles &&
		before.deleted == after.deleted &&
		before.live_bytes == after.live_bytes &&
		before.dead_bytes == after.dead_bytes,
	    "rollback accounting: %llu/%llu live, %llu/%llu dead bytes",
	    (unsigned long long)before.live_bytes,
	    (unsigned long long)after.live_bytes,
	    (unsigned long long)before.dead_bytes,
	    (unsigned long long)after.dead_bytes);
	CHECK_OK(test_expect(se, 4, 1, 100));
	CHECK_OK(test_expect(se, 1, 1, 100));
	CHECK_OK(test_expect(se, 2, 1, 100));
	CHECK_OK(test_expect(se, 3, 1, 100));
	store_engine_close(se);
	test_rmdir(dir);
}

static void
failed_write_leaves_no_partial_needle(void)
{
	char *dir = test_mkdir("writefail");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	const size_t len = 100;
	CHECK_OK(test_put(se, 1, 1, len));
	off_t good = file_size(dir);
	vio_fault_arm(VIO_WRITE, 1, ENOSPC);
	CHECK_RC(test_put(se, 2, 1, len), -ENOSPC);
	CHECK_MSG(file_size(dir) == good, "partial needle left");
	CHECK_RC(store_engine_exists(se, 2), 0);
	CHECK_OK(test_put(se, 2, 1, len));
	store_engine_close(se);
	test_rmdir(dir);
}

static void
failed_truncate_after_failed_fsync_makes_volume_read_only(void)
{
	char *dir = test_mkdir("rofail");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	const size_t len = 100;
	CHECK_OK(test_put(se, 1, 1, len));
	vio_fault_arm(VIO_SYNC, 1, EIO);
	vio_fault_arm(VIO_TRUNCATE, 1, EIO);
	CHECK_RC(test_put(se, 2, 1, len), -EIO);
	CHECK_RC(test_put(se, 3, 1, len), STORE_E_READONLY);
	CHECK_OK(test_expect(se, 1, 1, 100));  /* reads still work */
	CHECK_OK(test_reopen(&se, dir, NULL)); /* reopen recovers */
	CHECK_OK(test_expect(se, 1, 1, 100));
	CHECK_OK(test_put(se, 3, 1, len));
	store_engine_close(se);
	test_rmdir(dir);
}

static void
fsync_failure_under_concurrency_loses_no_acknowledged_put(void)
{
	char *dir = test_mkdir("gcfail");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	static struct gc_arg args[GC_THREADS];
	vio_fault_arm(VIO_SYNC, 4, EIO);
	run_writers(se, args);
	CHECK_OK(test_reopen(&se, dir, NULL));
	int acked = 0, failed = 0;
	for (int t = 0; t < GC_THREADS; t++)
		for (int i = 0; i < GC_PER_THREAD; i++) {
			uint64_t key = (uint64_t)t * 1000 + (uint64_t)i + 1;
			if (args[t].rc[i] == 0) {
				acked++;
				CHECK_OK(test_expect(se, key, 42, 4096));
			} else {
				failed++;
				CHECK_MSG(args[t].rc[i] == -EIO, "rc %d (%s)",
				    args[t].rc[i],
				    store_strerror(args[t].rc[i]));
				CHECK_RC(store_engine_exists(se, key), 0);
			}
		}
	printf("  %d acknowledged, %d failed with the injected EIO\n", acked,
	    failed);
	CHECK_MSG(failed > 0, "the fault never fired");
	store_engine_close(se);
	test_rmdir(dir);
}

/* on_sync: the group commits' fdatasyncs as the store's metrics see them. */
struct observed {
	long n;
	uint64_t ns;
};

static void
observe_sync(void *arg, uint64_t ns)
{
	struct observed *ob = arg;
	ob->n++;
	ob->ns += ns;
}

/* A multi-write's batch: 32 needles (one a resend, one a conflict) cost
 * one fdatasync, not 32, reported once to on_sync, and every acknowledged
 * one survives reopen. */
static void
put_many_shares_one_fdatasync(void)
{
	enum { N = 32, LEN = 4096 };
	char *dir = test_mkdir("many");
	struct store_engine *se;
	struct store_options o = test_opts(64 << 20);
	static struct observed ob;
	o.on_sync = observe_sync;
	o.on_sync_arg = &ob;
	CHECK_OK(store_engine_open(dir, &o, &se));
	static uint8_t bufs[N][LEN], sha[32];
	struct store_put puts[N];
	int rc[N];
	for (int i = 0; i < N; i++) {
		test_fill((uint64_t)i + 1, bufs[i], LEN);
		puts[i] = (struct store_put){ (uint64_t)i + 1, 7, bufs[i], LEN,
			sha };
	}
	CHECK_OK(store_engine_put(se, 1, 7, bufs[0], LEN)); /* a resend */
	CHECK_OK(store_engine_put(se, 2, 8, bufs[1], LEN)); /* a conflict */
	long syncs0 = vio_sync_count(), seen0 = ob.n;
	store_engine_put_many(se, puts + 2, N - 2, rc + 2);
	long syncs = vio_sync_count() - syncs0;
	CHECK_EQ(ob.n - seen0, 1);
	CHECK(ob.ns > 0);
	store_engine_put_many(se, puts, 2, rc);
	printf("  %d needles in one batch, %ld fdatasync(s)\n", N - 2, syncs);
	CHECK_EQ(syncs, 1);
	CHECK_OK(rc[0]);
	CHECK_RC(rc[1], STORE_E_EXISTS);
	for (int i = 2; i < N; i++)
		CHECK_OK(rc[i]);
	CHECK_OK(test_reopen(&se, dir, &o));
	for (int i = 2; i < N; i++)
		CHECK_OK(test_expect(se, (uint64_t)i + 1, 7, LEN));
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "group commit: 16 threads all acknowledged and readable "
		  "after reopen",
		    group_commit_16_threads_all_acknowledged_and_readable },
		{ "failed fsync truncates and acknowledges nothing",
		    failed_fsync_truncates_and_acknowledges_nothing },
		{ "failed write leaves no partial needle",
		    failed_write_leaves_no_partial_needle },
		{ "failed truncate after failed fsync makes volume read-only",
		    failed_truncate_after_failed_fsync_makes_volume_read_only },
		{ "fsync failure under concurrency loses no acknowledged put",
		    fsync_failure_under_concurrency_loses_no_acknowledged_put },
		{ "put_many: a batch of needles shares one fdatasync",
		    put_many_shares_one_fdatasync },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
