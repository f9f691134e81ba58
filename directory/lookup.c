/* Lookup's answer, from memory on any replica: each id's record with its
 * replicas ranked for the reader (UP first, then READONLY, most free
 * space first; DOWN and unknown stores only when asked for). Unknown,
 * wrong cookie and deleted all read NOT_FOUND. */
#include "lookup.h"

#include <stdlib.h>
#include <string.h>

struct lookup_item {
	Hs__LookupResult res;
	struct dir_rec_view v;
	Hs__Replica rep[DIR_MAX_REPLICAS];
	Hs__Replica *repp[DIR_MAX_REPLICAS];
	struct dir_store st[DIR_MAX_REPLICAS];
};

static int
replica_rank(const struct dir_store *s)
{
	return s->state == HS__STORE_STATE__STORE_UP	? 0 :
	    s->state == HS__STORE_STATE__STORE_READONLY ? 1 :
							  2;
}

/* Replicas of it, UP first, then most free space first. */
static void
fill_replicas(struct dir *d, struct lookup_item *it, int include_down)
{
	size_t n = 0;
	for (size_t i = 0; i < it->v.rec.n_stores; i++) {
		struct dir_store s;
		if (dir_stores_get(d->stores, it->v.stores[i], &s) != 0) {
			memset(&s, 0, sizeof(s));
			s.id = it->v.stores[i];
			s.state = HS__STORE_STATE__STORE_UNKNOWN;
		}
		if (!include_down && replica_rank(&s) == 2)
			continue;
		size_t k = n++;
		int rank = replica_rank(&s);
		while (k > 0 &&
		    (replica_rank(&it->st[k - 1]) > rank ||
			(replica_rank(&it->st[k - 1]) == rank &&
			    it->st[k - 1].free_bytes < s.free_bytes))) {
			it->st[k] = it->st[k - 1];
			k--;
		}
		it->st[k] = s;
	}
	for (size_t i = 0; i < n; i++) {
		hs__replica__init(&it->rep[i]);
		it->rep[i].store_id = it->st[i].id;
		it->rep[i].rpc_addr = it->st[i].rpc_addr;
		it->rep[i].state = it->st[i].state;
		it->rep[i].zone = it->st[i].zone;
		it->rep[i].http_url = it->st[i].http_url;
		it->repp[i] = &it->rep[i];
	}
	it->res.replicas = it->repp;
	it->res.n_replicas = n;
}

void
dir_lookup_answer(struct dir *d, rpc_call *call, const Hs__LookupRequest *q)
{
	struct lookup_item *items = calloc(q->n_ids ? q->n_ids : 1,
	    sizeof(*items));
	Hs__LookupResult **res = calloc(q->n_ids ? q->n_ids : 1, sizeof(*res));
	if (items == NULL || res == NULL) {
		free(items);
		free(res);
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	Hs__LookupReply r = HS__LOOKUP_REPLY__INIT;
	r.applied_seq = dir_records_applied(d->recs);
	for (size_t i = 0; i < q->n_ids; i++) {
		struct lookup_item *it = &items[i];
		hs__lookup_result__init(&it->res);
		it->res.id = q->ids[i];
		res[i] = &it->res;
		/* Unknown, wrong cookie and deleted all read NOT_FOUND, so a
		 * guessed key teaches nothing. */
		int known = dir_records_get(d->recs, q->ids[i]->key, &it->v) ==
			0 &&
		    it->v.id.cookie == q->ids[i]->cookie;
		if (!known ||
		    it->v.rec.state != HS__PHOTO_STATE__PHOTO_ACTIVE) {
			it->res.code = HS__CODE__NOT_FOUND;
			/* A store re-checking its needles must tell deleted
			 * (tombstone it) from unknown (maybe not registered
			 * yet): it holds the cookie, so nothing leaks. */
			if (known && q->include_deleted)
				it->res.record = &it->v.rec;
			continue;
		}
		it->res.code = HS__CODE__OK;
		it->res.record = &it->v.rec;
		fill_replicas(d, it, q->include_down);
	}
	r.results = res;
	r.n_results = q->n_ids;
	atomic_fetch_add(&d->lookups, q->n_ids);
	rpc_reply(call, &r.base);
	free(items);
	free(res);
}
