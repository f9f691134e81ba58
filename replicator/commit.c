/* The worker's commit phase (see worker.h): the batch's location changes
 * go to the leader as one UpdateLocationsBatch (one fenced script for
 * them all; UpdateLocations each, in flight together, when the batch
 * call fails as a whole or there is only one); a photo deleted meanwhile gets its fresh copies deleted instead
 * (never resurrected); trims come after their commit, so no reader is sent
 * to a copy that is gone. Each commit carries our fencing epoch and the
 * record seq its plan was made from: a replicator that lost its lease, or
 * planned from a record that changed since, commits nothing and so trims
 * nothing. A lost location leaves the record only with enough
 * replacements (repl_removable_lost). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirlink.h"
#include "rpc_batch.h"
#include "storelink.h"
#include "worker.h"

#define REPL_COMMIT_BATCH 1024 /* updates per UpdateLocationsBatch */

/* One item's UpdateLocations, built in storage the caller owns. */
struct commit {
	struct item *it;
	Hs__UpdateLocationsRequest req;
	Hs__PhotoId id;
	uint32_t add[REPL_MAX_LOC];
	uint32_t remove[2 * REPL_MAX_LOC];
};

/* Prepares c for it: 1 when the directory must be told something. A photo
 * deleted meanwhile gets its fresh copies deleted instead (0). */
static int
commit_prepare(struct repl *r, struct item *it, int still_active,
    struct commit *c)
{
	size_t nadd = 0, nsent = 0, nremove = 0;
	for (size_t j = 0; j < repl_ndest(it); j++) {
		nsent += it->sent[j] != 0;
		if (j < it->plan.nadd && it->sent[j])
			c->add[nadd++] = it->plan.add[j];
	}
	if (!still_active) {
		/* A fresh copy of a photo gone meanwhile is an orphan. */
		for (size_t j = 0; j < nadd; j++)
			repl_store_delete(r, c->add[j], it->t.key, it->t.cookie,
			    HS__DELETE_KIND__DELETE_KIND_ORPHAN);
		return 0; /* deleted meanwhile: nothing more to do */
	}
	size_t nlost = repl_removable_lost(&it->plan, nsent);
	for (size_t j = 0; j < nlost; j++)
		c->remove[nremove++] = it->plan.lost[j];
	for (size_t j = 0; j < it->plan.ntrim; j++)
		c->remove[nremove++] = it->plan.trim[j];
	if (nadd == 0 && nremove == 0 && !it->plan.target_changed)
		return 0;
	c->it = it;
	hs__update_locations_request__init(&c->req);
	hs__photo_id__init(&c->id);
	c->id.key = it->t.key;
	c->id.cookie = it->t.cookie;
	c->req.id = &c->id;
	c->req.add = c->add;
	c->req.n_add = nadd;
	c->req.remove = c->remove;
	c->req.n_remove = nremove;
	c->req.target_replicas = it->plan.target_changed ? it->plan.target : 0;
	c->req.expect_seq = it->seq;
	c->req.repl_epoch = repl_epoch(r);
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
		/* Committed under our epoch; trim only while it is still
		 * ours (a successor may be planning from newer records). */
		for (size_t j = 0; j < it->plan.ntrim && repl_is_active(r); j++)
			repl_store_delete(r, it->plan.trim[j], it->t.key,
			    it->t.cookie, HS__DELETE_KIND__DELETE_KIND_TRIM);
	} else if (st == HS_ABORTED) {
		repl_item_fail(it, "%s%s",
		    "the record changed since the plan was made; "
		    "re-planning from a fresh Lookup",
		    "");
	} else if ((st == HS_FAILED_PRECONDITION &&
		       strstr(e->message, "deleted")) ||
	    st == HS_NOT_FOUND) {
		/* The leader refuses locations for a deleted photo: undo. */
		for (size_t j = 0; j < c->req.n_add; j++)
			repl_store_delete(r, c->add[j], it->t.key, it->t.cookie,
			    HS__DELETE_KIND__DELETE_KIND_ORPHAN);
	} else {
		repl_item_fail(it, "UpdateLocations failed: %s: %s",
		    hs_status_str(st), e->message);
	}
}

/* Commits the prepared items at once, one UpdateLocations each. A call
 * that met a leader change (a hint, or no answer) is made again on its
 * own through repl_dir_call, which follows the leader. */
static void
commit_each(struct repl *r, struct commit *cs, size_t n)
{
	struct rpc_batch_call *calls = calloc(n ? n : 1, sizeof(*calls));
	rpc_client *leader = repl_dir_client(r);
	for (size_t i = 0; calls && i < n; i++)
		calls[i] = (struct rpc_batch_call){ .client = leader,
			.svc = &hs__directory__descriptor,
			.method = "UpdateLocations",
			.req = &cs[i].req.base };
	if (calls != NULL)
		rpc_batch_run(calls, n, REPL_CALL_WINDOW,
		    r->cfg.rpc_timeout_ms);
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

/* Commits cs[0..n) with ONE UpdateLocationsBatch (one fenced script at
 * the leader), each update keeping its own outcome. 0, or -1 when the
 * call failed as a whole (nothing is known: the caller commits them one
 * by one, which is safe, every update being a compare-and-set). */
static int
commit_batch(struct repl *r, struct commit *cs, size_t n)
{
	Hs__UpdateLocationsRequest **ups = calloc(n, sizeof(*ups));
	if (ups == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ups[i] = &cs[i].req;
	Hs__UpdateLocationsBatchRequest b =
	    HS__UPDATE_LOCATIONS_BATCH_REQUEST__INIT;
	b.updates = ups;
	b.n_updates = n;
	b.repl_epoch = repl_epoch(r);
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = repl_dir_call(r, "UpdateLocationsBatch", &b.base, &m,
	    &e);
	free(ups);
	const Hs__UpdateLocationsBatchReply
	    *rep = (const Hs__UpdateLocationsBatchReply *)m;
	if (st != HS_OK || rep->n_results != n) {
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
		return -1;
	}
	atomic_fetch_add(&r->batch_commits, 1);
	for (size_t i = 0; i < n; i++) {
		const Hs__UpdateLocationsResult *res = rep->results[i];
		struct rpc_error re = { .code = (hs_status)res->code,
			.answered = 1 };
		snprintf(re.message, sizeof(re.message), "%s",
		    res->message ? res->message : "");
		commit_outcome(r, &cs[i], re.code, &re);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

/* Commits the prepared items: in batches of up to REPL_COMMIT_BATCH when
 * there are several (a lost store's refill), else on their own. */
static void
commit_many(struct repl *r, struct commit *cs, size_t n)
{
	for (size_t at = 0, k; at < n; at += k) {
		k = n - at < REPL_COMMIT_BATCH ? n - at : REPL_COMMIT_BATCH;
		if (k < 2 || commit_batch(r, cs + at, k) != 0)
			commit_each(r, cs + at, k);
	}
}

void
repl_commit_phase(struct repl *r, struct item *items, size_t n,
    const Hs__LookupReply *lr, hs_status st, const struct rpc_error *e)
{
	struct commit *cs = calloc(n ? n : 1, sizeof(*cs));
	size_t ncs = 0;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		if (!it->found || it->plan.prio < 0)
			continue;
		if (st != HS_OK || cs == NULL) {
			repl_item_fail(it, "Lookup failed: %s: %s",
			    st != HS_OK ? hs_status_str(st) : "out of memory",
			    st != HS_OK ? e->message : "");
			continue;
		}
		ncs += (size_t)commit_prepare(r, it,
		    lr->results[i]->code == HS__CODE__OK, &cs[ncs]);
	}
	commit_many(r, cs, ncs);
	free(cs);
}
