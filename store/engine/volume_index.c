/* Volume index = packed sorted run + memtable (volume_index.h). The
 * memtable is sized to 1/32..1/16 of the run (at least 1024 slots), so it
 * costs under 0.75 byte per needle and merges cost O(1) amortised per
 * insert (each merge rewrites the run once per ~n/24 inserts). */
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
	x->mkeys = NULL;
	x->mvals = NULL;
	x->mcap = x->mn = 0;
}

void
vidx_free(struct vidx *x)
{
	vidx_mem_free(x);
	idx_run_free(&x->run);
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
vidx_find(const struct vidx *x, uint64_t key, uint32_t *val)
{
	if (x->mcap) {
		size_t i = vidx_mem_probe(x, key);
		if (x->mvals[i]) {
			*val = x->mvals[i];
			return 1;
		}
	}
	size_t pos;
	if (!idx_run_find(&x->run, key, &pos))
		return 0;
	*val = idx_run_val(&x->run, pos);
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
			kv[k++] = (struct idx_kv){ x->mkeys[i], x->mvals[i] };
	qsort(kv, k, sizeof(*kv), vidx_kv_cmp);
	*n = k;
	return kv;
}

static int
vidx_mem_alloc(struct vidx *x, size_t slots)
{
	uint64_t *k = calloc(slots, sizeof(*k));
	uint32_t *v = calloc(slots, sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	vidx_mem_free(x);
	x->mkeys = k;
	x->mvals = v;
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
vidx_set(struct vidx *x, uint64_t key, uint32_t val)
{
	size_t pos;
	if (idx_run_find(&x->run, key, &pos)) {
		idx_run_set_val(&x->run, pos, val);
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
	if (x->mn * 4 >= x->mcap * 3)
		return vidx_flush(x, 1);
	return 0;
}

int
vidx_seal(struct vidx *x)
{
	return vidx_flush(x, 0);
}

int
vidx_replace_sorted(struct vidx *x, const struct idx_kv *kv, size_t n)
{
	struct idx_run empty, fresh;
	idx_run_init(&empty);
	int rc = idx_run_merge(&fresh, &empty, kv, n);
	if (rc)
		return rc;
	vidx_free(x);
	x->run = fresh;
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
			kv[k++] = (struct idx_kv){ idx_run_key(&x->run, i), v };
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
	    malloc_usable_size(x->mvals);
}

size_t
vidx_collect(const struct vidx *x, int has_after, uint64_t after,
    struct idx_kv *out, size_t max)
{
	if (max == 0 || (has_after && after == UINT64_MAX))
		return 0;
	size_t n = 0;
	size_t i = has_after ? idx_run_lower_bound(&x->run, after + 1) : 0;
	for (; i < x->run.n && n < max; i++)
		out[n++] = (struct idx_kv){ idx_run_key(&x->run, i),
			idx_run_val(&x->run, i) };
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
					x->mvals[s] };
		qsort(tmp, tn, sizeof(*tmp), vidx_kv_cmp);
		n = tn < max ? tn : max;
		memcpy(out, tmp, n * sizeof(*tmp));
		free(tmp);
	}
	return n;
}
