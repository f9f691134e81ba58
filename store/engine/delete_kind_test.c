/* Why a needle went away, and what that allows afterwards: a trimmed or
 * orphaned key is stored again when repair sends it back, a deleted one
 * never is, across reopen and compaction; a resent delete is acknowledged
 * only once its record is durable, even after a roll-over; compaction
 * keeps the tombstone of a needle deleted by its flag alone and keeps
 * deleted bytes for the retention; a scrub racing a compaction never marks
 * a healthy needle bad; a delete on a disk too full for its record still
 * holds, across a reopen with hints. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_testutil.h"
#include "vio.h"

#define PSIZE 1000

static void
put_key(struct store_engine *se, uint64_t k)
{
	CHECK_OK(test_put(se, k, (uint32_t)k, PSIZE));
}

static int
put_rc(struct store_engine *se, uint64_t k, uint32_t cookie)
{
	return test_put(se, k, cookie, PSIZE);
}

/* User deletes held: key `unread` (deleted) reads NOT_FOUND, key `refused`
 * (deleted) is never stored again, and key `live` still reads back. */
static void
deletes_held(struct store_engine *se, uint64_t unread, uint64_t refused,
    uint64_t live)
{
	CHECK_RC(test_expect(se, unread, (uint32_t)unread, PSIZE),
	    STORE_E_NOT_FOUND);
	CHECK_RC(put_rc(se, refused, (uint32_t)refused), STORE_E_DELETED);
	CHECK_OK(test_expect(se, live, (uint32_t)live, PSIZE));
}

/* The listing's kind for a deleted key, or -1 when listed live/absent. */
static int
listed_kind(struct store_engine *se, uint64_t k)
{
	struct store_needle_info info;
	uint64_t after = k - 1;
	size_t n = 0;
	if (store_engine_list(se, &after, &info, 1, &n) || n != 1 ||
	    info.key != k || !(info.flags & STORE_NF_DELETED))
		return -1;
	return (int)info.delete_kind;
}

/* What store_engine_stat_deleted says of k: its kind when deleted (the
 * cookie checked against the one put_key gives), -1 when live or absent. */
static int
stat_kind(struct store_engine *se, uint64_t k)
{
	struct store_needle_info info;
	int rc = store_engine_stat_deleted(se, k, &info);
	if (rc == STORE_E_NOT_FOUND)
		return -1;
	CHECK_OK(rc);
	CHECK_EQ(info.cookie, (uint32_t)k);
	CHECK(info.flags & STORE_NF_DELETED);
	return (int)info.delete_kind;
}

static void
check_taken_back(struct store_engine *se)
{
	CHECK_RC(put_rc(se, 1, 99), STORE_E_EXISTS); /* another cookie */
	CHECK_OK(put_rc(se, 1, 1));
	CHECK_OK(test_expect(se, 1, 1, PSIZE));
	CHECK_OK(put_rc(se, 2, 2));
	CHECK_OK(test_expect(se, 2, 2, PSIZE));
	CHECK_RC(put_rc(se, 3, 3), STORE_E_DELETED);
	CHECK_RC(test_expect(se, 3, 3, PSIZE), STORE_E_NOT_FOUND);
	CHECK_RC(put_rc(se, 4, 4), STORE_E_DELETED);
}

static void
trim_then_put_accepted_delete_then_put_refused(void)
{
	char *dir = test_mkdir("kinds");
	struct store_options o = test_opts(8 * 1024);
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 4; k++)
		put_key(se, k);
	CHECK_OK(store_engine_delete_kind(se, 1, STORE_DEL_TRIM));
	CHECK_OK(store_engine_delete_kind(se, 2, STORE_DEL_ORPHAN));
	CHECK_OK(store_engine_delete(se, 3));
	/* A final delete of a trimmed key wins over the trim. */
	CHECK_OK(store_engine_delete_kind(se, 4, STORE_DEL_TRIM));
	CHECK_OK(store_engine_delete_kind(se, 4, STORE_DEL_DELETE));
	CHECK_OK(store_engine_delete_kind(se, 4, STORE_DEL_TRIM)); /* resend */
	CHECK_EQ(listed_kind(se, 1), STORE_DEL_TRIM);
	CHECK_EQ(listed_kind(se, 2), STORE_DEL_ORPHAN);
	CHECK_EQ(listed_kind(se, 3), STORE_DEL_DELETE);
	CHECK_EQ(listed_kind(se, 4), STORE_DEL_DELETE);
	/* The same from the index entry alone (the web face's 404 / 410). */
	CHECK_EQ(stat_kind(se, 1), STORE_DEL_TRIM);
	CHECK_EQ(stat_kind(se, 2), STORE_DEL_ORPHAN);
	CHECK_EQ(stat_kind(se, 3), STORE_DEL_DELETE);
	CHECK_EQ(stat_kind(se, 4), STORE_DEL_DELETE);
	CHECK_EQ(stat_kind(se, 5), -1); /* never written */
	put_key(se, 5);
	CHECK_EQ(stat_kind(se, 5), -1); /* live */
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_EQ(listed_kind(se, 1), STORE_DEL_TRIM);
	CHECK_EQ(stat_kind(se, 1), STORE_DEL_TRIM);
	check_taken_back(se);
	for (int round = 0; round < 2; round++) {
		/* Reopen, then roll over and compact everything sealed. */
		CHECK_OK(test_reopen(&se, dir, &o));
		CHECK_OK(test_expect(se, 1, 1, PSIZE));
		CHECK_OK(test_expect(se, 2, 2, PSIZE));
		CHECK_EQ(listed_kind(se, 3), STORE_DEL_DELETE);
		CHECK_RC(put_rc(se, 3, 3), STORE_E_DELETED);
		for (uint64_t k = 100; k < 110; k++)
			put_key(se, k);
		uint32_t act = store_engine_active_volume(se);
		for (uint32_t v = 1; v < act; v++)
			CHECK_OK(store_engine_compact(se, v));
	}
	/* Deleting a key that was taken back is final again. */
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_RC(put_rc(se, 1, 1), STORE_E_DELETED);
	store_engine_close(se);
	test_rmdir(dir);
}

/* Holds the first sync after arming until the resend returned (or a bound
 * passed), then fails it: the delete record in it is rolled back. */
struct held_sync {
	atomic_int armed, entered, resent;
};

static int
hold_sync(void *arg)
{
	struct held_sync *hs = arg;
	int one = 1;
	if (!atomic_compare_exchange_strong(&hs->armed, &one, 0))
		return 0;
	atomic_store(&hs->entered, 1);
	(void)CHECK_WAIT_UNTIL(atomic_load(&hs->resent), 1500);
	return -5; /* -EIO */
}

struct del_arg {
	struct store_engine *se;
	int rc;
};

static void *
delete_thread(void *p)
{
	struct del_arg *a = p;
	a->rc = store_engine_delete(a->se, 7);
	return NULL;
}

static void
resent_delete_waits_for_its_record_across_rollover(void)
{
	char *dir = test_mkdir("rollover");
	struct store_options o = test_opts(8 * 1024);
	struct store_engine *se;
	struct held_sync hs = { 0, 0, 0 };
	CHECK_OK(store_engine_open(dir, &o, &se));
	put_key(se, 7);
	CHECK_EQ(store_engine_active_volume(se), 1u);
	atomic_store(&hs.armed, 1);
	vio_sync_hook(hold_sync, &hs);
	struct del_arg a = { se, 0 };
	pthread_t t;
	pthread_create(&t, NULL, delete_thread, &a);
	CHECK(CHECK_WAIT_UNTIL(atomic_load(&hs.entered), 5000));
	/* Roll over while the first delete's sync is in flight. */
	CHECK_OK(test_put(se, 8, 8, 7500)); /* past the 8 KB volume */
	CHECK_EQ(store_engine_active_volume(se), 2u);
	int resend = store_engine_delete(se, 7);
	atomic_store(&hs.resent, 1);
	pthread_join(t, NULL);
	vio_sync_hook(NULL, NULL);
	CHECK_MSG(a.rc != 0, "the first delete's sync failed: not acked");
	CHECK_OK(test_reopen(&se, dir, &o));
	if (resend == 0) /* acknowledged: it must have been durable */
		CHECK_RC(test_expect(se, 7, 7, PSIZE), STORE_E_NOT_FOUND);
	CHECK_OK(store_engine_delete(se, 7));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_RC(test_expect(se, 7, 7, PSIZE), STORE_E_NOT_FOUND);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
poke(const char *dir, const char *name, uint64_t off, const void *b, size_t n)
{
	int fd = open(test_path(dir, name), O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, b, n, (off_t)off) == (ssize_t)n);
	close(fd);
}

static off_t
file_size(const char *dir, const char *name)
{
	struct stat st;
	return stat(test_path(dir, name), &st) ? -1 : st.st_size;
}

static void
compaction_keeps_tombstone_of_flag_only_delete(void)
{
	char *dir = test_mkdir("flagonly");
	struct store_options o = test_opts(8 * 1024);
	struct store_engine *se;
	struct store_needle_info info;
	CHECK_OK(store_engine_open(dir, &o, &se));
	put_key(se, 5);
	CHECK_OK(store_engine_stat(se, 5, &info));
	for (uint64_t k = 10; k < 20; k++)
		put_key(se, k);
	CHECK(store_engine_active_volume(se) > 1);
	store_engine_close(se);
	/* A delete whose record was lost, its in-place flag written. */
	uint8_t fl[2] = { 1, 0 };
	poke(dir, "vol_00000001.dat", info.offset + 16, fl, 2);
	unlink(test_path(dir, "vol_00000001.idx"));
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_RC(test_expect(se, 5, 5, PSIZE), STORE_E_NOT_FOUND);
	CHECK_OK(store_engine_compact(se, 1));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_RC(put_rc(se, 5, 5), STORE_E_DELETED);
	CHECK(listed_kind(se, 5) >= 0);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
compaction_honours_delete_retention(void)
{
	char *dir = test_mkdir("retention");
	struct store_options o = test_opts(8 * 1024);
	o.delete_retention_ms = 3600 * 1000;
	o.compaction_threshold = 0.9; /* vol 1 is due once 3 of 7 go */
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 7; k++)
		put_key(se, k);
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_OK(store_engine_delete_kind(se, 2, STORE_DEL_TRIM));
	CHECK_OK(store_engine_delete(se, 3));
	for (uint64_t k = 10; k < 20; k++)
		put_key(se, k);
	off_t before = file_size(dir, "vol_00000001.dat");
	CHECK_OK(store_engine_compact(se, 1));
	off_t kept = file_size(dir, "vol_00000001.dat");
	CHECK_MSG(kept >= before - 64,
	    "deleted needles reclaimed within "
	    "the retention: %lld -> %lld bytes",
	    (long long)before, (long long)kept);
	CHECK_RC(test_expect(se, 1, 1, PSIZE), STORE_E_NOT_FOUND);
	CHECK_EQ(listed_kind(se, 2), STORE_DEL_TRIM);
	/* Nothing to gain until the retention ends: not compacted again. */
	CHECK_RC(store_engine_compact_due(se), 0);
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_CALL(deletes_held(se, 3, 1, 4));
	store_engine_close(se);
	o.delete_retention_ms = 0; /* past the retention */
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_OK(store_engine_compact(se, 1));
	off_t after = file_size(dir, "vol_00000001.dat");
	CHECK_MSG(after < kept - 3 * PSIZE, "%lld -> %lld bytes",
	    (long long)kept, (long long)after);
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_RC(put_rc(se, 1, 1), STORE_E_DELETED);
	CHECK_RC(put_rc(se, 3, 3), STORE_E_DELETED);
	CHECK_EQ(listed_kind(se, 2), STORE_DEL_TRIM);
	CHECK_OK(put_rc(se, 2, 2));
	for (uint64_t k = 4; k <= 7; k++)
		CHECK_OK(test_expect(se, k, (uint32_t)k, PSIZE));
	store_engine_close(se);
	test_rmdir(dir);
}

struct scrub_race {
	struct store_engine *se;
	int compacted, reports_after;
};

static void
scrub_cb(void *arg, uint32_t volume, uint64_t offset, uint64_t key, int err)
{
	struct scrub_race *r = arg;
	(void)volume, (void)offset, (void)key, (void)err;
	if (r->compacted) {
		r->reports_after++;
		return;
	}
	/* The swap lands in the middle of the scrub's pass over the file. */
	r->compacted = 1;
	CHECK_OK(store_engine_compact(r->se, 1));
}

static void
scrub_during_compaction_reports_no_healthy_needle(void)
{
	char *dir = test_mkdir("scrubrace");
	struct store_options o = test_opts(8 * 1024);
	struct store_engine *se;
	struct store_needle_info d1, d2;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 6; k++)
		put_key(se, k);
	CHECK_OK(store_engine_stat(se, 1, &d1));
	CHECK_OK(store_engine_stat(se, 2, &d2));
	for (uint64_t k = 10; k < 20; k++)
		put_key(se, k);
	CHECK(store_engine_active_volume(se) > 1);
	/* Two damaged needles that are deleted: compaction drops them, and
	 * healthy needles move to their offsets. */
	uint8_t junk[8] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };
	poke(dir, "vol_00000001.dat", d1.offset + 40, junk, 8);
	poke(dir, "vol_00000001.dat", d2.offset + 40, junk, 8);
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_OK(store_engine_delete(se, 2));
	struct scrub_race r = { se, 0, 0 };
	CHECK(store_engine_scrub_step(se, 1000, scrub_cb, &r) > 0);
	CHECK(r.compacted);
	CHECK_EQ(r.reports_after, 0);
	for (uint64_t k = 3; k <= 6; k++)
		CHECK_OK(test_expect(se, k, (uint32_t)k, PSIZE));
	for (uint64_t k = 10; k < 20; k++)
		CHECK_OK(test_expect(se, k, (uint32_t)k, PSIZE));
	store_engine_close(se);
	test_rmdir(dir);
}

/* A store whose disk is full must still take a user's delete: the soak
 * found a full store serving deleted photos for the rest of its run
 * (every delete record failed with ENOSPC). A trim or an orphan removal
 * is refused instead: it can wait for room. */
static void
delete_on_a_full_disk_still_holds(void)
{
	char *dir = test_mkdir("fulldel");
	struct store_engine *se;
	struct store_options o = test_opts(0);
	CHECK_OK(store_engine_open(dir, &o, &se));
	put_key(se, 1);
	put_key(se, 2);
	vio_fault_arm(VIO_WRITE, 1, ENOSPC);
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_RC(test_expect(se, 1, 1, PSIZE), STORE_E_NOT_FOUND);
	CHECK_EQ(stat_kind(se, 1), STORE_DEL_UNKNOWN); /* its flag alone */
	vio_fault_arm(VIO_WRITE, 1, ENOSPC);
	CHECK_RC(store_engine_delete_kind(se, 2, STORE_DEL_TRIM), -ENOSPC);
	CHECK_OK(test_expect(se, 2, 2, PSIZE));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_CALL(deletes_held(se, 1, 1, 2));
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "trim then put accepted, delete then put refused",
		    trim_then_put_accepted_delete_then_put_refused },
		{ "resent delete waits for its record across a roll-over",
		    resent_delete_waits_for_its_record_across_rollover },
		{ "compaction keeps the tombstone of a flag-only delete",
		    compaction_keeps_tombstone_of_flag_only_delete },
		{ "compaction honours DELETE_RETENTION",
		    compaction_honours_delete_retention },
		{ "delete on a full disk still holds",
		    delete_on_a_full_disk_still_holds },
		{ "scrub during compaction reports no healthy needle",
		    scrub_during_compaction_reports_no_healthy_needle },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
