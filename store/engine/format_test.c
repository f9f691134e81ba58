/* The on-disk formats: new volumes are version 2, whose needles carry
 * their write time and SHA-256 and whose delete records carry their kind,
 * through reopen (with and without hints) and compaction; a version 1
 * volume, written here byte by byte as docs/store-format.md describes it,
 * still opens, reads, takes appends and compacts, and is listed with no
 * SHA-256 and an unknown delete kind. */
#include <fcntl.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"
#include "engine_testutil.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reads len bytes at off of a file in dir into buf. */
static void
peek(const char *dir, const char *name, uint64_t off, void *buf, size_t len)
{
	int fd = open(test_path(dir, name), O_RDONLY);
	CHECK(fd >= 0);
	CHECK(pread(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static int
list_one(struct store_engine *se, uint64_t k, struct store_needle_info *info)
{
	uint64_t after = k - 1;
	size_t n = 0;
	return store_engine_list(se, &after, info, 1, &n) == 0 && n == 1 &&
	    info->key == k;
}

static void
check_v2_listing(struct store_engine *se, const uint8_t sha[32], int64_t t0,
    int64_t t1)
{
	struct store_needle_info info;
	CHECK(list_one(se, 1, &info));
	CHECK(info.has_sha256 && memcmp(info.sha256, sha, 32) == 0);
	CHECK_MSG(info.written_ms >= t0 && info.written_ms <= t1,
	    "written_ms %lld not in [%lld, %lld]", (long long)info.written_ms,
	    (long long)t0, (long long)t1);
	CHECK_EQ(info.size, 3000u);
	CHECK(list_one(se, 2, &info));
	CHECK((info.flags & STORE_NF_DELETED) &&
	    info.delete_kind == STORE_DEL_TRIM);
	CHECK(info.written_ms >= t0 && !info.has_sha256);
	CHECK_OK(test_expect(se, 1, 1, 3000));
}

static void
v2_needles_describe_themselves(void)
{
	char *dir = test_mkdir("v2");
	struct store_options o = test_opts(16 * 1024);
	struct store_engine *se;
	uint8_t buf[3000], sha[32], sb[8], hdr[24], ext[40];
	test_fill(1, buf, sizeof(buf));
	SHA256(buf, sizeof(buf), sha);
	int64_t t0 = rt_now_ms();
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_OK(store_engine_put(se, 1, 1, buf, sizeof(buf)));
	CHECK_OK(test_put(se, 2, 2, sizeof(buf)));
	CHECK_OK(store_engine_delete_kind(se, 2, STORE_DEL_TRIM));
	int64_t t1 = rt_now_ms();
	CHECK_CALL(check_v2_listing(se, sha, t0, t1));
	struct store_needle_info info;
	CHECK_OK(store_engine_stat(se, 1, &info));
	store_engine_close(se);
	/* The raw file, as docs/store-format.md says. */
	peek(dir, "vol_00000001.dat", 0, sb, sizeof(sb));
	CHECK_EQ(sb[4], 2);
	peek(dir, "vol_00000001.dat", info.offset, hdr, sizeof(hdr));
	CHECK_EQ(hdr[20] | hdr[21] << 8, 3000 + 40);
	peek(dir, "vol_00000001.dat", info.offset + 24 + 3000, ext,
	    sizeof(ext));
	CHECK((int64_t)get64(ext) >= t0 && (int64_t)get64(ext) <= t1);
	CHECK(memcmp(ext + 8, sha, 32) == 0);
	for (int round = 0; round < 3; round++) {
		if (round == 1) /* no hints: a full scan */
			unlink(test_path(dir, "vol_00000001.idx"));
		CHECK_OK(store_engine_open(dir, &o, &se));
		if (round == 2) { /* roll over, compact the v2 volume */
			for (uint64_t k = 10; k < 16; k++)
				CHECK_OK(test_put(se, k, 1, sizeof(buf)));
			CHECK_OK(store_engine_compact(se, 1));
			t1 = rt_now_ms();
		}
		CHECK_CALL(check_v2_listing(se, sha, t0, t1));
		store_engine_close(se);
	}
	test_rmdir(dir);
}

/* Appends a v1 needle (header, data, footer, padding) at *off. */
static void
v1_needle(uint8_t *vol, size_t *off, uint64_t key, uint32_t cookie,
    uint16_t flags, const void *data, uint32_t size)
{
	uint8_t *p = vol + *off;
	put32(p, 0x4C444E48u);
	put32(p + 4, cookie);
	put64(p + 8, key);
	put16(p + 16, flags);
	put16(p + 18, 0);
	put32(p + 20, size);
	memcpy(p + 24, data, size);
	put32(p + 24 + size, 0x4C544E46u);
	put32(p + 28 + size, crc32c(0, data, size));
	*off += (24 + size + 8 + 7) & ~(size_t)7;
}

/* vol_00000001.dat in format 1: key 11 live, key 12 deleted (its needle
 * flagged, a delete record with a zero kind after it). */
static void
write_v1_volume(const char *dir, uint8_t d11[500], uint8_t d12[300])
{
	static uint8_t vol[4096];
	size_t off = 64;
	memset(vol, 0, sizeof(vol));
	put32(vol, 0x42565348u);
	put16(vol + 4, 1);
	put32(vol + 8, 1);
	put64(vol + 16, 1700000000000000000ull);
	put32(vol + 60, crc32c(0, vol, 60));
	test_fill(11, d11, 500);
	test_fill(12, d12, 300);
	v1_needle(vol, &off, 11, 11, 0, d11, 500);
	uint32_t off12 = (uint32_t)off / 8;
	v1_needle(vol, &off, 12, 12, 1, d12, 300);
	uint8_t del[16];
	memset(del, 0, sizeof(del));
	put32(del, 1);
	put32(del + 4, off12);
	put32(del + 8, 300);
	v1_needle(vol, &off, 12, 12, 2, del, 16);
	int fd = open(test_path(dir, "vol_00000001.dat"),
	    O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, vol, off) == (ssize_t)off);
	close(fd);
}

static void
check_v1_reads(struct store_engine *se)
{
	struct store_needle_info info;
	struct store_read r;
	uint8_t want[500];
	CHECK_OK(test_expect(se, 11, 11, 500));
	/* One read of a v1 needle: no extension, so no SHA-256 or time. */
	test_fill(11, want, sizeof(want));
	CHECK_OK(store_engine_read(se, 11, 11, &r));
	CHECK(r.len == 500 && !memcmp(r.data, want, 500) && !r.has_sha256 &&
	    r.written_ms == 0);
	store_read_free(&r);
	CHECK_RC(test_expect(se, 12, 12, 300), STORE_E_NOT_FOUND);
	CHECK_OK(test_expect(se, 13, 13, 700));
	uint8_t buf[300];
	test_fill(12, buf, sizeof(buf));
	CHECK_RC(store_engine_put(se, 12, 12, buf, sizeof(buf)),
	    STORE_E_DELETED);
	CHECK(list_one(se, 11, &info));
	CHECK(!info.has_sha256 && info.size == 500 && info.written_ms > 0);
	CHECK(list_one(se, 12, &info));
	CHECK((info.flags & STORE_NF_DELETED) &&
	    info.delete_kind == STORE_DEL_UNKNOWN);
}

static void
v1_volume_still_opens_and_reads(void)
{
	char *dir = test_mkdir("v1");
	struct store_options o = test_opts(8 * 1024);
	struct store_engine *se;
	uint8_t d11[500], d12[300], sb[8];
	const size_t big = 7000; /* rolls volume 1 (8 KB) over */
	CHECK_CALL(write_v1_volume(dir, d11, d12));
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_OK(test_expect(se, 11, 11, 500));
	/* An append to the v1 active volume is a v1 needle. */
	CHECK_OK(test_put(se, 13, 13, 700));
	CHECK_CALL(check_v1_reads(se));
	CHECK_OK(test_reopen(&se, dir, &o));
	CHECK_CALL(check_v1_reads(se));
	/* The next volume is a v2 one; the v1 one compacts as v1. */
	CHECK_OK(test_put(se, 14, 14, big));
	CHECK_EQ(store_engine_active_volume(se), 2u);
	CHECK_OK(store_engine_compact(se, 1));
	CHECK_CALL(check_v1_reads(se));
	store_engine_close(se);
	peek(dir, "vol_00000001.dat", 0, sb, sizeof(sb));
	CHECK_EQ(sb[4], 1);
	peek(dir, "vol_00000002.dat", 0, sb, sizeof(sb));
	CHECK_EQ(sb[4], 2);
	CHECK_OK(store_engine_open(dir, &o, &se));
	CHECK_CALL(check_v1_reads(se));
	CHECK_OK(test_expect(se, 14, 14, big));
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "v2 needles describe themselves",
		    v2_needles_describe_themselves },
		{ "v1 volume still opens and reads",
		    v1_volume_still_opens_and_reads },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
