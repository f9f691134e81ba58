/* The worker's commit phase (see worker.h): UpdateLocations at the leader
 * for every item of a batch at once, so the leader pipelines the fenced
 * commits; a photo deleted meanwhile gets its fresh copies deleted instead
 * (never resurrected); trims come after their commit, so no reader is sent
 * to a copy that is gone. */
#include <stdio.h>
#include <stdlib.h>

#include "dirlink.h"
#include "rpc_batch.h"
#include "storelink.h"
#include "worker.h"

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
			repl_store_delete(r, c->add[j], it->t.key,
			    it->t.cookie);
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
			repl_store_delete(r, c->add[j], it->t.key,
			    it->t.cookie);
	} else {
		repl_item_fail(it, "UpdateLocations failed: %s: %s",
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
