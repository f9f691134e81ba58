/* Worker threads: run a batch of tasks. Each task is re-planned from a
 * fresh Lookup (so stale or repeated tasks are harmless), then:
 *  1. copies: a lost store's photos are copied store to store with Push,
 *     grouped by (source, target), the bytes never passing through us
 *     (bulk.c); any other copy (a bad one rewritten, a hot photo's top-up,
 *     or what a Push could not make) is read from a healthy replica and
 *     checked against the record's SHA-256 (a bad copy is reported and the
 *     next tried), and sent with Replicate, many needles per call; the
 *     reads of a chunk are in flight together (copy.c);
 *  2. commit: the batch's records are looked up again right before
 *     committing; a photo deleted meanwhile is not touched (the copies just
 *     made are deleted), others get UpdateLocations(add, remove, target)
 *     at the leader, which itself refuses to add to a deleted photo; the
 *     batch's commits are in flight together, so the leader pipelines them;
 *  3. trims: UpdateLocations removes the location first, then the store
 *     deletes the needle (kind TRIM), so a reader is never sent to a
 *     missing copy; the commit is fenced by our epoch and the record's
 *     seq, so a replicator that lost its lease trims nothing.
 * Steps 1 and 2-3 live in bulk.c, copy.c and commit.c. A task whose work did not
 * all succeed is retried with backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dirlink.h"
#include "grant.h"
#include "log.h"
#include "photo_id.h"
#include "repl.h"
#include "repl_metrics.h"
#include "storelink.h"
#include "worker.h"

/* Lookup of the batch's photos: *out is the caller's on HS_OK. */
static hs_status
lookup(struct repl *r, struct item *items, size_t n, Hs__LookupReply **out,
    struct rpc_error *e)
{
	Hs__PhotoId *ids = calloc(n, sizeof(*ids));
	Hs__PhotoId **pids = calloc(n, sizeof(*pids));
	hs_status st = HS_RESOURCE_EXHAUSTED;
	*out = NULL;
	if (ids && pids) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = repl_pb_id(items[i].t.key, items[i].t.cookie);
			pids[i] = &ids[i];
		}
		st = repl_dir_lookup(r, pids, n, 0, out, e);
	}
	free(ids);
	free(pids);
	return st;
}

/* Where a batch's write groups are being refilled: the first plan of a
 * group that adds a copy names the store, the group's later photos prefer
 * it (policy.h, prefer), so a lost member's photos land together. */
struct refill {
	uint32_t gid[REPL_BATCH_MAX], target[REPL_BATCH_MAX];
	size_t n;
};

static uint32_t
refill_target(const struct refill *f, uint32_t gid)
{
	for (size_t i = 0; gid != 0 && i < f->n; i++)
		if (f->gid[i] == gid)
			return f->target[i];
	return 0;
}

/* The write group the item's key names, when the store table knows it
 * and the record agrees (two of its stores in it, or all of a smaller
 * group): 1 and g filled, else 0. Keys made before groups were random,
 * so the key alone proves nothing. */
static int
item_group(struct repl *r, const struct item *it, struct repl_group *g)
{
	if (repl_store_group(r, rt_grant_group_of(it->t.key), g) != 0)
		return 0;
	size_t in = 0;
	for (size_t i = 0; i < it->nstores; i++)
		in += repl_has_id(g->stores, g->n, it->stores[i]);
	return in >= (g->n < 2 ? g->n : 2) && in > 0;
}

/* Bulk items (a below-target repair with nothing bad to rewrite: a lost
 * or DOWN store's photo) get their Push sources: the group's surviving
 * members first, rotated by group so each group refills from one member,
 * then the other healthy copies; without a group, rotated by key. */
static void
choose_sources(struct item *it, const struct repl_group *g, int has_group)
{
	const struct repl_plan *pl = &it->plan;
	it->bulk = it->found && pl->nadd > 0 && pl->nrewrite == 0 &&
	    it->t.nbad == 0 && pl->nhealthy > 0 &&
	    strcmp(pl->kind, "repair") == 0;
	if (!it->bulk)
		return;
	size_t nin = 0, k = 0;
	uint32_t in[REPL_MAX_LOC], out[REPL_MAX_LOC];
	for (size_t i = 0; i < pl->nhealthy; i++)
		if (has_group && repl_has_id(g->stores, g->n, pl->healthy[i]))
			in[nin++] = pl->healthy[i];
		else
			out[k++] = pl->healthy[i];
	uint64_t spin = has_group ? g->id : it->t.key;
	it->nsrcs = 0;
	for (size_t i = 0; i < nin; i++)
		it->srcs[it->nsrcs++] = in[(i + spin) % nin];
	for (size_t i = 0; i < k; i++)
		it->srcs[it->nsrcs++] = out[(i + (nin ? 0 : spin)) % k];
}

/* Plans one found item from its record rec. */
static void
plan_item(struct repl *r, struct item *it, const struct repl_store *st,
    size_t nst, struct refill *f)
{
	int64_t mono = rt_mono_ms();
	struct repl_group g;
	int has_group = item_group(r, it, &g);
	struct repl_photo_state ph = { .stores = it->stores,
		.nstores = it->nstores,
		.target = it->target,
		.bad = it->t.bad,
		.nbad = (size_t)it->t.nbad,
		.rate = repl_rates_get(r->rates, it->t.key, mono),
		.may_lower = mono - atomic_load(&r->active_since) >=
		    2 * r->cfg.half_life_ms,
		.size = it->size,
		.group = has_group ? g.stores : NULL,
		.ngroup = has_group ? g.n : 0,
		.prefer = has_group ? refill_target(f, g.id) : 0 };
	repl_plan_photo(&r->pol, st, nst, &ph, rt_now_ms(), &it->plan);
	if (has_group && it->plan.nadd > 0 && ph.prefer == 0 &&
	    f->n < REPL_BATCH_MAX) {
		f->gid[f->n] = g.id;
		f->target[f->n++] = it->plan.add[0];
	}
	choose_sources(it, &g, has_group);
	/* Planned as if those copies were fine; look again once our
	 * store table has caught up with the directory's. */
	if (it->plan.nunknown > 0)
		repl_item_fail(it, "%s%s",
		    "a location is on a store not in the store table yet", "");
}

static void
plan_items(struct repl *r, struct item *items, size_t n,
    const Hs__LookupReply *lr)
{
	struct repl_store st[REPL_MAX_STORES];
	size_t nst = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	struct refill *f = calloc(1, sizeof(*f));
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
		it->seq = rec->seq;
		struct refill none = { .n = REPL_BATCH_MAX };
		plan_item(r, it, st, nst, f ? f : &none);
	}
	free(f);
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
	    it->plan.kind :
	    "none";
	uint32_t to[REPL_MAX_LOC];
	size_t nto = 0;
	for (size_t j = 0; j < repl_ndest(it); j++)
		if (it->sent[j])
			to[nto++] = repl_dest(it, j);
	uint32_t from[1] = { it->from };
	int requeued = repl_queue_finish(r->queue, &it->t, it->ok, rt_mono_ms(),
	    r->cfg.retry_base_ms, (uint32_t)r->cfg.max_attempts);
	repl_metrics_task(kind,
	    it->ok	 ? "done" :
		requeued ? "retried" :
			   "failed");
	if (it->ok) {
		if (it->plan.prio >= 0)
			rt_log_debug("task %s for photo %016llx done: %zu copies "
				     "from store %u, %zu locations removed",
			    kind, (unsigned long long)it->t.key, nto, it->from,
			    it->plan.nlost + it->plan.ntrim);
		if (it->plan.prio >= 0)
			repl_publish_task(r, "task.done", &it->t, kind, from,
			    it->from ? 1 : 0, to, nto, NULL);
	} else {
		char id24[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(it->t.key, it->t.cookie, id24);
		rt_log_warn("task %s for photo %s (attempt %u) failed: %s%s",
		    kind, id24, it->t.attempt + 1, it->err,
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
			repl_queue_finish(r->queue, &tasks[i], 0, rt_mono_ms(),
			    r->cfg.retry_base_ms,
			    (uint32_t)r->cfg.max_attempts);
		return;
	}
	for (size_t i = 0; i < n; i++)
		items[i].t = tasks[i];
	Hs__LookupReply *lr = NULL;
	struct rpc_error e;
	hs_status st = lookup(r, items, n, &lr, &e);
	if (st != HS_OK) {
		for (size_t i = 0; i < n; i++)
			repl_item_fail(&items[i], "Lookup failed: %s: %s",
			    hs_status_str(st), e.message);
	} else {
		plan_items(r, items, n, lr);
		protobuf_c_message_free_unpacked(&lr->base, NULL);
		repl_bulk_phase(r, items, n);
		repl_copy_phase(r, items, n);
		/* The state right before committing: never resurrect. */
		st = lookup(r, items, n, &lr, &e);
		repl_commit_phase(r, items, n, lr, st, &e);
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
	size_t max = (size_t)r->cfg.batch < REPL_BATCH_MAX ?
	    (size_t)r->cfg.batch :
	    REPL_BATCH_MAX;
	struct repl_task *tasks = calloc(max, sizeof(*tasks));
	while (tasks && !atomic_load(&r->stop)) {
		if (!repl_is_active(r) || !repl_stores_loaded(r)) {
			struct timespec ts = { 0, 50000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		size_t n = repl_queue_pop(r->queue, tasks, max, rt_mono_ms(),
		    200);
		if (n > 0)
			run_batch(r, tasks, n);
	}
	free(tasks);
	return NULL;
}
