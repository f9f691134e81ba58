/* hs_rebuild: the records recovered from the stores, for a metadata Redis
 * that lost them. Every store the directory lists is asked for its needles
 * (deleted ones included); entries are grouped by photo id and each group
 * becomes one record (the rule is in docs/reliability.md, "A way back"),
 * which hsi_restore_records sends to the directory. A needle of format v1
 * carries no SHA-256, so its bytes are read and hashed here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_internal.h"
#include "store.pb-c.h"

#define RB_PAGE 10000
#define RB_MAX_STORES 6 /* a record's inline replica slots */

/* One needle entry one store listed. */
struct rb_entry {
	uint64_t key, size;
	int64_t written_ms;
	uint32_t cookie, store;
	uint8_t deleted, kind, has_sha;
	uint8_t sha[HS_SHA256_LEN];
};

/* One recovered record; rec's pointers are into it. */
struct rb_rec {
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	uint32_t stores[RB_MAX_STORES];
	uint8_t sha[HS_SHA256_LEN];
};

struct rb {
	hs_client *c;
	int64_t timeout_ms;
	struct hs_wayback_stats *s;
	Hs__ListStoresReply *table;
	struct rb_entry *e;
	size_t n, cap;
};

static int
rb_add(struct rb *b, const Hs__NeedleInfo *ni, uint32_t store)
{
	if (ni->id == NULL)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		struct rb_entry *e = realloc(b->e, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		b->e = e;
		b->cap = cap;
	}
	struct rb_entry *x = &b->e[b->n++];
	memset(x, 0, sizeof(*x));
	x->key = ni->id->key;
	x->cookie = ni->id->cookie;
	x->store = store;
	x->size = ni->size;
	x->written_ms = ni->written_ms;
	x->deleted = ni->deleted;
	x->kind = (uint8_t)ni->delete_kind;
	x->has_sha = ni->sha256.len == HS_SHA256_LEN;
	if (x->has_sha)
		memcpy(x->sha, ni->sha256.data, HS_SHA256_LEN);
	b->s->needles++;
	return 0;
}

/* Every needle of one store into b. */
static hs_status
list_store(struct rb *b, const Hs__StoreInfo *st, hs_error *err)
{
	rpc_client *rc = hsi_store(b->c, st->id, st->rpc_addr, err);
	if (rc == NULL)
		return err->code;
	Hs__ListNeedlesRequest req = HS__LIST_NEEDLES_REQUEST__INIT;
	req.limit = RB_PAGE;
	req.include_deleted = 1;
	for (;;) {
		ProtobufCMessage *reply = NULL;
		struct rpc_error re;
		hs_status code = rpc_invoke(rc, &hs__store__descriptor,
		    "ListNeedles", &req.base, &reply,
		    b->timeout_ms > 0 ? b->timeout_ms : HS_DEFAULT_TIMEOUT_MS,
		    0, &re);
		if (code != HS_OK)
			return hsi_err(err, code,
			    "store %" PRIu32 " at %s did not list its needles "
			    "(%s); bring it up (`hs health`) and run rebuild "
			    "again: a store left out loses its copies' "
			    "locations",
			    st->id, st->rpc_addr, re.message);
		Hs__ListNeedlesReply *r = (Hs__ListNeedlesReply *)reply;
		int bad = 0;
		for (size_t i = 0; i < r->n_needles && !bad; i++) {
			bad = rb_add(b, r->needles[i], st->id) != 0;
			if (r->needles[i]->id != NULL)
				req.after_key = r->needles[i]->id->key;
		}
		int more = r->more && r->n_needles > 0;
		hs__list_needles_reply__free_unpacked(r, NULL);
		if (bad)
			return hsi_err(err, HS_RESOURCE_EXHAUSTED,
			    "out of memory");
		if (!more)
			return HS_OK;
	}
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct rb_entry *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->cookie != b->cookie)
		return a->cookie < b->cookie ? -1 : 1;
	return a->store < b->store ? -1 : a->store > b->store;
}

static const char *
store_addr(const struct rb *b, uint32_t id)
{
	for (size_t i = 0; i < b->table->n_stores; i++)
		if (b->table->stores[i]->id == id)
			return b->table->stores[i]->rpc_addr;
	return NULL;
}

/* A v1 needle: reads it from its store and hashes its bytes into e->sha.
 * 0, or -1 (unreadable: counted, and the copy left out). */
static int
read_sha(struct rb *b, struct rb_entry *e)
{
	hs_error err;
	const char *addr = store_addr(b, e->store);
	rpc_client *rc = addr ? hsi_store(b->c, e->store, addr, &err) : NULL;
	ProtobufCMessage *reply = NULL;
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId pid = HS__PHOTO_ID__INIT;
	pid.key = e->key;
	pid.cookie = e->cookie;
	req.id = &pid;
	if (rc == NULL ||
	    rpc_invoke(rc, &hs__store__descriptor, "Read", &req.base, &reply,
		b->timeout_ms > 0 ? b->timeout_ms : HS_DEFAULT_TIMEOUT_MS, 0,
		NULL) != HS_OK) {
		b->s->unreadable++;
		return -1;
	}
	Hs__ReadReply *r = (Hs__ReadReply *)reply;
	int ok = r->data.len == e->size;
	if (ok)
		hs_sha256(r->data.data, r->data.len, e->sha);
	hs__read_reply__free_unpacked(r, NULL);
	if (!ok) {
		b->s->unreadable++;
		return -1;
	}
	e->has_sha = 1;
	return 0;
}

/* The record of group g[0..n) (one id, sorted by store) into out: 1, or 0
 * if the group is not restored (counted in s). */
static int
group_record(struct rb *b, struct rb_entry *g, size_t n, struct rb_rec *out)
{
	size_t best = n, best_votes = 0, live = 0;
	int delete_seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (g[i].deleted) {
			delete_seen |= g[i].kind ==
			    HS__DELETE_KIND__DELETE_KIND_DELETE;
			continue;
		}
		live++;
		if (!g[i].has_sha && read_sha(b, &g[i]) != 0)
			g[i].deleted = 2; /* unreadable: left out below */
	}
	/* The SHA-256 most live copies agree on (the first on a tie). */
	for (size_t i = 0; i < n; i++) {
		size_t votes = 0;
		for (size_t k = 0; !g[i].deleted && k < n; k++)
			votes += !g[k].deleted &&
			    memcmp(g[k].sha, g[i].sha, HS_SHA256_LEN) == 0;
		if (votes > best_votes) {
			best = i;
			best_votes = votes;
		}
	}
	memset(out, 0, sizeof(*out));
	hs__photo_record__init(&out->rec);
	hs__photo_id__init(&out->id);
	out->id.key = g[0].key;
	out->id.cookie = g[0].cookie;
	out->rec.id = &out->id;
	out->rec.sha256.data = out->sha;
	out->rec.sha256.len = HS_SHA256_LEN;
	out->rec.stores = out->stores;
	out->rec.created_ms = INT64_MAX;
	if (best == n && (live > 0 || !delete_seen)) {
		b->s->skipped++; /* no live copy to trust, and no delete */
		return 0;
	}
	out->rec.state = best == n ? HS__PHOTO_STATE__PHOTO_DELETED :
				     HS__PHOTO_STATE__PHOTO_ACTIVE;
	const struct rb_entry *ref = best == n ? &g[0] : &g[best];
	for (size_t i = 0; i < n; i++) {
		if (best != n && !g[i].deleted &&
		    memcmp(g[i].sha, ref->sha, HS_SHA256_LEN) == 0 &&
		    out->rec.n_stores < RB_MAX_STORES)
			out->stores[out->rec.n_stores++] = g[i].store;
		if (best == n && g[i].has_sha)
			ref = &g[i];
		if (g[i].written_ms > 0 &&
		    g[i].written_ms < out->rec.created_ms)
			out->rec.created_ms = g[i].written_ms;
	}
	if (out->rec.created_ms == INT64_MAX)
		out->rec.created_ms = 0;
	out->rec.updated_ms = out->rec.created_ms;
	out->rec.size = ref->size;
	memcpy(out->sha, ref->sha, HS_SHA256_LEN); /* zeros: deleted v1 */
	return 1;
}

/* Groups the sorted entries into records (*recs, *n: the caller frees). */
static hs_status
build_records(struct rb *b, struct rb_rec **recs, size_t *nrecs, hs_error *err)
{
	qsort(b->e, b->n, sizeof(*b->e), entry_cmp);
	*recs = calloc(b->n ? b->n : 1, sizeof(**recs));
	*nrecs = 0;
	if (*recs == NULL)
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0, j; i < b->n; i = j) {
		for (j = i + 1; j < b->n && b->e[j].key == b->e[i].key &&
		     b->e[j].cookie == b->e[i].cookie;
		     j++)
			;
		struct rb_rec *r = &(*recs)[*nrecs];
		if (!group_record(b, &b->e[i], j - i, r))
			continue;
		(*nrecs)++;
		b->s->records++;
		if (r->rec.state == HS__PHOTO_STATE__PHOTO_DELETED)
			b->s->deleted++;
		else
			b->s->active++;
	}
	return HS_OK;
}

/* Lists every store's needles into b. */
static hs_status
list_all(struct rb *b, hs_error *err)
{
	Hs__ListStoresRequest req = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	req.include_down = 1;
	hs_status st = hsi_dir_call(b->c, "ListStores", &req.base, &reply,
	    hsi_deadline(b->timeout_ms), "store listing", err);
	if (st != HS_OK)
		return st;
	b->table = (Hs__ListStoresReply *)reply;
	if (b->table->n_stores == 0)
		return hsi_err(err, HS_FAILED_PRECONDITION,
		    "the directory knows no store yet; wait until the stores "
		    "have sent a heartbeat (`hs health`) and run rebuild again");
	for (size_t i = 0; i < b->table->n_stores && st == HS_OK; i++) {
		st = list_store(b, b->table->stores[i], err);
		b->s->stores++;
	}
	return st;
}

hs_status
hs_rebuild(hs_client *c, hs_progress_fn progress, void *arg, int64_t timeout_ms,
    struct hs_wayback_stats *out, hs_error *err)
{
	struct hs_wayback_stats s = { 0 };
	struct rb b = { .c = c, .timeout_ms = timeout_ms, .s = &s };
	struct rb_rec *recs = NULL;
	Hs__PhotoRecord **pp = NULL;
	size_t n = 0;
	hs_status st = list_all(&b, err);
	if (st == HS_OK)
		st = build_records(&b, &recs, &n, err);
	if (st == HS_OK && (pp = calloc(n ? n : 1, sizeof(*pp))) == NULL)
		st = hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; st == HS_OK && i < n; i++)
		pp[i] = &recs[i].rec;
	if (st == HS_OK)
		st = hsi_restore_records(c, pp, n, progress, arg, timeout_ms,
		    &s, err);
	free(pp);
	free(recs);
	free(b.e);
	if (b.table != NULL)
		hs__list_stores_reply__free_unpacked(b.table, NULL);
	if (st == HS_OK && out != NULL)
		*out = s;
	return st;
}
