/* The record table (see records.h). Layout per record, 88 bytes:
 * key, seq, created, updated (4 x 8), sha256 (32), cookie, size (2 x 4),
 * state, target, nstores, pad (4 x 1), 6 store slots (6 x 2). The index
 * holds record number + 1 (0 = empty) in 4-byte slots and doubles when
 * half full, so it adds 8-16 bytes per record; linear probing on a
 * multiplicative hash. */
#include "records.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STORE_SLOTS 65535

struct rec {
	uint64_t key;
	uint64_t seq;
	int64_t created_ms;
	int64_t updated_ms;
	uint8_t sha[32];
	uint32_t cookie;
	uint32_t size; /* photos are at most 64 MiB */
	uint8_t state;
	uint8_t target;
	uint8_t nstores;
	uint8_t pad;
	uint16_t stores[DIR_MAX_REPLICAS];
};

_Static_assert(sizeof(struct rec) == 88, "keep records at 88 bytes");

struct dir_records {
	pthread_rwlock_t lock;
	struct rec *recs;
	size_t n, cap;
	uint32_t *index;
	size_t mask;	     /* index size - 1 */
	uint32_t *store_ids; /* slot -> store id */
	size_t nstore_ids;
	_Atomic uint64_t applied;
	uint64_t active, deleted, bytes;
};

static size_t
hash_key(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key;
}

int
dir_records_open(dir_records **out)
{
	dir_records *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->mask = 1023;
	t->index = calloc(t->mask + 1, sizeof(*t->index));
	t->store_ids = calloc(MAX_STORE_SLOTS, sizeof(*t->store_ids));
	if (t->index == NULL || t->store_ids == NULL) {
		free(t->index);
		free(t->store_ids);
		free(t);
		return -1;
	}
	pthread_rwlock_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void
dir_records_close(dir_records *t)
{
	if (t == NULL)
		return;
	pthread_rwlock_destroy(&t->lock);
	free(t->recs);
	free(t->index);
	free(t->store_ids);
	free(t);
}

/* Index position of key, or of the empty slot where it would go. */
static size_t
find_pos(const dir_records *t, uint64_t key)
{
	size_t i = hash_key(key) & t->mask;
	while (t->index[i] != 0 && t->recs[t->index[i] - 1].key != key)
		i = (i + 1) & t->mask;
	return i;
}

static int
grow_index(dir_records *t)
{
	size_t nsize = (t->mask + 1) * 2;
	uint32_t *old = t->index;
	size_t omask = t->mask;
	t->index = calloc(nsize, sizeof(*t->index));
	if (t->index == NULL) {
		t->index = old;
		return -1;
	}
	t->mask = nsize - 1;
	for (size_t i = 0; i <= omask; i++)
		if (old[i] != 0)
			t->index[find_pos(t, t->recs[old[i] - 1].key)] = old[i];
	free(old);
	return 0;
}

/* The 16-bit slot of a store id, interning it on first use; -1 if full. */
static int
store_slot(dir_records *t, uint32_t id)
{
	for (size_t i = 0; i < t->nstore_ids; i++)
		if (t->store_ids[i] == id)
			return (int)i;
	if (t->nstore_ids == MAX_STORE_SLOTS)
		return -1;
	t->store_ids[t->nstore_ids] = id;
	return (int)t->nstore_ids++;
}

static void
account(dir_records *t, const struct rec *r, int sign)
{
	if (r->state == HS__PHOTO_STATE__PHOTO_DELETED) {
		t->deleted += (uint64_t)sign;
	} else {
		t->active += (uint64_t)sign;
		t->bytes += (uint64_t)sign * r->size;
	}
}

/* Fills r from the message; -1 if it does not fit the layout. */
static int
encode(dir_records *t, const Hs__PhotoRecord *m, struct rec *r)
{
	if (m->id == NULL || m->id->key == 0 || m->sha256.len != 32 ||
	    m->n_stores > DIR_MAX_REPLICAS || m->size > UINT32_MAX ||
	    m->target_replicas > 255)
		return -1;
	memset(r, 0, sizeof(*r));
	r->key = m->id->key;
	r->cookie = m->id->cookie;
	r->seq = m->seq;
	r->created_ms = m->created_ms;
	r->updated_ms = m->updated_ms;
	memcpy(r->sha, m->sha256.data, 32);
	r->size = (uint32_t)m->size;
	r->state = (uint8_t)m->state;
	r->target = (uint8_t)m->target_replicas;
	for (size_t i = 0; i < m->n_stores; i++) {
		int s = store_slot(t, m->stores[i]);
		if (s < 0)
			return -1;
		r->stores[r->nstores++] = (uint16_t)s;
	}
	return 0;
}

static int
append(dir_records *t, const struct rec *r, size_t pos)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		/* Large reallocs are mremap'd by glibc: the unused tail is
		 * address space, not resident memory. */
		struct rec *nr = realloc(t->recs, ncap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		t->recs = nr;
		t->cap = ncap;
	}
	t->recs[t->n] = *r;
	t->index[pos] = (uint32_t)(++t->n);
	return 0;
}

int
dir_records_apply(dir_records *t, const Hs__PhotoRecord *m)
{
	struct rec r;
	int rc = 1;
	pthread_rwlock_wrlock(&t->lock);
	if (encode(t, m, &r) != 0) {
		rc = -1;
		goto out;
	}
	if ((t->n + 1) * 2 > t->mask + 1 && grow_index(t) != 0) {
		rc = -1;
		goto out;
	}
	size_t pos = find_pos(t, r.key);
	if (t->index[pos] == 0) {
		if (append(t, &r, pos) != 0)
			rc = -1;
		else
			account(t, &r, 1);
		goto out;
	}
	struct rec *cur = &t->recs[t->index[pos] - 1];
	if (cur->seq >= r.seq) {
		rc = 0;
		goto out;
	}
	account(t, cur, -1);
	*cur = r;
	account(t, cur, 1);
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int
dir_records_get(dir_records *t, uint64_t key, struct dir_rec_view *v)
{
	int rc = -1;
	pthread_rwlock_rdlock(&t->lock);
	size_t pos = find_pos(t, key);
	if (t->index[pos] != 0) {
		const struct rec *r = &t->recs[t->index[pos] - 1];
		hs__photo_record__init(&v->rec);
		hs__photo_id__init(&v->id);
		v->id.key = r->key;
		v->id.cookie = r->cookie;
		v->rec.id = &v->id;
		v->rec.size = r->size;
		memcpy(v->sha, r->sha, 32);
		v->rec.sha256.data = v->sha;
		v->rec.sha256.len = 32;
		v->rec.state = (Hs__PhotoState)r->state;
		for (int i = 0; i < r->nstores; i++)
			v->stores[i] = t->store_ids[r->stores[i]];
		v->rec.stores = v->stores;
		v->rec.n_stores = r->nstores;
		v->rec.target_replicas = r->target;
		v->rec.created_ms = r->created_ms;
		v->rec.updated_ms = r->updated_ms;
		v->rec.seq = r->seq;
		rc = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int
dir_records_has(dir_records *t, uint64_t key)
{
	pthread_rwlock_rdlock(&t->lock);
	int has = t->index[find_pos(t, key)] != 0;
	pthread_rwlock_unlock(&t->lock);
	return has;
}

uint64_t
dir_records_applied(dir_records *t)
{
	return atomic_load(&t->applied);
}

void
dir_records_set_applied(dir_records *t, uint64_t seq)
{
	uint64_t cur = atomic_load(&t->applied);
	while (
	    seq > cur && !atomic_compare_exchange_weak(&t->applied, &cur, seq))
		;
}

void
dir_records_stats(dir_records *t, struct dir_rec_stats *s)
{
	pthread_rwlock_rdlock(&t->lock);
	s->active = t->active;
	s->deleted = t->deleted;
	s->bytes = t->bytes;
	s->total = t->n;
	pthread_rwlock_unlock(&t->lock);
}

/* Sift-down of a max-heap of n keys from i. */
static void
heap_down(uint64_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && h[l] > h[m])
			m = l;
		if (l + 1 < n && h[l + 1] > h[m])
			m = l + 1;
		if (m == i)
			return;
		uint64_t x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

size_t
dir_records_keys_after(dir_records *t, uint64_t after, uint64_t *out,
    size_t max, int *more)
{
	/* The table is in arrival order: keep the max smallest keys above
	 * after in a max-heap (one pass, O(n log max)), then sort it. */
	size_t n = 0;
	*more = 0;
	if (max == 0)
		return 0;
	pthread_rwlock_rdlock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t k = t->recs[i].key;
		if (k <= after)
			continue;
		if (n < max) {
			out[n++] = k;
			for (size_t c = n - 1;
			     c > 0 && out[(c - 1) / 2] < out[c];
			     c = (c - 1) / 2) {
				uint64_t x = out[c];
				out[c] = out[(c - 1) / 2];
				out[(c - 1) / 2] = x;
			}
		} else {
			*more = 1;
			if (k < out[0]) {
				out[0] = k;
				heap_down(out, n, 0);
			}
		}
	}
	pthread_rwlock_unlock(&t->lock);
	for (size_t end = n; end > 1; end--) { /* heap sort, ascending */
		uint64_t x = out[0];
		out[0] = out[end - 1];
		out[end - 1] = x;
		heap_down(out, end - 1, 0);
	}
	return n;
}
