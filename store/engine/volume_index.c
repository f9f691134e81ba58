/* Volume index = packed sorted run + memtable + the side table of long
 * needles (volume_index.h). The memtable is sized to 1/32..1/16 of the run
 * (at least 1024 slots), so it costs under 0.9 byte per needle and merges
 * cost O(1) amortised per insert (each merge rewrites the run once per
 * ~n/24 inserts). The side table is keyed by offset, not key: a needle's
 * length is a fact of the file at that offset, so an entry never goes
 * stale while its offset is in the volume, and appends add to its end. */
#include "volume_index.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define VIDX_MIN_SLOTS 1024

void
vidx_init(struct vidx *x)
{
	memset(x, 0, sizeof(*x));
	idx_run_init(&x->run);
}

static void
vidx_mem_free(struct vidx *x)
{
	free(x->mkeys);
	free(x->mvals);
	free(x->mlens);
	x->mkeys = NULL;
	x->mvals = NULL;
	x->mlens = NULL;
	x->mcap = x->mn = 0;
}

void
vidx_free(struct vidx *x)
{
	vidx_mem_free(x);
	idx_run_free(&x->run);
	free(x->big);
	x->big = NULL;
	x->nbig = x->capbig = 0;
}

/* Index of the first long needle at or after off8 (nbig when none). */
static size_t
vidx_big_lower(const struct vidx *x, uint32_t off8)
{
	size_t lo = 0, hi = x->nbig;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->big[mid].off8 < off8)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more long needle. 0 or -ENOMEM. */
static int
vidx_big_grow(struct vidx *x)
{
	if (x->nbig < x->capbig)
		return 0;
	size_t nc = x->capbig ? x->capbig * 2 : 16;
	struct vidx_big *nb = realloc(x->big, nc * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	x->big = nb;
	x->capbig = nc;
	return 0;
}

/* Records the exact len8 of the long needle at off8 (usually the newest
 * offset, so an append at the end). 0 or -ENOMEM. */
static int
vidx_big_put(struct vidx *x, uint32_t off8, uint32_t len8)
{
	size_t i = vidx_big_lower(x, off8);
	if (i < x->nbig && x->big[i].off8 == off8) {
		x->big[i].len8 = len8;
		return 0;
	}
	if (vidx_big_grow(x))
		return -ENOMEM;
	memmove(&x->big[i + 1], &x->big[i], (x->nbig - i) * sizeof(*x->big));
	x->big[i] = (struct vidx_big){ off8, len8 };
	x->nbig++;
	return 0;
}

/* The exact len8 of an entry whose stored length is len (clamped). */
static uint32_t
vidx_resolve(const struct vidx *x, uint32_t val, uint32_t len)
{
	if (len < IDX_LEN_BIG)
		return len;
	size_t i = vidx_big_lower(x, val & VIDX_OFF_MASK);
	/* Always present: vidx_set records it before the entry. */
	return i < x->nbig && x->big[i].off8 == (val & VIDX_OFF_MASK) ?
	    x->big[i].len8 :
	    len;
}

static size_t
vidx_slot(const struct vidx *x, uint64_t key)
{
	return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
	    (x->mcap - 1);
}

/* Slot holding key, or the empty slot where it would go. */
static size_t
vidx_mem_probe(const struct vidx *x, uint64_t key)
{
	size_t i = vidx_slot(x, key);
	while (x->mvals[i] && x->mkeys[i] != key)
		i = (i + 1) & (x->mcap - 1);
	return i;
}

int
vidx_find(const struct vidx *x, uint64_t key, uint32_t *val, uint32_t *len8)
{
	uint32_t len;
	size_t pos;
	if (x->mcap && x->mvals[pos = vidx_mem_probe(x, key)]) {
		*val = x->mvals[pos];
		len = x->mlens[pos];
	} else if (idx_run_find(&x->run, key, &pos)) {
		*val = idx_run_val(&x->run, pos);
		len = idx_run_len(&x->run, pos);
	} else {
		return 0;
	}
	if (len8)
		*len8 = vidx_resolve(x, *val, len);
	return 1;
}

static int
vidx_kv_cmp(const void *a, const void *b)
{
	uint64_t ka = ((const struct idx_kv *)a)->key;
	uint64_t kb = ((const struct idx_kv *)b)->key;
	return ka < kb ? -1 : ka > kb;
}

/* Memtable contents, sorted; caller frees. NULL only on ENOMEM. */
static struct idx_kv *
vidx_mem_sorted(const struct vidx *x, size_t *n)
{
	struct idx_kv *kv = malloc((x->mn ? x->mn : 1) * sizeof(*kv));
	if (!kv)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < x->mcap; i++)
		if (x->mvals[i])
			kv[k++] = (struct idx_kv){ x->mkeys[i], x->mvals[i],
				x->mlens[i] };
	qsort(kv, k, sizeof(*kv), vidx_kv_cmp);
	*n = k;
	return kv;
}

static int
vidx_mem_alloc(struct vidx *x, size_t slots)
{
	uint64_t *k = calloc(slots, sizeof(*k));
	uint32_t *v = calloc(slots, sizeof(*v));
	uint16_t *l = calloc(slots, sizeof(*l));
	if (!k || !v || !l) {
		free(k);
		free(v);
		free(l);
		return -ENOMEM;
	}
	vidx_mem_free(x);
	x->mkeys = k;
	x->mvals = v;
	x->mlens = l;
	x->mcap = slots;
	return 0;
}

static size_t
vidx_target_slots(size_t run_n)
{
	size_t s = VIDX_MIN_SLOTS;
	while (s * 2 <= run_n / 16)
		s *= 2;
	return s;
}

/* Merges the memtable into the run; keep_mem re-creates an empty one. */
static int
vidx_flush(struct vidx *x, int keep_mem)
{
	size_t n = 0;
	struct idx_kv *kv = x->mcap ? vidx_mem_sorted(x, &n) : NULL;
	if (x->mcap && !kv)
		return -ENOMEM;
	struct idx_run merged;
	int rc = idx_run_merge(&merged, &x->run, kv, n);
	free(kv);
	if (rc)
		return rc;
	idx_run_free(&x->run);
	x->run = merged;
	vidx_mem_free(x);
	return keep_mem ? vidx_mem_alloc(x, vidx_target_slots(x->run.n)) : 0;
}

int
vidx_set(struct vidx *x, uint64_t key, uint32_t val, uint32_t len8)
{
	size_t pos;
	uint16_t len = (uint16_t)(len8 < IDX_LEN_BIG ? len8 : IDX_LEN_BIG);
	if (len8 >= IDX_LEN_BIG) {
		int rc = vidx_big_put(x, val & VIDX_OFF_MASK, len8);
		if (rc)
			return rc;
	}
	if (idx_run_find(&x->run, key, &pos)) {
		idx_run_set_val(&x->run, pos, val);
		idx_run_set_len(&x->run, pos, len);
		return 0;
	}
	if (!x->mcap) {
		int rc = vidx_mem_alloc(x, vidx_target_slots(x->run.n));
		if (rc)
			return rc;
	}
	size_t i = vidx_mem_probe(x, key);
	if (!x->mvals[i])
		x->mn++;
	x->mkeys[i] = key;
	x->mvals[i] = val;
	x->mlens[i] = len;
	if (x->mn * 4 >= x->mcap * 3)
		return vidx_flush(x, 1);
	return 0;
}

int
vidx_seal(struct vidx *x)
{
	return vidx_flush(x, 0);
}

static int
vidx_big_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vidx_big *)a)->off8;
	uint32_t y = ((const struct vidx_big *)b)->off8;
	return x < y ? -1 : x > y;
}

/* The side table of kv[0..n): its long needles, sorted by offset. */
static int
vidx_big_build(const struct idx_kv *kv, size_t n, struct vidx *out)
{
	for (size_t i = 0; i < n; i++) {
		if (kv[i].len < IDX_LEN_BIG)
			continue;
		if (vidx_big_grow(out))
			return -ENOMEM;
		out->big[out->nbig++] = (struct vidx_big){
			kv[i].val & VIDX_OFF_MASK, kv[i].len
		};
	}
	if (out->nbig > 1) /* qsort of a NULL array is undefined */
		qsort(out->big, out->nbig, sizeof(*out->big), vidx_big_cmp);
	return 0;
}

int
vidx_replace_sorted(struct vidx *x, const struct idx_kv *kv, size_t n)
{
	struct idx_run empty, fresh;
	struct vidx big;
	memset(&big, 0, sizeof(big));
	idx_run_init(&empty);
	int rc = vidx_big_build(kv, n, &big);
	if (!rc)
		rc = idx_run_merge(&fresh, &empty, kv, n);
	if (rc) {
		free(big.big);
		return rc;
	}
	vidx_free(x);
	x->run = fresh;
	x->big = big.big;
	x->nbig = big.nbig;
	x->capbig = big.capbig;
	return 0;
}

int
vidx_drop_from(struct vidx *x, uint32_t off8)
{
	int rc = vidx_flush(x, 0);
	if (rc)
		return rc;
	struct idx_kv *kv = malloc((x->run.n ? x->run.n : 1) * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < x->run.n; i++) {
		uint32_t v = idx_run_val(&x->run, i);
		if ((v & VIDX_OFF_MASK) < off8)
			kv[k++] = (struct idx_kv){ idx_run_key(&x->run, i), v,
				vidx_resolve(x, v, idx_run_len(&x->run, i)) };
	}
	rc = vidx_replace_sorted(x, kv, k);
	free(kv);
	return rc;
}

size_t
vidx_count(const struct vidx *x)
{
	return x->run.n + x->mn;
}

size_t
vidx_bytes(const struct vidx *x)
{
	return idx_run_bytes(&x->run) + malloc_usable_size(x->mkeys) +
	    malloc_usable_size(x->mvals) + malloc_usable_size(x->mlens) +
	    malloc_usable_size(x->big);
}

size_t
vidx_collect(const struct vidx *x, int has_after, uint64_t after,
    struct idx_kv *out, size_t max)
{
	if (max == 0 || (has_after && after == UINT64_MAX))
		return 0;
	size_t n = 0;
	size_t i = has_after ? idx_run_lower_bound(&x->run, after + 1) : 0;
	for (; i < x->run.n && n < max; i++) {
		uint32_t v = idx_run_val(&x->run, i);
		out[n++] = (struct idx_kv){ idx_run_key(&x->run, i), v,
			vidx_resolve(x, v, idx_run_len(&x->run, i)) };
	}
	/* Memtable keys are unsorted: add every candidate, sort, cut to max. */
	struct idx_kv *tmp = NULL;
	size_t tn = 0;
	if (x->mn) {
		tmp = malloc((n + x->mn) * sizeof(*tmp));
		if (!tmp)
			return n;
		memcpy(tmp, out, n * sizeof(*tmp));
		tn = n;
		for (size_t s = 0; s < x->mcap; s++)
			if (x->mvals[s] && (!has_after || x->mkeys[s] > after))
				tmp[tn++] = (struct idx_kv){ x->mkeys[s],
					x->mvals[s],
					vidx_resolve(x, x->mvals[s],
					    x->mlens[s]) };
		qsort(tmp, tn, sizeof(*tmp), vidx_kv_cmp);
		n = tn < max ? tn : max;
		memcpy(out, tmp, n * sizeof(*tmp));
		free(tmp);
	}
	return n;
}
