/* Worker threads: run a batch of tasks. Each task is re-planned from a
 * fresh Lookup (so stale or repeated tasks are harmless), then:
 *  1. copies: the photo is read from a healthy replica and checked against
 *     the record's SHA-256 (a bad copy is reported and the next tried),
 *     and sent store-to-store with Replicate, many needles per call; the
 *     reads of a chunk are in flight together;
 *  2. commit: the batch's records are looked up again right before
 *     committing; a photo deleted meanwhile is not touched (the copies just
 *     made are deleted), others get UpdateLocations(add, remove, target)
 *     at the leader, which itself refuses to add to a deleted photo; the
 *     batch's commits are in flight together, so the leader pipelines them;
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
#include "rpc_batch.h"

/* Reads and commits in flight at once per worker: enough to hide round
 * trips and let the leader pipeline its Redis commits, few enough that
 * one worker cannot monopolise a store. */
#define REPL_CALL_WINDOW 32

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

/* Keeps rr's bytes as the item's data when they match the record (1),
 * else warns and queues store s's copy for replacement (0). Frees rr. */
static int
take_read(struct repl *r, struct item *it, uint32_t s, Hs__ReadReply *rr)
{
	uint8_t got[32];
	SHA256(rr->data.data ? rr->data.data : (const uint8_t *)"",
	    rr->data.len, got);
	if (rr->data.len == it->size && memcmp(got, it->sha, 32) == 0) {
		it->data = malloc(it->size ? it->size : 1);
		if (it->data)
			memcpy(it->data, rr->data.data, it->size);
		it->from = s;
		protobuf_c_message_free_unpacked(&rr->base, NULL);
		return it->data != NULL;
	}
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(it->t.key, it->t.cookie, id24);
	hs_warn("photo %s on store %u does not match its record's "
	    "SHA-256: replacing that copy", id24, s);
	protobuf_c_message_free_unpacked(&rr->base, NULL);
	struct repl_task bad = it->t;
	bad.nbad = 1;
	bad.bad[0] = s;
	bad.attempt = 0;
	repl_enqueue(r, &bad);
	return 0;
}

/* A read of the photo at store s failed with st: a copy that is corrupt
 * or missing there is queued to be replaced on the next run. */
static void
read_failed(struct repl *r, const struct item *it, uint32_t s, hs_status st)
{
	if (st != HS_DATA_LOSS && st != HS_NOT_FOUND)
		return;
	struct repl_task bad = it->t;
	bad.nbad = 1;
	bad.bad[0] = s;
	bad.attempt = 0;
	repl_enqueue(r, &bad);
}

/* Reads the photo from a healthy replica, from healthy[first] on, and
 * checks its SHA-256. */
static void
fetch(struct repl *r, struct item *it, size_t first)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = it->t.key;
	id.cookie = it->t.cookie;
	req.id = &id;
	for (size_t i = first; i < it->plan.nhealthy; i++) {
		uint32_t s = it->plan.healthy[i];
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		hs_status st = repl_store_call(r, s, "Read", &req.base, &m, 0, &e);
		if (st != HS_OK) {
			read_failed(r, it, s, st);
			continue;
		}
		if (take_read(r, it, s, (Hs__ReadReply *)m))
			return;
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

static int
needs_copy(const struct item *it)
{
	return it->found && ndest(it) > 0 && it->plan.nhealthy > 0;
}

/* Reads every photo of the chunk that needs copies at once, each from its
 * first healthy replica; one whose read failed or did not match goes on
 * through fetch() with the replicas after that one. */
static void
fetch_many(struct repl *r, struct item *items, size_t n)
{
	struct rpc_batch_call *calls = calloc(n, sizeof(*calls));
	Hs__ReadRequest *reqs = calloc(n, sizeof(*reqs));
	Hs__PhotoId *ids = calloc(n, sizeof(*ids));
	size_t *which = calloc(n, sizeof(*which));
	size_t m = 0;
	if (!calls || !reqs || !ids || !which) {
		for (size_t i = 0; i < n; i++)
			if (needs_copy(&items[i]))
				fetch(r, &items[i], 0);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!needs_copy(&items[i]))
			continue;
		hs__read_request__init(&reqs[m]);
		hs__photo_id__init(&ids[m]);
		ids[m].key = items[i].t.key;
		ids[m].cookie = items[i].t.cookie;
		reqs[m].id = &ids[m];
		calls[m] = (struct rpc_batch_call){
			.client = repl_store_client(r, items[i].plan.healthy[0]),
			.svc = &hs__store__descriptor, .method = "Read",
			.req = &reqs[m].base };
		which[m++] = i;
	}
	rpc_batch_run(calls, m, REPL_CALL_WINDOW, r->cfg.rpc_timeout_ms);
	for (size_t k = 0; k < m; k++) {
		struct item *it = &items[which[k]];
		uint32_t s = it->plan.healthy[0];
		if (calls[k].status != HS_OK)
			read_failed(r, it, s, calls[k].status);
		else if (take_read(r, it, s, (Hs__ReadReply *)calls[k].reply))
			continue;
		fetch(r, it, 1);
	}
	free(calls);
	free(reqs);
	free(ids);
	free(which);
}

/* Copies in chunks of at most REPAIR_BATCH_BYTES (at least one photo):
 * read them all, then one Replicate per destination store. */
static void
copy_phase(struct repl *r, struct item *items, size_t n)
{
	for (size_t start = 0, end; start < n; start = end) {
		uint64_t bytes = 0;
		for (end = start; end < n; end++) {
			uint64_t size = needs_copy(&items[end]) ?
			    items[end].size : 0;
			if (end > start && bytes + size >
			    (uint64_t)r->cfg.batch_bytes)
				break;
			bytes += size;
		}
		fetch_many(r, items + start, end - start);
		send_fetched(r, items + start, end - start);
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

/* One item's UpdateLocations, built in storage the caller owns. */
struct commit {
	struct item *it;
	Hs__UpdateLocationsRequest req;
	Hs__PhotoId id;
	uint32_t add[REPL_MAX_LOC];
};

/* Prepares c for it: 1 when the directory must be told something. A photo
 * deleted meanwhile gets its fresh copies deleted instead (0). */
static int
commit_prepare(struct repl *r, struct item *it, int still_active,
    struct commit *c)
{
	size_t nadd = 0;
	for (size_t j = 0; j < it->plan.nadd; j++)
		if (it->sent[j])
			c->add[nadd++] = it->plan.add[j];
	if (!still_active) {
		for (size_t j = 0; j < nadd; j++)
			repl_store_delete(r, c->add[j], it->t.key, it->t.cookie);
		return 0; /* deleted meanwhile: nothing more to do */
	}
	if (nadd == 0 && it->plan.nremove == 0 && !it->plan.target_changed)
		return 0;
	c->it = it;
	hs__update_locations_request__init(&c->req);
	hs__photo_id__init(&c->id);
	c->id.key = it->t.key;
	c->id.cookie = it->t.cookie;
	c->req.id = &c->id;
	c->req.add = c->add;
	c->req.n_add = nadd;
	c->req.remove = it->plan.remove;
	c->req.n_remove = it->plan.nremove;
	c->req.target_replicas = it->plan.target_changed ? it->plan.target : 0;
	return 1;
}

/* What the directory's answer st means for the item: trims after a
 * success, undoing the copies when the photo is gone. */
static void
commit_outcome(struct repl *r, struct commit *c, hs_status st,
    const struct rpc_error *e)
{
	struct item *it = c->it;
	if (st == HS_OK) {
		for (size_t j = 0; j < it->plan.ntrim; j++)
			repl_store_delete(r, it->plan.trim[j], it->t.key,
			    it->t.cookie);
	} else if (st == HS_FAILED_PRECONDITION || st == HS_NOT_FOUND) {
		/* The leader refuses locations for a deleted photo: undo. */
		for (size_t j = 0; j < c->req.n_add; j++)
			repl_store_delete(r, c->add[j], it->t.key, it->t.cookie);
	} else {
		item_fail(it, "UpdateLocations failed: %s: %s",
		    hs_status_str(st), e->message);
	}
}

/* Commits the prepared items at once. A call that met a leader change (a
 * hint, or no answer) is made again on its own through repl_dir_call,
 * which follows the leader. */
static void
commit_many(struct repl *r, struct commit *cs, size_t n)
{
	struct rpc_batch_call *calls = calloc(n ? n : 1, sizeof(*calls));
	rpc_client *leader = repl_dir_client(r);
	for (size_t i = 0; calls && i < n; i++)
		calls[i] = (struct rpc_batch_call){ .client = leader,
			.svc = &hs__directory__descriptor,
			.method = "UpdateLocations", .req = &cs[i].req.base };
	if (calls != NULL)
		rpc_batch_run(calls, n, REPL_CALL_WINDOW, r->cfg.rpc_timeout_ms);
	for (size_t i = 0; i < n; i++) {
		hs_status st = calls ? calls[i].status : HS_RESOURCE_EXHAUSTED;
		struct rpc_error e = calls ? calls[i].err :
		    (struct rpc_error){ .code = st };
		ProtobufCMessage *m = calls ? calls[i].reply : NULL;
		if ((st == HS_FAILED_PRECONDITION && e.leader_hint[0]) ||
		    st == HS_UNAVAILABLE || st == HS_DEADLINE_EXCEEDED ||
		    st == HS_RESOURCE_EXHAUSTED)
			st = repl_dir_call(r, "UpdateLocations",
			    &cs[i].req.base, &m, &e);
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
		commit_outcome(r, &cs[i], st, &e);
	}
	free(calls);
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
		struct commit *cs = calloc(n, sizeof(*cs));
		size_t ncs = 0;
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];
			if (!it->found || it->plan.prio < 0)
				continue;
			if (st != HS_OK || cs == NULL) {
				item_fail(it, "Lookup failed: %s: %s", st != HS_OK ?
				    hs_status_str(st) : "out of memory",
				    st != HS_OK ? e.message : "");
				continue;
			}
			ncs += (size_t)commit_prepare(r, it,
			    lr->results[i]->code == HS__CODE__OK, &cs[ncs]);
		}
		commit_many(r, cs, ncs);
		free(cs);
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
