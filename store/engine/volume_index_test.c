/* Unit tests for a volume's in-memory index (volume_index.c) and the packed
 * runs under it (index_run.c): runs in all three prefix widths, the
 * memtable + run index, listing order, rollback drops,
 * and the bytes-per-needle budget (<= 12). */
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

static void
run_roundtrip(size_t n, int sequential, uint8_t want_pbits)
{
	struct idx_kv *kv = malloc(n * sizeof(*kv));
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = sequential ? 1000000 + i * 3 : rnd(&s);
		kv[i] = (struct idx_kv){ k, (uint32_t)(i + 8) };
	}
	struct vidx x;
	vidx_init(&x);
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(vidx_set(&x, kv[i].key, kv[i].val) == 0, "set");
	CHECK_MSG(vidx_seal(&x) == 0, "seal");
	CHECK_MSG(x.run.pbits == want_pbits, "n=%zu pbits=%u want %u", n,
	    x.run.pbits, want_pbits);
	CHECK_MSG(vidx_count(&x) == n, "count %zu", vidx_count(&x));
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;
		CHECK_MSG(vidx_find(&x, kv[i].key, &v) && v == kv[i].val,
		    "key %zu lost", i);
	}
	uint32_t v;
	CHECK_MSG(!vidx_find(&x, 999, &v) || sequential == 0, "phantom key");
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
active_index_stays_under_12_bytes_per_needle(void)
{
	struct vidx x;
	vidx_init(&x);
	uint64_t s = 1234567;
	size_t n = 400000;
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(vidx_set(&x, rnd(&s), (uint32_t)(8 + i)) == 0, "set");
	double bpn = (double)vidx_bytes(&x) / (double)vidx_count(&x);
	CHECK_MSG(bpn <= 12.0, "active %.3f bytes/needle", bpn);
	vidx_seal(&x);
	double sealed = (double)vidx_bytes(&x) / (double)vidx_count(&x);
	CHECK_MSG(sealed <= 11.0, "sealed %.3f bytes/needle", sealed);
	vidx_free(&x);
}

static void
overwrite_sets_flag_in_memtable_and_run(void)
{
	struct vidx x;
	vidx_init(&x);
	for (uint64_t k = 0; k < 5000; k++)
		vidx_set(&x, k, (uint32_t)(k + 8));
	for (uint64_t k = 0; k < 5000; k += 7)
		vidx_set(&x, k, (uint32_t)(k + 8) | VIDX_DELETED);
	for (uint64_t k = 0; k < 5000; k++) {
		uint32_t v;
		CHECK_MSG(vidx_find(&x, k, &v), "lost %llu",
		    (unsigned long long)k);
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
		vidx_set(&x, k * 2, (uint32_t)(8 + k));
	struct idx_kv page[100];
	size_t total = 0;
	uint64_t last = 0;
	int has = 0;
	for (;;) {
		size_t n = vidx_collect(&x, has, last, page, 100);
		for (size_t i = 0; i < n; i++) {
			CHECK_MSG(!has || page[i].key > last, "order");
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
		vidx_set(&x, k, (uint32_t)(8 + k));
	CHECK_MSG(vidx_drop_from(&x, 8 + 1001) == 0, "drop");
	CHECK_MSG(vidx_count(&x) == 1000, "count %zu", vidx_count(&x));
	uint32_t v;
	CHECK_MSG(vidx_find(&x, 1000, &v) && !vidx_find(&x, 1001, &v),
	    "boundary");
	vidx_set(&x, 5000, 9000);
	CHECK_MSG(vidx_find(&x, 5000, &v) && v == 9000, "insert after drop");
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
		{ "active index stays under 12 bytes per needle",
		    active_index_stays_under_12_bytes_per_needle },
		{ "overwrite sets flag in memtable and run",
		    overwrite_sets_flag_in_memtable_and_run },
		{ "collect pages in key order", collect_pages_in_key_order },
		{ "drop_from removes rolled-back entries",
		    drop_from_removes_rolled_back_entries },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
