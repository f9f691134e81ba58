/* Packed sorted runs (index_run.h). The prefix width is chosen per run to
 * minimise total bytes: 16 bits (12-byte entries + a 256 KiB directory) pays
 * off above ~260k entries, 8 bits (13-byte entries + 1 KiB) above ~1k, and
 * small runs keep whole 8-byte keys. Lookups are binary searches inside the
 * directory bucket, so they stay O(log n) whatever the key distribution. */
#include "index_run.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

void
idx_run_init(struct idx_run *r)
{
	memset(r, 0, sizeof(*r));
	r->kbytes = 8;
}

void
idx_run_free(struct idx_run *r)
{
	free(r->ent);
	free(r->dir);
	idx_run_init(r);
}

static size_t
idx_run_width(const struct idx_run *r)
{
	return (size_t)r->kbytes + 6;
}

static uint64_t
idx_run_suffix(const struct idx_run *r, size_t i)
{
	const uint8_t *p = r->ent + i * idx_run_width(r);
	uint64_t v = 0;
	for (int b = r->kbytes - 1; b >= 0; b--)
		v = (v << 8) | p[b];
	return v;
}

static uint64_t
idx_run_prefix_of(uint8_t pbits, uint64_t key)
{
	return pbits ? key >> (64 - pbits) : 0;
}

static uint64_t
idx_run_suffix_of(uint8_t pbits, uint64_t key)
{
	return pbits ? key & ((UINT64_C(1) << (64 - pbits)) - 1) : key;
}

/* Prefix of entry i: the directory bucket containing i (binary search). */
static uint64_t
idx_run_prefix_at(const struct idx_run *r, size_t i)
{
	if (!r->pbits)
		return 0;
	size_t lo = 0, hi = (size_t)1 << r->pbits; /* dir[lo] <= i < dir[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->dir[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

uint64_t
idx_run_key(const struct idx_run *r, size_t i)
{
	uint64_t s = idx_run_suffix(r, i);
	return r->pbits ? (idx_run_prefix_at(r, i) << (64 - r->pbits)) | s : s;
}

uint32_t
idx_run_val(const struct idx_run *r, size_t i)
{
	return le_get32(r->ent + i * idx_run_width(r) + r->kbytes);
}

void
idx_run_set_val(struct idx_run *r, size_t i, uint32_t val)
{
	le_put32(r->ent + i * idx_run_width(r) + r->kbytes, val);
}

uint32_t
idx_run_len(const struct idx_run *r, size_t i)
{
	return le_get16(r->ent + i * idx_run_width(r) + r->kbytes + 4);
}

void
idx_run_set_len(struct idx_run *r, size_t i, uint32_t len)
{
	le_put16(r->ent + i * idx_run_width(r) + r->kbytes + 4,
	    (uint16_t)(len < IDX_LEN_BIG ? len : IDX_LEN_BIG));
}

size_t
idx_run_lower_bound(const struct idx_run *r, uint64_t key)
{
	size_t lo = 0, hi = r->n;
	if (r->pbits) {
		uint64_t h = idx_run_prefix_of(r->pbits, key);
		lo = r->dir[h];
		hi = r->dir[h + 1];
	}
	uint64_t s = idx_run_suffix_of(r->pbits, key);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx_run_suffix(r, mid) < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
idx_run_find(const struct idx_run *r, uint64_t key, size_t *pos)
{
	size_t i = idx_run_lower_bound(r, key);
	if (i >= r->n || idx_run_key(r, i) != key)
		return 0;
	*pos = i;
	return 1;
}

static uint8_t
idx_run_pick_pbits(size_t n)
{
	static const uint8_t choices[] = { 0, 8, 16 };
	uint8_t best = 0;
	size_t best_cost = SIZE_MAX;
	for (size_t c = 0; c < sizeof(choices); c++) {
		uint8_t p = choices[c];
		size_t cost = n * ((size_t)(64 - p) / 8 + 6) +
		    (p ? 4 * (((size_t)1 << p) + 1) : 0);
		if (cost < best_cost) {
			best_cost = cost;
			best = p;
		}
	}
	return best;
}

/* Appends one entry at position i of a run being built. */
static void
idx_run_emit(struct idx_run *r, size_t i, struct idx_kv e, uint64_t *next_h)
{
	uint64_t key = e.key;
	uint8_t *p = r->ent + i * idx_run_width(r);
	uint64_t s = idx_run_suffix_of(r->pbits, key);
	for (int b = 0; b < r->kbytes; b++)
		p[b] = (uint8_t)(s >> (8 * b));
	le_put32(p + r->kbytes, e.val);
	idx_run_set_len(r, i, e.len);
	if (r->pbits) {
		uint64_t h = idx_run_prefix_of(r->pbits, key);
		while (*next_h <= h)
			r->dir[(*next_h)++] = (uint32_t)i;
	}
}

/* Key of entry i when walking a run in order: *h caches the bucket, so a
 * full walk costs O(n + 2^pbits) instead of a directory search per entry. */
static uint64_t
idx_run_key_walk(const struct idx_run *r, size_t i, uint64_t *h)
{
	if (!r->pbits)
		return idx_run_suffix(r, i);
	while (r->dir[*h + 1] <= i)
		(*h)++;
	return (*h << (64 - r->pbits)) | idx_run_suffix(r, i);
}

int
idx_run_merge(struct idx_run *out, const struct idx_run *a,
    const struct idx_kv *b, size_t bn)
{
	size_t cap = a->n + bn;
	idx_run_init(out);
	if (cap == 0)
		return 0;
	out->pbits = idx_run_pick_pbits(cap);
	out->kbytes = (uint8_t)((64 - out->pbits) / 8);
	out->ent = malloc(cap * idx_run_width(out));
	if (out->pbits)
		out->dir = malloc(
		    (((size_t)1 << out->pbits) + 1) * sizeof(uint32_t));
	if (!out->ent || (out->pbits && !out->dir)) {
		idx_run_free(out);
		return -ENOMEM;
	}
	size_t i = 0, j = 0, o = 0;
	uint64_t next_h = 0, ha = 0;
	while (i < a->n || j < bn) {
		uint64_t ka = i < a->n ? idx_run_key_walk(a, i, &ha) : 0;
		if (j < bn && (i >= a->n || b[j].key <= ka)) {
			if (i < a->n && b[j].key == ka)
				i++; /* b overrides a */
			idx_run_emit(out, o++, b[j], &next_h);
			j++;
		} else {
			struct idx_kv e = { ka, idx_run_val(a, i),
				idx_run_len(a, i) };
			idx_run_emit(out, o++, e, &next_h);
			i++;
		}
	}
	out->n = o;
	if (out->pbits)
		while (next_h <= ((uint64_t)1 << out->pbits))
			out->dir[next_h++] = (uint32_t)o;
	if (o < cap) { /* duplicates collapsed: give the slack back */
		uint8_t *shrunk = realloc(out->ent, o * idx_run_width(out));
		if (shrunk || o == 0)
			out->ent = shrunk;
	}
	return 0;
}

size_t
idx_run_bytes(const struct idx_run *r)
{
	return malloc_usable_size(r->ent) + malloc_usable_size(r->dir);
}
