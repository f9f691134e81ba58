/* Compaction: space is reclaimed, deletes survive compaction and reopen
 * (even when the volume holding the delete records is compacted too), a
 * stale hint of the old generation is rejected, an interrupted compaction
 * leaves a usable store, and readers/writers/deleters run concurrently
 * with compaction without losing or resurrecting anything. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_testing.h"
#include "engine_testutil.h"
#include "vio.h"

#define NKEYS 120
#define PSIZE 1000

static struct store_options
small_opts(void)
{
	/* ~30 needles per volume */
	struct store_options o = test_opts(32 * 1024);
	o.sync_mode = STORE_SYNC_NONE;
	return o;
}

static void
fill_store(struct store_engine *se, uint64_t first, uint64_t n)
{
	for (uint64_t k = first; k < first + n; k++)
		CHECK_OK(test_put(se, k, (uint32_t)k, PSIZE));
}

static void
check_keys(struct store_engine *se, uint64_t n, int (*deleted)(uint64_t))
{
	uint8_t buf[PSIZE];
	for (uint64_t k = 1; k <= n; k++) {
		int want = deleted(k) ? STORE_E_NOT_FOUND : 0;
		CHECK_RC(test_expect(se, k, (uint32_t)k, PSIZE), want);
		if (deleted(k))
			CHECK_RC(store_engine_put(se, k, (uint32_t)k, buf,
				     PSIZE),
			    STORE_E_DELETED);
	}
}

static int
del_most_of_first_volumes(uint64_t k)
{
	return k <= 60 && k % 4 != 0;
}

static off_t
vol_size(const char *dir, int id)
{
	char name[64];
	struct stat st;
	snprintf(name, sizeof(name), "vol_%08d.dat", id);
	return stat(test_path(dir, name), &st) ? -1 : st.st_size;
}

static void
deletes_survive_compaction_and_reopen(void)
{
	char *dir = test_mkdir("cdel");
	struct store_engine *se;
	struct store_options o = small_opts();
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(fill_store(se, 1, NKEYS));
	for (uint64_t k = 1; k <= NKEYS; k++)
		if (del_most_of_first_volumes(k))
			CHECK_OK(store_engine_delete(se, k));
	/* push the delete records into sealed volumes */
	CHECK_CALL(fill_store(se, 1000, 40));
	off_t before = vol_size(dir, 1);
	int n = store_engine_compact_due(se);
	CHECK_MSG(n >= 2, "compacted %d volumes (%s)", n, store_strerror(n));
	CHECK_MSG(vol_size(dir, 1) < before / 2,
	    "volume 1 did not shrink: %lld -> %lld", (long long)before,
	    (long long)vol_size(dir, 1));
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	/* Compact every sealed volume, the delete records' too. */
	uint32_t active = store_engine_active_volume(se);
	for (uint32_t v = 1; v < active; v++)
		CHECK_OK(store_engine_compact(se, v));
	CHECK_RC(store_engine_compact(se, active), STORE_E_BUSY);
	CHECK_RC(store_engine_compact(se, 999), STORE_E_NOT_FOUND);
	/* hs_store_compactions_total: the ones done, not the refused */
	struct store_stats cs;
	store_engine_stats(se, &cs);
	CHECK_EQ(cs.compactions, (uint64_t)n + active - 1);
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	struct store_stats st;
	store_engine_stats(se, &st);
	CHECK_MSG(st.dead_bytes == 0, "dead bytes left: %llu",
	    (unsigned long long)st.dead_bytes);
	store_engine_close(se);
	test_rmdir(dir);
}

static void
stale_hint_of_old_generation_and_leftover_cpt_are_ignored(void)
{
	char *dir = test_mkdir("cgen");
	struct store_engine *se;
	struct store_options o = small_opts();
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(fill_store(se, 1, NKEYS));
	store_engine_close(se);
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "cp %s/vol_00000001.idx %s/old.idx", dir,
	    dir);
	CHECK_MSG(system(cmd) == 0, "save hint");
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 60; k++)
		if (del_most_of_first_volumes(k))
			CHECK_OK(store_engine_delete(se, k));
	CHECK_OK(store_engine_compact(se, 1));
	store_engine_close(se);
	/* Crash after the rename but before the new hint: old-gen hint back. */
	CHECK_MSG(rename(test_path(dir, "old.idx"),
		      test_path(dir, "vol_00000001.idx")) == 0,
	    "restore");
	/* And an interrupted later compaction left its temp file behind. */
	FILE *f = fopen(test_path(dir, "vol_00000002.cpt"), "w");
	fputs("half a volume", f);
	fclose(f);
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_MSG(access(test_path(dir, "vol_00000002.cpt"), F_OK) != 0,
	    ".cpt not removed");
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	store_engine_close(se);
	test_rmdir(dir);
}

struct conc {
	struct store_engine *se;
	atomic_int stop;
	atomic_int errors;
	atomic_long reads;
	uint64_t next_key; /* writer's keys */
};

static int
conc_deleted(uint64_t k)
{
	return k <= NKEYS && k % 3 == 0;
}

/* Deleted before the threads start, to give compaction dead space. */
static int
pre_deleted(uint64_t k)
{
	return k <= NKEYS && k % 3 == 1 && k % 2 == 0;
}

static void *
conc_reader(void *p)
{
	struct conc *c = p;
	uint64_t x = (uint64_t)(uintptr_t)&x;
	while (!atomic_load(&c->stop)) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t k = (x >> 33) % NKEYS + 1;
		if (conc_deleted(k) || pre_deleted(k))
			continue;
		int rc = test_expect(c->se, k, (uint32_t)k, PSIZE);
		if (rc) {
			fprintf(stderr, "  reader: key %llu: %s\n",
			    (unsigned long long)k, store_strerror(rc));
			atomic_fetch_add(&c->errors, 1);
		}
		atomic_fetch_add(&c->reads, 1);
	}
	return NULL;
}

static void *
conc_writer(void *p)
{
	struct conc *c = p;
	for (uint64_t k = 5000; k < 5200 && !atomic_load(&c->stop); k++) {
		int rc = test_put(c->se, k, (uint32_t)k, PSIZE);
		if (rc)
			atomic_fetch_add(&c->errors, 1);
	}
	return NULL;
}

static void *
conc_deleter(void *p)
{
	struct conc *c = p;
	for (uint64_t k = 3; k <= NKEYS; k += 3)
		if (store_engine_delete(c->se, k))
			atomic_fetch_add(&c->errors, 1);
	return NULL;
}

static void
compaction_with_concurrent_readers_writers_and_deleters(void)
{
	char *dir = test_mkdir("cconc");
	struct store_engine *se;
	struct store_options o = small_opts();
	o.sync_mode = STORE_SYNC_ALWAYS;
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(fill_store(se, 1, NKEYS));
	for (uint64_t k = 1; k <= NKEYS; k++)
		if (pre_deleted(k))
			CHECK_OK(store_engine_delete(se, k));
	static struct conc c;
	c.se = se;
	atomic_store(&c.stop, 0);
	pthread_t rd[4], wr, dl;
	for (int i = 0; i < 4; i++)
		pthread_create(&rd[i], NULL, conc_reader, &c);
	pthread_create(&wr, NULL, conc_writer, &c);
	pthread_create(&dl, NULL, conc_deleter, &c);
	for (int round = 0; round < 3; round++) {
		uint32_t active = store_engine_active_volume(se);
		for (uint32_t v = 1; v < active; v++)
			CHECK_OK(store_engine_compact(se, v));
	}
	pthread_join(dl, NULL);
	/* Once more, after all deletes too. */
	for (uint32_t v = 1; v < store_engine_active_volume(se); v++)
		CHECK_OK(store_engine_compact(se, v));
	atomic_store(&c.stop, 1);
	pthread_join(wr, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(rd[i], NULL);
	printf("  %ld concurrent reads\n", atomic_load(&c.reads));
	CHECK_MSG(atomic_load(&c.errors) == 0, "%d errors in threads",
	    atomic_load(&c.errors));
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t k = 1; k <= NKEYS; k++) {
			int gone = conc_deleted(k) || pre_deleted(k);
			CHECK_RC(test_expect(se, k, (uint32_t)k, PSIZE),
			    gone ? STORE_E_NOT_FOUND : 0);
		}
		for (uint64_t k = 5000; k < 5200; k++) {
			int rc = test_expect(se, k, (uint32_t)k, PSIZE);
			CHECK_MSG(rc == 0 || rc == STORE_E_NOT_FOUND,
			    "writer key: %s", store_strerror(rc));
		}
		CHECK_OK(test_reopen(&se, dir, &o));
	}
	store_engine_close(se);
	test_rmdir(dir);
}

static void
failed_fsync_of_compacted_file_keeps_the_old_volume(void)
{
	char *dir = test_mkdir("cfail");
	struct store_engine *se;
	struct store_options o = small_opts();
	o.sync_mode = STORE_SYNC_ALWAYS; /* sealed volumes fully synced */
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(fill_store(se, 1, NKEYS));
	for (uint64_t k = 1; k <= 60; k++)
		if (del_most_of_first_volumes(k))
			CHECK_OK(store_engine_delete(se, k));
	off_t before = vol_size(dir, 1);
	vio_fault_arm(VIO_SYNC, 1, EIO);
	CHECK_RC(store_engine_compact(se, 1), -EIO);
	CHECK_MSG(vol_size(dir, 1) == before, "old volume changed");
	CHECK_MSG(access(test_path(dir, "vol_00000001.cpt"), F_OK) != 0,
	    ".cpt left behind");
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	CHECK_OK(store_engine_compact(se, 1)); /* and a retry works */
	CHECK_MSG(vol_size(dir, 1) < before, "no space reclaimed");
	CHECK_CALL(check_keys(se, NKEYS, del_most_of_first_volumes));
	store_engine_close(se);
	test_rmdir(dir);
}

struct race {
	struct store_engine *se;
	int rc_del, rc_put, rc_get;
};

/* Runs between the copy and the swap of volume 1. */
static void
race_hook(void *p)
{
	struct race *r = p;
	r->rc_del = store_engine_delete(r->se, 8); /* copied as live */
	r->rc_put = test_put(r->se, 9000, 9000, PSIZE);
	r->rc_get = test_expect(r->se, 12, 12, PSIZE); /* read the old file */
}

static void
delete_between_copy_and_swap_is_carried_over(void)
{
	char *dir = test_mkdir("crace");
	struct store_engine *se;
	struct store_options o = small_opts();
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(fill_store(se, 1, NKEYS));
	for (uint64_t k = 1; k <= 60; k++)
		if (del_most_of_first_volumes(k))
			CHECK_OK(store_engine_delete(se, k));
	struct race r = { se, -1, -1, -1 };
	store_engine_testing_compact_hook(race_hook, &r);
	int rc = store_engine_compact(se, 1);
	store_engine_testing_compact_hook(NULL, NULL);
	CHECK_OK(rc);
	CHECK_OK(r.rc_del);
	CHECK_OK(r.rc_put);
	CHECK_OK(r.rc_get);
	for (int pass = 0; pass < 2; pass++) {
		CHECK_RC(test_expect(se, 8, 8, PSIZE), STORE_E_NOT_FOUND);
		CHECK_OK(test_expect(se, 12, 12, PSIZE));
		CHECK_OK(test_expect(se, 9000, 9000, PSIZE));
		uint64_t after = 7;
		struct store_needle_info info;
		size_t n;
		CHECK_OK(store_engine_list(se, &after, &info, 1, &n));
		CHECK_MSG(n == 1 && info.key == 8 &&
			(info.flags & STORE_NF_DELETED),
		    "key 8 listed as live");
		CHECK_OK(test_reopen(&se, dir, &o));
	}
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "deletes survive compaction and reopen",
		    deletes_survive_compaction_and_reopen },
		{ "stale hint of old generation and leftover .cpt are ignored",
		    stale_hint_of_old_generation_and_leftover_cpt_are_ignored },
		{ "delete between copy and swap is carried over",
		    delete_between_copy_and_swap_is_carried_over },
		{ "failed fsync of compacted file keeps the old volume",
		    failed_fsync_of_compacted_file_keeps_the_old_volume },
		{ "compaction with concurrent readers, writers and deleters",
		    compaction_with_concurrent_readers_writers_and_deleters },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
