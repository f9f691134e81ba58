/* Allocate on the writer thread: a write grant (DESIGN.md, "Data paths
 * (v2)"). The leader places it on a write group of DEFAULT_REPLICA_COUNT
 * stores (placement.h: spread over zones and free space, grant by grant,
 * a few groups per store), making the group when it is new, takes
 * `count` sequence numbers from the fenced counter and turns them into ids
 * through the keyed permutation (runtime/grant.h); one token covers them
 * all. Only the leader grants: the counter is what makes an id never come
 * back for other bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grant.h"
#include "groups_redis.h"
#include "placement.h"
#include "scripts.h"
#include "token.h"
#include "writer_impl.h"

/* Makes the group of exactly stores[0..n): its id, or 0 and the call
 * answered when it cannot be made. */
static uint32_t
make_group(struct dir_job *j, const char *lease, const uint32_t *stores,
    size_t n)
{
	struct dir *d = j->d;
	struct dir_group e = { .n = n };
	char err[256];
	memcpy(e.stores, stores, n * sizeof(*stores));
	int rc = dir_groups_create(d->groups, j->d->writer.link, lease, &e, err,
	    sizeof(err));
	if (rc == 0)
		return e.id;
	if (strstr(err, "FENCED") != NULL)
		dir_step_down(d, "making a write group was fenced");
	rpc_fail(j->call, rc == -1 ? HS_UNAVAILABLE : HS_INTERNAL,
	    "cannot make a write group: %s; retry", err);
	return 0;
}

/* Takes count sequence numbers: 0 and *first, or -1 with the call
 * answered. */
static int
take_seqs(struct dir_job *j, const char *lease, uint32_t count, uint64_t *first)
{
	char n[16], err[256];
	snprintf(n, sizeof(n), "%" PRIu32, count);
	const char *argv[] = { RK_LEADER, RK_GRANT_SEQ, lease, n };
	size_t lens[] = { strlen(RK_LEADER), strlen(RK_GRANT_SEQ),
		strlen(lease), strlen(n) };
	redisReply *rep = rt_redis_eval(j->d->writer.link, &dir_script_grant, 2,
	    4, argv, lens, err, sizeof(err));
	if (dir_writer_script_failed(j, rep, err)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return -1;
	}
	uint64_t last = (uint64_t)rep->element[1]->integer;
	freeReplyObject(rep);
	if (last > RT_GRANT_SEQ_MAX) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED,
		    "every photo id has been handed out (%" PRIu64 ")", last);
		return -1;
	}
	*first = last - count + 1;
	return 0;
}

/* Places the grant (placement.h), making its group when new: 0 with
 * its stores and group, or -1 with the call answered. */
static int
place(struct dir_job *j, const char *lease, const Hs__AllocateRequest *q,
    uint32_t *ids, size_t want, uint32_t *group)
{
	size_t ups;
	size_t got = dir_place(j->d->stores, j->d->groups, want, q->size, ids,
	    group, &ups);
	if (got != want) {
		rpc_fail(j->call, HS_FAILED_PRECONDITION,
		    "need %zu stores that are UP with %" PRIu64
		    " bytes free, but only %zu of %zu UP stores qualify; add "
		    "stores or wait for DOWN ones",
		    want, q->size, got, ups);
		return -1;
	}
	if (*group == 0)
		*group = make_group(j, lease, ids, want);
	return *group != 0 ? 0 : -1;
}

/* What a grant's reply points into. */
struct grant {
	Hs__PhotoId id[RT_GRANT_MAX_COUNT], *idp[RT_GRANT_MAX_COUNT];
	Hs__Replica rep[DIR_MAX_REPLICAS], *repp[DIR_MAX_REPLICAS];
	struct dir_store st[DIR_MAX_REPLICAS];
};

/* Fills r's ids (skipping any key a record made before grants already
 * holds) and stores. */
static void
fill_reply(struct dir *d, struct grant *g, Hs__AllocateReply *r, uint32_t group,
    uint64_t first, uint32_t count, const uint32_t *stores, size_t n)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t key = rt_grant_key(&d->key, group, first + i);
		if (dir_records_has(d->recs, key))
			continue;
		Hs__PhotoId *id = &g->id[r->n_ids];
		hs__photo_id__init(id);
		id->key = key;
		id->cookie = rt_grant_cookie(&d->key, key);
		g->idp[r->n_ids++] = id;
	}
	for (size_t i = 0; i < n; i++) {
		hs__replica__init(&g->rep[i]);
		dir_stores_get(d->stores, stores[i], &g->st[i]);
		g->rep[i].store_id = stores[i];
		g->rep[i].rpc_addr = g->st[i].rpc_addr;
		g->rep[i].state = g->st[i].state;
		g->rep[i].zone = g->st[i].zone;
		g->repp[i] = &g->rep[i];
	}
	r->ids = g->idp;
	r->id = r->n_ids ? g->idp[0] : NULL;
	r->group = group;
	r->stores = g->repp;
	r->n_stores = n;
}

static void
grant_job(struct dir_job *j)
{
	struct dir *d = j->d;
	const Hs__AllocateRequest *q = (const Hs__AllocateRequest *)j->req;
	char lease[128];
	uint32_t stores[DIR_MAX_REPLICAS], group;
	uint64_t first;
	size_t want = q->replicas ? q->replicas :
				    (size_t)d->cfg.default_replicas;
	uint32_t count = q->count == 0	  ? 1 :
	    q->count > RT_GRANT_MAX_COUNT ? RT_GRANT_MAX_COUNT :
					    q->count;
	if (!dir_writer_lead_or_forward(j, lease, sizeof(lease)) ||
	    place(j, lease, q, stores, want, &group) != 0 ||
	    take_seqs(j, lease, count, &first) != 0)
		return;
	struct grant *g = malloc(sizeof(*g));
	Hs__AllocateReply r = HS__ALLOCATE_REPLY__INIT;
	r.token_expiry_ms = rt_now_ms() + d->cfg.token_ttl_ms;
	if (g == NULL ||
	    rt_token_make_grant(&d->key, group, first, count,
		rpc_call_peer(j->call), stores, want, r.token_expiry_ms,
		&r.write_token.data, &r.write_token.len) != 0) {
		free(g);
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	fill_reply(d, g, &r, group, first, count, stores, want);
	if (r.n_ids == 0)
		rpc_fail(j->call, HS_ABORTED,
		    "every id of the grant was "
		    "taken before grants; retry");
	else
		rpc_reply(j->call, &r.base);
	free(r.write_token.data);
	free(g);
}

void
dir_writer_allocate(struct dir *d, rpc_call *call,
    const Hs__AllocateRequest *req)
{
	dir_writer_push(d, call, &req->base, grant_job);
}
