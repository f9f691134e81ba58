/* Crash and damage recovery: a torn tail cut at every byte of the last
 * needle, index hints missing / stale / corrupt / foreign, bit rot in the
 * data (DATA_LOSS on read, found by scrub, never truncated away). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_testutil.h"
#include "needle.h"

static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return NULL;
	uint8_t *b = malloc((size_t)st.st_size + 1);
	*len = (size_t)pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	return b;
}

static int
spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int ok = write(fd, b, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static int
flip_byte(const char *path, off_t off)
{
	uint8_t c;
	int fd = open(path, O_RDWR);
	int ok = fd >= 0 && pread(fd, &c, 1, off) == 1;
	c ^= 0x20;
	ok = ok && pwrite(fd, &c, 1, off) == 1;
	close(fd);
	return ok ? 0 : -1;
}

#define VOL1 "vol_00000001.dat"
#define IDX1 "vol_00000001.idx"

static void
torn_tail_at_every_byte_of_last_needle(void)
{
	char *dir = test_mkdir("torn");
	struct store_engine *se;
	struct store_options o = test_opts(0);
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 3; k++)
		CHECK_OK(test_put(se, k, 7, k * 100));
	store_engine_close(se);
	size_t dlen, ilen;
	uint8_t *dat = slurp(test_path(dir, VOL1), &dlen);
	uint8_t *idx = slurp(test_path(dir, IDX1), &ilen);
	size_t last = dlen - (size_t)needle_total_size(300);
	for (int with_hints = 0; with_hints < 2; with_hints++) {
		for (size_t cut = last; cut < dlen; cut++) {
			CHECK_MSG(spit(test_path(dir, VOL1), dat, cut) == 0,
			    "write");
			if (with_hints)
				CHECK_MSG(spit(test_path(dir, IDX1), idx,
					      ilen) == 0,
				    "hint");
			else
				unlink(test_path(dir, IDX1));
			CHECK_OK(store_engine_open(dir, &o, &se));
			CHECK_OK(test_expect(se, 1, 7, 100));
			CHECK_OK(test_expect(se, 2, 7, 200));
			CHECK_RC(test_expect(se, 3, 7, 300), STORE_E_NOT_FOUND);
			CHECK_OK(test_put(se, 4, 7, 50));
			store_engine_close(se);
			struct stat st;
			stat(test_path(dir, VOL1), &st);
			CHECK_MSG((size_t)st.st_size ==
				last + needle_total_size(50),
			    "cut %zu: torn bytes left behind (size %lld)", cut,
			    (long long)st.st_size);
			CHECK_OK(store_engine_open(dir, &o, &se));
			CHECK_OK(test_expect(se, 4, 7, 50));
			CHECK_OK(test_expect(se, 2, 7, 200));
			store_engine_close(se);
		}
	}
	free(dat);
	free(idx);
	test_rmdir(dir);
}

static int
append_bytes(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	int ok = fd >= 0 && write(fd, b, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static void
unsynced_tail_garbage_or_missing_data_is_dropped(void)
{
	char *dir = test_mkdir("garbtail");
	struct store_engine *se;
	uint8_t buf[512];
	CHECK_OK(store_engine_open(dir, NULL, &se));
	CHECK_OK(test_put(se, 1, 1, 200));
	store_engine_close(se);
	struct stat st;
	stat(test_path(dir, VOL1), &st);
	off_t good = st.st_size;
	for (int variant = 0; variant < 3; variant++) {
		size_t n = 0;
		if (variant == 0) { /* random bytes where a needle was going */
			test_fill(99, buf, sizeof(buf));
			n = 300;
		} else { /* header + footer on disk, data pages never written */
			struct needle_hdr h = { 1, 2, 0, 64 };
			memset(buf, 0, sizeof(buf));
			needle_hdr_encode(buf, &h);
			needle_ftr_encode(buf + NEEDLE_HDR_SIZE + 64, 64,
			    0x12345678);
			n = (size_t)needle_total_size(64);
			if (variant == 2) /* and the hint already names it */
				unlink(test_path(dir, IDX1));
		}
		CHECK_MSG(append_bytes(test_path(dir, VOL1), buf, n) == 0,
		    "append");
		CHECK_OK(store_engine_open(dir, NULL, &se));
		CHECK_OK(test_expect(se, 1, 1, 200));
		CHECK_RC(store_engine_exists(se, 2), 0);
		store_engine_close(se);
		stat(test_path(dir, VOL1), &st);
		CHECK_MSG(st.st_size == good,
		    "variant %d: tail kept (%lld vs %lld)", variant,
		    (long long)st.st_size, (long long)good);
	}
	test_rmdir(dir);
}

/* 20 needles, 2 deleted; *early gets the hint file as it was after 10. */
static void
hint_fixture(char *dir, uint8_t **early, size_t *elen)
{
	struct store_engine *se;
	struct store_options o = test_opts(0);
	o.sync_mode = STORE_SYNC_NONE;
	CHECK_OK(store_engine_open(dir, &o, &se));
	for (uint64_t k = 1; k <= 20; k++) {
		CHECK_OK(test_put(se, k, 3, k * 40));
		if (k == 10)
			*early = slurp(test_path(dir, IDX1), elen);
	}
	CHECK_OK(store_engine_delete(se, 5));
	CHECK_OK(store_engine_delete(se, 15));
	store_engine_close(se);
}

static void
all_needles_readable(const char *dir)
{
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	for (uint64_t k = 1; k <= 20; k++)
		CHECK_RC(test_expect(se, k, 3, k * 40),
		    (k == 5 || k == 15) ? STORE_E_NOT_FOUND : 0);
	struct store_stats st;
	store_engine_stats(se, &st);
	CHECK_MSG(st.needles == 18 && st.deleted == 2,
	    "needles %llu deleted %llu", (unsigned long long)st.needles,
	    (unsigned long long)st.deleted);
	store_engine_close(se);
}

static void
index_hint_missing_is_rebuilt(void)
{
	char *dir = test_mkdir("hmiss");
	uint8_t *early = NULL;
	size_t elen;
	CHECK_CALL(hint_fixture(dir, &early, &elen));
	CHECK_MSG(unlink(test_path(dir, IDX1)) == 0, "unlink");
	CHECK_CALL(all_needles_readable(dir));
	CHECK_MSG(access(test_path(dir, IDX1), F_OK) == 0, "hint not rebuilt");
	CHECK_CALL(all_needles_readable(dir)); /* from the rebuilt hint */
	free(early);
	test_rmdir(dir);
}

static void
index_hint_stale_older_than_volume_is_extended_by_scan(void)
{
	char *dir = test_mkdir("hstale");
	uint8_t *early = NULL;
	size_t elen;
	CHECK_CALL(hint_fixture(dir, &early, &elen));
	CHECK_MSG(spit(test_path(dir, IDX1), early, elen) == 0,
	    "restore old hint");
	CHECK_CALL(all_needles_readable(dir));
	free(early);
	test_rmdir(dir);
}

static void
index_hint_with_garbage_bytes_is_rebuilt(void)
{
	char *dir = test_mkdir("hgarb");
	uint8_t *early = NULL;
	size_t len;
	CHECK_CALL(hint_fixture(dir, &early, &len));
	uint8_t *h = slurp(test_path(dir, IDX1), &len);
	for (size_t i = 100; i < 160 && i < len; i++)
		h[i] = (uint8_t)(i * 37);
	CHECK_MSG(spit(test_path(dir, IDX1), h, len) == 0, "garble");
	CHECK_CALL(all_needles_readable(dir));
	/* Records with good CRCs that name the wrong needles (keys swapped). */
	free(h);
	h = slurp(test_path(dir, IDX1), &len);
	struct hint_rec a, b;
	uint8_t *ra = h + HINT_HDR_SIZE + 2 * HINT_REC_SIZE,
		*rb = ra + HINT_REC_SIZE;
	CHECK_MSG(hint_rec_decode(ra, &a) == 0 && hint_rec_decode(rb, &b) == 0,
	    "decode");
	uint64_t t = a.key;
	a.key = b.key;
	b.key = t;
	hint_rec_encode(ra, &a);
	hint_rec_encode(rb, &b);
	CHECK_MSG(spit(test_path(dir, IDX1), h, len) == 0, "swap keys");
	CHECK_CALL(all_needles_readable(dir)); /* header check catches it */
	free(h);
	free(early);
	test_rmdir(dir);
}

static void
index_hint_from_another_volume_is_rejected(void)
{
	char *dir = test_mkdir("hforeign"), *other = test_mkdir("hother");
	uint8_t *early = NULL, *foreign;
	size_t elen, flen;
	CHECK_CALL(hint_fixture(dir, &early, &elen));
	struct store_engine *se;
	CHECK_OK(store_engine_open(other, NULL, &se));
	CHECK_OK(store_engine_put(se, 77, 1, "x", 1));
	store_engine_close(se);
	foreign = slurp(test_path(other, IDX1), &flen);
	CHECK_MSG(spit(test_path(dir, IDX1), foreign, flen) == 0, "swap hint");
	CHECK_CALL(all_needles_readable(dir));
	CHECK_OK(store_engine_open(dir, NULL, &se));
	CHECK_RC(store_engine_exists(se, 77), 0);
	store_engine_close(se);
	free(early);
	free(foreign);
	test_rmdir(dir);
	test_rmdir(other);
}

struct scrub_seen {
	int n;
	uint64_t key;
};

static void
scrub_cb(void *arg, uint32_t vol, uint64_t off, uint64_t key, int err)
{
	struct scrub_seen *s = arg;
	(void)vol;
	(void)off;
	(void)err;
	s->n++;
	s->key = key;
}

static void
bit_flip_in_data_is_data_loss_and_found_by_scrub(void)
{
	char *dir = test_mkdir("flip");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	uint8_t buf[500];
	for (uint64_t k = 1; k <= 5; k++)
		CHECK_OK(test_put(se, k, 1, sizeof(buf)));
	store_engine_close(se);
	/* Flip a data byte of needle 3 (needles are equal-sized). */
	off_t off3 = SB_SIZE + 2 * (off_t)needle_total_size(500);
	CHECK_MSG(flip_byte(test_path(dir, VOL1),
		      off3 + NEEDLE_HDR_SIZE + 123) == 0,
	    "flip");
	for (int hints = 1; hints >= 0; hints--) {
		if (!hints) /* a full rescan must not truncate either */
			unlink(test_path(dir, IDX1));
		CHECK_OK(store_engine_open(dir, NULL, &se));
		struct scrub_seen seen = { 0, 0 };
		int n = store_engine_scrub_step(se, 100, scrub_cb, &seen);
		/* +put, +delete record */
		CHECK_MSG(n == (hints ? 5 : 7), "scrub checked %d", n);
		CHECK_MSG(seen.n == 1 && seen.key == 3,
		    "scrub found %d (key %llu)", seen.n,
		    (unsigned long long)seen.key);
		size_t len;
		memset(buf, 0xAA, sizeof(buf));
		CHECK_RC(store_engine_get(se, 3, 1, buf, sizeof(buf), &len),
		    STORE_E_DATA_LOSS);
		for (size_t i = 0; i < sizeof(buf); i++)
			CHECK_MSG(buf[i] == 0 || buf[i] == 0xAA,
			    "bad bytes leaked at %zu", i);
		for (uint64_t k = 1; k <= 5; k++)
			if (k != 3)
				CHECK_OK(test_expect(se, k, 1, 500));
		struct store_stats st;
		store_engine_stats(se, &st);
		CHECK_MSG(st.bad_needles == 1, "bad %llu",
		    (unsigned long long)st.bad_needles);
		uint64_t fresh = hints ? 6 : 7;
		/* still writable */
		CHECK_OK(store_engine_put(se, fresh, 1, buf, 10));
		CHECK_OK(store_engine_delete(se, fresh));
		store_engine_close(se);
	}
	test_rmdir(dir);
}

static void
bit_flip_read_before_scrub_is_remembered(void)
{
	char *dir = test_mkdir("flip2");
	struct store_engine *se;
	CHECK_OK(store_engine_open(dir, NULL, &se));
	uint8_t buf[64];
	CHECK_OK(test_put(se, 1, 1, sizeof(buf)));
	CHECK_MSG(flip_byte(test_path(dir, VOL1),
		      SB_SIZE + NEEDLE_HDR_SIZE + 5) == 0,
	    "flip");
	size_t len;
	CHECK_RC(store_engine_get(se, 1, 1, buf, sizeof(buf), &len),
	    STORE_E_DATA_LOSS);
	struct store_needle_info info;
	CHECK_OK(store_engine_stat(se, 1, &info));
	CHECK_MSG(info.flags & STORE_NF_BAD, "stat must flag the bad needle");
	/* Repair (the replicator's): a put over a bad copy replaces it. */
	CHECK_OK(test_put(se, 1, 1, sizeof(buf)));
	CHECK_OK(test_expect(se, 1, 1, sizeof(buf)));
	CHECK_OK(test_reopen(&se, dir, NULL));
	CHECK_OK(test_expect(se, 1, 1, sizeof(buf)));
	CHECK_OK(store_engine_delete(se, 1));
	CHECK_RC(store_engine_get(se, 1, 1, buf, sizeof(buf), &len),
	    STORE_E_NOT_FOUND);
	store_engine_close(se);
	test_rmdir(dir);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "torn tail at every byte of the last needle",
		    torn_tail_at_every_byte_of_last_needle },
		{ "unsynced tail garbage or missing data is dropped",
		    unsynced_tail_garbage_or_missing_data_is_dropped },
		{ "index hint missing is rebuilt",
		    index_hint_missing_is_rebuilt },
		{ "index hint stale (older than volume) is extended by scan",
		    index_hint_stale_older_than_volume_is_extended_by_scan },
		{ "index hint with garbage bytes is rebuilt",
		    index_hint_with_garbage_bytes_is_rebuilt },
		{ "index hint from another volume is rejected",
		    index_hint_from_another_volume_is_rejected },
		{ "bit flip in data is DATA_LOSS and found by scrub",
		    bit_flip_in_data_is_data_loss_and_found_by_scrub },
		{ "bit flip read before scrub is remembered and repairable "
		  "by put",
		    bit_flip_read_before_scrub_is_remembered },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
