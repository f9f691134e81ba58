/* Worker threads: run a batch of tasks. Each task is re-planned from a
 * fresh Lookup (so stale or repeated tasks are harmless), then:
 *  1. copies: the photo is read from a healthy replica and checked against
 *     the record's SHA-256 (a bad copy is reported and the next tried),
 *     and sent store-to-store with Replicate, many needles per call;
 *  2. commit: the batch's records are looked up again right before
 *     committing; a photo deleted meanwhile is not touched (the copies just
 *     made are deleted), others get UpdateLocations(add, remove, target)
 *     at the leader, which itself refuses to add to a deleted photo;
 *  3. trims: UpdateLocations removes the location first, then the store
 *     deletes the needle, so a reader is never sent to a missing copy.
 * A task whose work did not all succeed is retried with backoff. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dirlink.h"
#include "log.h"
#include "photo_id.h"
#include "repl.h"

struct item {
	struct repl_task t;
	int found;		/* the record is active */
	uint8_t sha[32];
	uint64_t size;
	uint32_t stores[REPL_MAX_LOC];
	size_t nstores;
	uint32_t target;
	struct repl_plan plan;
	uint8_t *data;		/* read from a good replica; freed on send */
	uint32_t from;		/* where data came from */
	int sent[REPL_MAX_LOC];	/* per plan.add[] then plan.rewrite[] */
	int ok;
	char err[480];
};

static void
item_fail(struct item *it, const char *fmt, const char *a, const char *b)
{
	it->ok = 0;
	if (it->err[0] == '\0')
		snprintf(it->err, sizeof(it->err), fmt, a, b);
}

/* Lookup of many photos (include_down): *reply is the caller's. */
static hs_status
lookup(struct repl *r, struct item *items, size_t n, Hs__LookupReply **out,
    struct rpc_error *e)
{
	Hs__LookupRequest req = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId *ids = calloc(n, sizeof(*ids));
	Hs__PhotoId **pids = calloc(n, sizeof(*pids));
	hs_status st = HS_RESOURCE_EXHAUSTED;
	*out = NULL;
	if (ids && pids) {
		for (size_t i = 0; i < n; i++) {
			hs__photo_id__init(&ids[i]);
			ids[i].key = items[i].t.key;
			ids[i].cookie = items[i].t.cookie;
			pids[i] = &ids[i];
		}
		req.ids = pids;
		req.n_ids = n;
		req.include_down = 1;
		ProtobufCMessage *m = NULL;
		st = repl_dir_call(r, "Lookup", &req.base, &m, e);
		if (st == HS_OK && ((Hs__LookupReply *)m)->n_results != n) {
			protobuf_c_message_free_unpacked(m, NULL);
			st = HS_INTERNAL;
			snprintf(e->message, sizeof(e->message),
			    "Lookup answered a different number of results");
		} else if (st == HS_OK) {
			*out = (Hs__LookupReply *)m;
		}
	}
	free(ids);
	free(pids);
	return st;
}

static void
plan_items(struct repl *r, struct item *items, size_t n,
    const Hs__LookupReply *lr)
{
	struct repl_store st[REPL_MAX_STORES];
	size_t nst = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	int64_t mono = hs_mono_ms(), now = hs_now_ms();
	int may_lower = mono - atomic_load(&r->active_since) >=
	    2 * r->cfg.half_life_ms;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		const Hs__LookupResult *res = lr->results[i];
		it->ok = 1;
		it->plan.prio = -1;
		if (res->code != HS__CODE__OK || res->record == NULL ||
		    res->record->sha256.len != 32)
			continue; /* deleted or unknown: nothing to keep */
		const Hs__PhotoRecord *rec = res->record;
		it->found = 1;
		memcpy(it->sha, rec->sha256.data, 32);
		it->size = rec->size;
		it->nstores = rec->n_stores < REPL_MAX_LOC ? rec->n_stores :
		    REPL_MAX_LOC;
		memcpy(it->stores, rec->stores, it->nstores * sizeof(uint32_t));
		it->target = rec->target_replicas;
		struct repl_photo_state ph = { .stores = it->stores,
			.nstores = it->nstores, .target = it->target,
			.bad = it->t.bad, .nbad = (size_t)it->t.nbad,
			.rate = repl_rates_get(r->rates, it->t.key, mono),
			.may_lower = may_lower, .size = it->size };
		repl_plan_photo(&r->pol, st, nst, &ph, now, &it->plan);
		/* Planned as if those copies were fine; look again once our
		 * store table has caught up with the directory's. */
		if (it->plan.nunknown > 0)
			item_fail(it, "%s%s", "a location is on a store not in "
			    "the store table yet", "");
	}
}

/* Reads the photo from a healthy replica and checks its SHA-256. */
static void
fetch(struct repl *r, struct item *it)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = it->t.key;
	id.cookie = it->t.cookie;
	req.id = &id;
	for (size_t i = 0; i < it->plan.nhealthy; i++) {
		uint32_t s = it->plan.healthy[i];
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		hs_status st = repl_store_call(r, s, "Read", &req.base, &m, 0, &e);
		if (st != HS_OK) {
			if (st == HS_DATA_LOSS || st == HS_NOT_FOUND) {
				struct repl_task bad = it->t;
				bad.nbad = 1;
				bad.bad[0] = s;
				bad.attempt = 0;
				repl_enqueue(r, &bad); /* replaced next run */
			}
			continue;
		}
		Hs__ReadReply *rr = (Hs__ReadReply *)m;
		uint8_t got[32];
		SHA256(rr->data.data ? rr->data.data : (const uint8_t *)"",
		    rr->data.len, got);
		if (rr->data.len == it->size && memcmp(got, it->sha, 32) == 0) {
			it->data = malloc(it->size ? it->size : 1);
			if (it->data)
				memcpy(it->data, rr->data.data, it->size);
			it->from = s;
			protobuf_c_message_free_unpacked(m, NULL);
			return;
		}
		char id24[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(it->t.key, it->t.cookie, id24);
		hs_warn("photo %s on store %u does not match its record's "
		    "SHA-256: replacing that copy", id24, s);
		protobuf_c_message_free_unpacked(m, NULL);
		struct repl_task bad = it->t;
		bad.nbad = 1;
		bad.bad[0] = s;
		bad.attempt = 0;
		repl_enqueue(r, &bad);
	}
	item_fail(it, "no healthy replica could be read%s%s", "", "");
}

/* Destination j of an item: plan.add[] first, then plan.rewrite[]. */
static size_t
ndest(const struct item *it)
{
	return it->plan.nadd + it->plan.nrewrite;
}

static uint32_t
dest(const struct item *it, size_t j)
{
	return j < it->plan.nadd ? it->plan.add[j] :
	    it->plan.rewrite[j - it->plan.nadd];
}

/* Sends every fetched needle to its destinations: one Replicate per
 * destination store carrying all needles bound there. */
static void
send_fetched(struct repl *r, struct item *items, size_t n)
{
	uint32_t done[REPL_MAX_STORES];
	size_t ndone = 0;
	Hs__Needle *nd = calloc(n ? n : 1, sizeof(*nd));
	Hs__Needle **pn = calloc(n ? n : 1, sizeof(*pn));
	Hs__PhotoId *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	if (!nd || !pn || !ids || !which)
		goto out;
	for (size_t a = 0; a < n; a++) {
		for (size_t j = 0; j < ndest(&items[a]); j++) {
			if (items[a].data == NULL || items[a].sent[j])
				continue;
			uint32_t to = dest(&items[a], j);
			int seen = 0;
			for (size_t k = 0; k < ndone; k++)
				seen |= done[k] == to;
			if (seen || ndone == REPL_MAX_STORES)
				continue;
			done[ndone++] = to;
			/* Gather every item bound for `to`. */
			size_t m = 0;
			for (size_t b = a; b < n; b++) {
				struct item *it = &items[b];
				for (size_t q = 0; q < ndest(it); q++) {
					if (it->data == NULL || it->sent[q] ||
					    dest(it, q) != to)
						continue;
					hs__needle__init(&nd[m]);
					hs__photo_id__init(&ids[m]);
					ids[m].key = it->t.key;
					ids[m].cookie = it->t.cookie;
					nd[m].id = &ids[m];
					nd[m].data.data = it->data;
					nd[m].data.len = it->size;
					nd[m].sha256.data = it->sha;
					nd[m].sha256.len = 32;
					pn[m] = &nd[m];
					which[m++] = b * REPL_MAX_LOC + q;
				}
			}
			Hs__ReplicateRequest req = HS__REPLICATE_REQUEST__INIT;
			req.needles = pn;
			req.n_needles = m;
			ProtobufCMessage *rep = NULL;
			struct rpc_error e;
			hs_status st = repl_store_call(r, to, "Replicate",
			    &req.base, &rep, 0, &e);
			Hs__ReplicateReply *rr = (Hs__ReplicateReply *)rep;
			for (size_t k = 0; k < m; k++) {
				struct item *it = &items[which[k] / REPL_MAX_LOC];
				size_t q = which[k] % REPL_MAX_LOC;
				if (st == HS_OK && k < rr->n_results &&
				    rr->results[k]->code == HS__CODE__OK)
					it->sent[q] = 1;
				else
					item_fail(it, "copy to a store failed: %s%s",
					    st == HS_OK ? "refused by the store" :
					    e.message, "");
			}
			if (rep)
				protobuf_c_message_free_unpacked(rep, NULL);
		}
	}
out:
	for (size_t a = 0; a < n; a++) {
		free(items[a].data);
		items[a].data = NULL;
	}
	free(nd);
	free(pn);
	free(ids);
	free(which);
}

static void
copy_phase(struct repl *r, struct item *items, size_t n)
{
	size_t start = 0;
	uint64_t pending = 0;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (it->found && ndest(it) > 0) {
			fetch(r, it);
			pending += it->data ? it->size : 0;
		}
		if (pending >= (uint64_t)r->cfg.batch_bytes || i + 1 == n) {
			send_fetched(r, items + start, i + 1 - start);
			start = i + 1;
			pending = 0;
		}
	}
}

void
repl_store_delete(struct repl *r, uint32_t store, uint64_t key, uint32_t cookie)
{
	Hs__StoreDeleteRequest req = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = cookie;
	req.id = &id;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(key, cookie, id24);
	hs_status st = repl_store_call(r, store, "Delete", &req.base, &m, 0, &e);
	if (st == HS_OK) {
		hs_info("deleted photo %s from store %u", id24, store);
		protobuf_c_message_free_unpacked(m, NULL);
	} else {
		hs_warn("cannot delete photo %s from store %u: %s: %s (the "
		    "audit will retry)", id24, store, hs_status_str(st),
		    e.message);
	}
}

/* Commits one item's new locations; deletes its fresh copies if the photo
 * was deleted meanwhile. */
static void
commit_item(struct repl *r, struct item *it, int still_active)
{
	uint32_t add[REPL_MAX_LOC];
	size_t nadd = 0;
	for (size_t j = 0; j < it->plan.nadd; j++)
		if (it->sent[j])
			add[nadd++] = it->plan.add[j];
	if (!still_active) {
		for (size_t j = 0; j < nadd; j++)
			repl_store_delete(r, add[j], it->t.key, it->t.cookie);
		return; /* deleted meanwhile: nothing more to do */
	}
	if (nadd == 0 && it->plan.nremove == 0 && !it->plan.target_changed)
		return;
	Hs__UpdateLocationsRequest req = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = it->t.key;
	id.cookie = it->t.cookie;
	req.id = &id;
	req.add = add;
	req.n_add = nadd;
	req.remove = it->plan.remove;
	req.n_remove = it->plan.nremove;
	req.target_replicas = it->plan.target_changed ? it->plan.target : 0;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = repl_dir_call(r, "UpdateLocations", &req.base, &m, &e);
	if (st == HS_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		for (size_t j = 0; j < it->plan.ntrim; j++)
			repl_store_delete(r, it->plan.trim[j], it->t.key, it->t.cookie);
		return;
	}
	if (st == HS_FAILED_PRECONDITION || st == HS_NOT_FOUND) {
		/* The leader refuses locations for a deleted photo: undo. */
		for (size_t j = 0; j < nadd; j++)
			repl_store_delete(r, add[j], it->t.key, it->t.cookie);
		return;
	}
	item_fail(it, "UpdateLocations failed: %s: %s", hs_status_str(st),
	    e.message);
}

static void
finish(struct repl *r, struct item *it)
{
	/* Hot photos are watched until they cool; others are not. */
	if (it->ok)
		repl_rates_set_hot(r->rates, it->t.key, it->t.cookie,
		    it->found && it->plan.target > r->pol.def);
	/* An item that never got a plan (its record was gone, or the lookup
	 * failed) has no kind. */
	const char *kind = it->plan.kind != NULL && it->plan.kind[0] ?
	    it->plan.kind : "none";
	uint32_t to[REPL_MAX_LOC];
	size_t nto = 0;
	for (size_t j = 0; j < ndest(it); j++)
		if (it->sent[j])
			to[nto++] = dest(it, j);
	uint32_t from[1] = { it->from };
	int requeued = repl_queue_finish(r->queue, &it->t, it->ok,
	    hs_mono_ms(), r->cfg.retry_base_ms, (uint32_t)r->cfg.max_attempts);
	if (it->ok) {
		if (it->plan.prio >= 0)
			hs_debug("task %s for photo %016llx done: %zu copies "
			    "from store %u, %zu locations removed", kind,
			    (unsigned long long)it->t.key, nto, it->from,
			    it->plan.nremove);
		if (it->plan.prio >= 0)
			repl_publish_task(r, "task.done", &it->t, kind, from,
			    it->from ? 1 : 0, to, nto, NULL);
	} else {
		char id24[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(it->t.key, it->t.cookie, id24);
		hs_warn("task %s for photo %s (attempt %u) failed: %s%s", kind,
		    id24, it->t.attempt + 1, it->err,
		    requeued ? "; will retry" : "; giving up");
		repl_publish_task(r, "task.failed", &it->t, kind, from,
		    it->from ? 1 : 0, to, nto, it->err);
	}
}

static void
run_batch(struct repl *r, struct repl_task *tasks, size_t n)
{
	struct item *items = calloc(n, sizeof(*items));
	if (items == NULL) {
		for (size_t i = 0; i < n; i++)
			repl_queue_finish(r->queue, &tasks[i], 0, hs_mono_ms(),
			    r->cfg.retry_base_ms, (uint32_t)r->cfg.max_attempts);
		return;
	}
	for (size_t i = 0; i < n; i++)
		items[i].t = tasks[i];
	Hs__LookupReply *lr = NULL;
	struct rpc_error e;
	hs_status st = lookup(r, items, n, &lr, &e);
	if (st != HS_OK) {
		for (size_t i = 0; i < n; i++)
			item_fail(&items[i], "Lookup failed: %s: %s",
			    hs_status_str(st), e.message);
	} else {
		plan_items(r, items, n, lr);
		protobuf_c_message_free_unpacked(&lr->base, NULL);
		copy_phase(r, items, n);
		/* The state right before committing: never resurrect. */
		st = lookup(r, items, n, &lr, &e);
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];
			if (!it->found || it->plan.prio < 0)
				continue;
			if (st != HS_OK) {
				item_fail(it, "Lookup failed: %s: %s",
				    hs_status_str(st), e.message);
				continue;
			}
			commit_item(r, it, lr->results[i]->code == HS__CODE__OK);
		}
		if (lr)
			protobuf_c_message_free_unpacked(&lr->base, NULL);
	}
	for (size_t i = 0; i < n; i++)
		finish(r, &items[i]);
	free(items);
}

void *
repl_worker_main(void *arg)
{
	struct repl *r = arg;
	size_t max = (size_t)r->cfg.batch < 1000 ? (size_t)r->cfg.batch : 1000;
	struct repl_task *tasks = calloc(max, sizeof(*tasks));
	while (tasks && !atomic_load(&r->stop)) {
		if (!repl_is_active(r) || !repl_stores_loaded(r)) {
			struct timespec ts = { 0, 50000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		size_t n = repl_queue_pop(r->queue, tasks, max, hs_mono_ms(), 200);
		if (n > 0)
			run_batch(r, tasks, n);
	}
	free(tasks);
	return NULL;
}
