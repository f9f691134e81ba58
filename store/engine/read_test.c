/* One read: a needle of any size reads back whole, with its SHA-256 and
 * write time, from the offset and length the in-memory index keeps: right
 * after the put, after a restart from hints, after a full rescan and after
 * compaction moved it (lengths around the index's 16-bit limit and needles
 * of 1 MiB and 64 MiB included); a corrupted byte anywhere in a needle is
 * DATA_LOSS, remembered and counted once, with no byte handed out. */
#include <fcntl.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine_testutil.h"
#include "needle.h"

/* Photo sizes: the small ones, the last lengths the index keeps in 16
 * bits (a v2 needle of 524,200 bytes spans 0xfffe 8-byte units, 524,208
 * 0xffff, 524,216 0x10000) and long ones kept in its side table. */
static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 65536, 524200, 524208,
	524216, 1u << 20, 64u << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define BIG_KEY 1000 /* a 16 MiB needle that rolls volume 1 over */

/* Reads key whole and checks every field against test_fill(key, len). */
static void
expect_read(struct store_engine *se, uint64_t key, size_t len, int64_t t0,
    int64_t t1)
{
	struct store_read r;
	uint8_t *want = malloc(len + 1), sha[SHA256_DIGEST_LENGTH];
	test_fill(key, want, len);
	SHA256(want, len, sha);
	CHECK_OK(store_engine_read(se, key, (uint32_t)key, &r));
	CHECK_MSG(r.len == len && r.data && !memcmp(r.data, want, len),
	    "key %llu: %zu bytes back, want %zu", (unsigned long long)key,
	    r.len, len);
	CHECK_MSG(r.has_sha256 && !memcmp(r.sha256, sha, sizeof(sha)),
	    "key %llu: SHA-256", (unsigned long long)key);
	CHECK_MSG(r.written_ms >= t0 && r.written_ms <= t1,
	    "key %llu: written %lld, puts in [%lld, %lld]",
	    (unsigned long long)key, (long long)r.written_ms, (long long)t0,
	    (long long)t1);
	store_read_free(&r);
	free(want);
}

static void
expect_all(struct store_engine *se, int64_t t0, int64_t t1)
{
	for (size_t i = 0; i < NSIZES; i++)
		CHECK_CALL(expect_read(se, i + 1, sizes[i], t0, t1));
	CHECK_CALL(expect_read(se, BIG_KEY, 16u << 20, t0, t1));
}

static void
put_one(struct store_engine *se, uint64_t key, size_t len)
{
	CHECK_OK(test_put(se, key, (uint32_t)key, len));
}

/* The copying read: exact room, one byte short, wrong cookie. */
static void
expect_get(struct store_engine *se, uint64_t key, size_t len)
{
	uint8_t *buf = malloc(len + 1), *want = malloc(len + 1);
	size_t got = 0;
	test_fill(key, want, len);
	CHECK_OK(store_engine_get(se, key, (uint32_t)key, buf, len, &got));
	CHECK_MSG(got == len && !memcmp(buf, want, len), "get %llu",
	    (unsigned long long)key);
	if (len) {
		CHECK_RC(store_engine_get(se, key, (uint32_t)key, buf, len - 1,
			     &got),
		    STORE_E_TOO_SMALL);
		CHECK_EQ(got, len);
	}
	CHECK_RC(store_engine_get(se, key, (uint32_t)key + 1, buf, len, &got),
	    STORE_E_NOT_FOUND);
	free(buf);
	free(want);
}

static void
reopen(struct store_engine **se, const char *dir, const struct store_options *o)
{
	store_engine_close(*se);
	CHECK_OK(store_engine_open(dir, o, se));
}

static void
every_size_reads_back_through_restart_and_compaction(void)
{
	char *dir = test_mkdir("sizes");
	struct store_options o = test_opts(80u << 20);
	struct store_engine *se;
	struct store_needle_info before, after;
	o.sync_mode = STORE_SYNC_NONE;
	o.delete_retention_ms = 0;
	CHECK_OK(store_engine_open(dir, &o, &se));
	int64_t t0 = rt_now_ms();
	/* Deleted and compacted away below, so every needle then moves. */
	CHECK_CALL(put_one(se, 500, 4096));
	for (size_t i = 0; i < NSIZES; i++)
		CHECK_CALL(put_one(se, i + 1, sizes[i]));
	CHECK_CALL(put_one(se, BIG_KEY, 16u << 20));
	int64_t t1 = rt_now_ms();
	CHECK_EQ(store_engine_active_volume(se), 2u);
	CHECK_CALL(expect_all(se, t0, t1));
	for (size_t i = 0; i < NSIZES - 1; i++)
		CHECK_CALL(expect_get(se, i + 1, sizes[i]));
	CHECK_OK(store_engine_delete(se, 500));
	CHECK_RC(store_engine_get(se, 500, 500, NULL, 0, &(size_t){ 0 }),
	    STORE_E_NOT_FOUND);

	CHECK_CALL(reopen(&se, dir, &o)); /* from the hints */
	CHECK_CALL(expect_all(se, t0, t1));
	store_engine_close(se);
	unlink(test_path(dir, "vol_00000001.idx"));
	unlink(test_path(dir, "vol_00000002.idx"));
	CHECK_OK(store_engine_open(dir, &o, &se)); /* a full rescan */
	CHECK_CALL(expect_all(se, t0, t1));

	CHECK_OK(store_engine_stat(se, NSIZES, &before));
	CHECK_OK(store_engine_compact(se, 1));
	CHECK_OK(store_engine_stat(se, NSIZES, &after));
	CHECK_MSG(after.offset < before.offset, "compaction moved nothing");
	CHECK_CALL(expect_all(se, t0, t1));
	CHECK_CALL(reopen(&se, dir, &o));
	CHECK_CALL(expect_all(se, t0, t1));
	store_engine_close(se);
	test_rmdir(dir);
}

static int
flip_byte(const char *path, uint64_t off)
{
	uint8_t c;
	int fd = open(path, O_RDWR);
	int ok = fd >= 0 && pread(fd, &c, 1, (off_t)off) == 1;
	c ^= 0x20;
	ok = ok && pwrite(fd, &c, 1, (off_t)off) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Where in a needle of len bytes to damage it, per key. */
static uint64_t
damage_at(uint64_t key, size_t len)
{
	switch (key) {
	case 1: /* an empty photo: its SHA-256, inside the CRC */
		return NEEDLE_HDR_SIZE + 5;
	case 2: /* the header's key */
		return 9;
	case 3: /* the footer's CRC */
		return NEEDLE_HDR_SIZE + len + NEEDLE_EXT_SIZE + 5;
	default: /* the photo, last byte (key 4) or middle (long, key 5) */
		return NEEDLE_HDR_SIZE + (key == 4 ? len - 1 : len / 2);
	}
}

static void
expect_loss(struct store_engine *se, uint64_t key, size_t len)
{
	struct store_read r;
	uint8_t *buf = malloc(len + 1);
	size_t got;
	memset(&r, 0xAA, sizeof(r));
	CHECK_RC(store_engine_read(se, key, (uint32_t)key, &r),
	    STORE_E_DATA_LOSS);
	CHECK_MSG(!r.buf && !r.data && r.len == 0, "key %llu: bytes out",
	    (unsigned long long)key);
	memset(buf, 0xAA, len + 1);
	CHECK_RC(store_engine_get(se, key, (uint32_t)key, buf, len, &got),
	    STORE_E_DATA_LOSS);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != 0 && buf[i] != 0xAA) {
			CHECK_MSG(0, "key %llu: bad bytes leaked at %zu",
			    (unsigned long long)key, i);
			break;
		}
	free(buf);
}

static void
a_damaged_byte_anywhere_is_data_loss_counted_once(void)
{
	static const size_t lens[] = { 0, 100, 4096, 4097, 1u << 20 };
	char *dir = test_mkdir("damage");
	struct store_options o = test_opts(0);
	struct store_engine *se;
	struct store_stats st;
	o.sync_mode = STORE_SYNC_NONE;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 5; k++)
		CHECK_CALL(put_one(se, k, lens[k - 1]));
	CHECK_CALL(put_one(se, 6, 4096));
	for (uint64_t k = 1; k <= 5; k++) {
		struct store_needle_info info;
		CHECK_OK(store_engine_stat(se, k, &info));
		CHECK_MSG(flip_byte(test_path(dir, "vol_00000001.dat"),
			      info.offset + damage_at(k, lens[k - 1])) == 0,
		    "flip");
		CHECK_CALL(expect_loss(se, k, lens[k - 1]));
		CHECK_CALL(expect_loss(se, k, lens[k - 1])); /* again */
		store_engine_stats(se, &st);
		CHECK_MSG(st.bad_needles == k, "after key %llu: %llu bad",
		    (unsigned long long)k, (unsigned long long)st.bad_needles);
	}
	CHECK_OK(test_expect(se, 6, 6, 4096));
	/* A fresh copy of the same bytes replaces a bad one. */
	CHECK_CALL(put_one(se, 5, lens[4]));
	CHECK_OK(test_expect(se, 5, 5, lens[4]));
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "every size reads back through restart and compaction",
		    every_size_reads_back_through_restart_and_compaction },
		{ "a damaged byte anywhere is DATA_LOSS, counted once",
		    a_damaged_byte_anywhere_is_data_loss_counted_once },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
