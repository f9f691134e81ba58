/* Unit tests for a volume's in-memory index (volume_index.c) and the packed
 * runs under it (index_run.c): runs in all three prefix widths, the
 * memtable + run index, every entry's needle length (including lengths
 * too long for the run's 16 bits) through seal, listing and rollback
 * drops, and the bytes-per-needle budget (<= 14, the length included). */
#include <string.h>

#include "engine_testutil.h"
#include "index_run.h"
#include "volume_index.h"

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A needle length for entry i: mostly small, every 97th too long for 16
 * bits (up to ~16 GiB, the largest a volume holds). */
static uint32_t
len_of(size_t i)
{
	return i % 97 == 0 ? IDX_LEN_BIG + (uint32_t)(i * 7919 % (1u << 31)) :
			     (uint32_t)(4 + i % 65000);
}

static void
run_roundtrip(size_t n, int sequential, uint8_t want_pbits)
{
	struct idx_kv *kv = malloc(n * sizeof(*kv));
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = sequential ? 1000000 + i * 3 : rnd(&s);
		kv[i] = (struct idx_kv){ k, (uint32_t)(i + 8), len_of(i) };
	}
	struct vidx x;
	vidx_init(&x);
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(vidx_set(&x, kv[i].key, kv[i].val, kv[i].len) == 0,
		    "set");
	CHECK_MSG(vidx_seal(&x) == 0, "seal");
	CHECK_MSG(x.run.pbits == want_pbits, "n=%zu pbits=%u want %u", n,
	    x.run.pbits, want_pbits);
	CHECK_MSG(vidx_count(&x) == n, "count %zu", vidx_count(&x));
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0, len = 0;
		CHECK_MSG(vidx_find(&x, kv[i].key, &v, &len) &&
			v == kv[i].val && len == kv[i].len,
		    "key %zu lost (len %u want %u)", i, len, kv[i].len);
	}
	uint32_t v;
	CHECK_MSG(!vidx_find(&x, 999, &v, NULL) || sequential == 0,
	    "phantom key");
	for (size_t i = 1; i < x.run.n; i++)
		CHECK_MSG(idx_run_key(&x.run, i - 1) < idx_run_key(&x.run, i),
		    "order");
	vidx_free(&x);
	free(kv);
}

static void
small_run_keeps_whole_keys(void)
{
	run_roundtrip(500, 0, 0);
}

static void
medium_run_uses_8_bit_prefix(void)
{
	CHECK_CALL(run_roundtrip(20000, 0, 8));
	run_roundtrip(20000, 1, 8);
}

static void
large_run_uses_16_bit_prefix_for_any_key_spread(void)
{
	CHECK_CALL(run_roundtrip(300000, 0, 16));
	run_roundtrip(300000, 1, 16);
}

static void
active_index_stays_under_14_bytes_per_needle(void)
{
	struct vidx x;
	vidx_init(&x);
	uint64_t s = 1234567;
	size_t n = 400000;
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(vidx_set(&x, rnd(&s), (uint32_t)(8 + i), len_of(i)) ==
			0,
		    "set");
	double bpn = (double)vidx_bytes(&x) / (double)vidx_count(&x);
	CHECK_MSG(bpn <= 14.0, "active %.3f bytes/needle", bpn);
	vidx_seal(&x);
	double sealed = (double)vidx_bytes(&x) / (double)vidx_count(&x);
	CHECK_MSG(sealed <= 13.0, "sealed %.3f bytes/needle", sealed);
	vidx_free(&x);
}

static void
overwrite_sets_flag_in_memtable_and_run(void)
{
	struct vidx x;
	vidx_init(&x);
	for (uint64_t k = 0; k < 5000; k++)
		vidx_set(&x, k, (uint32_t)(k + 8), len_of(k));
	for (uint64_t k = 0; k < 5000; k += 7)
		vidx_set(&x, k, (uint32_t)(k + 8) | VIDX_DELETED, len_of(k));
	for (uint64_t k = 0; k < 5000; k++) {
		uint32_t v, len;
		CHECK_MSG(vidx_find(&x, k, &v, &len) && len == len_of(k),
		    "lost %llu", (unsigned long long)k);
		CHECK_MSG(((v & VIDX_DELETED) != 0) == (k % 7 == 0),
		    "flag %llu", (unsigned long long)k);
	}
	CHECK_MSG(vidx_count(&x) == 5000, "count");
	vidx_free(&x);
}

static void
collect_pages_in_key_order(void)
{
	struct vidx x;
	vidx_init(&x);
	for (uint64_t k = 3000; k > 0; k--)
		vidx_set(&x, k * 2, (uint32_t)(8 + k), len_of(k));
	struct idx_kv page[100];
	size_t total = 0;
	uint64_t last = 0;
	int has = 0;
	for (;;) {
		size_t n = vidx_collect(&x, has, last, page, 100);
		for (size_t i = 0; i < n; i++) {
			CHECK_MSG(!has || page[i].key > last, "order");
			CHECK_MSG(page[i].len == len_of(page[i].key / 2),
			    "len of %llu", (unsigned long long)page[i].key);
			last = page[i].key;
			has = 1;
		}
		total += n;
		if (n < 100)
			break;
	}
	CHECK_MSG(total == 3000, "listed %zu", total);
	vidx_free(&x);
}

static void
drop_from_removes_rolled_back_entries(void)
{
	struct vidx x;
	vidx_init(&x);
	for (uint64_t k = 1; k <= 2000; k++)
		vidx_set(&x, k, (uint32_t)(8 + k), len_of(k));
	CHECK_MSG(vidx_drop_from(&x, 8 + 1001) == 0, "drop");
	CHECK_MSG(vidx_count(&x) == 1000, "count %zu", vidx_count(&x));
	uint32_t v, len;
	CHECK_MSG(vidx_find(&x, 1000, &v, NULL) &&
		!vidx_find(&x, 1001, &v, NULL),
	    "boundary");
	for (uint64_t k = 1; k <= 1000; k++)
		CHECK_MSG(vidx_find(&x, k, &v, &len) && len == len_of(k),
		    "len of %llu after drop", (unsigned long long)k);
	/* A long needle appended at an offset a dropped one had. */
	vidx_set(&x, 5000, 8 + 1500, IDX_LEN_BIG + 5);
	CHECK_MSG(vidx_find(&x, 5000, &v, &len) && v == 8 + 1500 &&
		len == IDX_LEN_BIG + 5,
	    "insert after drop");
	vidx_free(&x);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "small run keeps whole keys", small_run_keeps_whole_keys },
		{ "medium run uses 8-bit prefix",
		    medium_run_uses_8_bit_prefix },
		{ "large run uses 16-bit prefix for any key spread",
		    large_run_uses_16_bit_prefix_for_any_key_spread },
		{ "active index stays under 14 bytes per needle",
		    active_index_stays_under_14_bytes_per_needle },
		{ "overwrite sets flag in memtable and run",
		    overwrite_sets_flag_in_memtable_and_run },
		{ "collect pages in key order", collect_pages_in_key_order },
		{ "drop_from removes rolled-back entries",
		    drop_from_removes_rolled_back_entries },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
