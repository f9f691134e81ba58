/* The audit: every store's ListNeedles against the directory's records, at
 * NIGHTLY_AUDIT_HOUR, on demand (the Audit RPC, `hs audit`), after a
 * takeover (to rebuild the queue), when a store passes the grace period and
 * after a gap in the event feed. One runs at a time; requests made while
 * one runs coalesce into one more run.
 *
 * For each key any store lists: the record is looked up (1000 per call);
 * missing replicas become tasks (the copy is rewritten in place), every
 * active record is re-planned (lost stores, hot/cold), leftovers of deleted
 * photos are tombstoned at once, and orphans are deleted by the orphan rule
 * (audit_diff.h). Orphan sightings live in Redis (hs:repl:orphans, field
 * "<24 hex id>/<store>" = first seen, ms) so a standby that takes over
 * keeps them; a sighting not repeated by the next audit is forgotten. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_diff.h"
#include "clock.h"
#include "dirlink.h"
#include "log.h"
#include "photo_id.h"
#include "redis.h"
#include "redis_keys.h"
#include "repl.h"
#include "replicator.pb-c.h"
#include "storelink.h"

#define LOOKUP_CHUNK 1000

struct repl_audit_waiter {
	rpc_call *call;
	struct repl_audit_waiter *next;
};

struct entry {
	uint64_t key;
	uint32_t cookie;
	uint32_t store;
	int deleted;
};

struct summary {
	uint64_t checked, missing, orphans, leftovers;
};

void
repl_audit_request(struct repl *r, const char *reason)
{
	pthread_mutex_lock(&r->audit_mu);
	if (!r->audit_requested)
		r->audit_reason = reason;
	r->audit_requested = 1;
	pthread_cond_broadcast(&r->audit_cv);
	pthread_mutex_unlock(&r->audit_mu);
}

static int
by_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->store < y->store ? -1 : x->store > y->store;
}

/* Appends store's whole listing to *v. 0, or -1 (store not listed). */
static int
list_store(struct repl *r, uint32_t store, struct entry **v, size_t *n,
    size_t *cap)
{
	uint64_t after = 0;
	for (;;) {
		Hs__ListNeedlesRequest req = HS__LIST_NEEDLES_REQUEST__INIT;
		req.after_key = after;
		req.limit = 10000;
		req.include_deleted = 1;
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		hs_status st = repl_store_call(r, store, "ListNeedles",
		    &req.base, &m, 0, &e);
		if (st != HS_OK) {
			rt_log_warn("audit: cannot list store %u: %s: %s",
			    store, hs_status_str(st), e.message);
			return -1;
		}
		Hs__ListNeedlesReply *lr = (Hs__ListNeedlesReply *)m;
		if (*n + lr->n_needles > *cap) {
			size_t nc = (*cap ? *cap * 2 : 65536) + lr->n_needles;
			struct entry *nv = realloc(*v, nc * sizeof(*nv));
			if (nv == NULL) {
				protobuf_c_message_free_unpacked(m, NULL);
				return -1;
			}
			*v = nv;
			*cap = nc;
		}
		for (size_t i = 0; i < lr->n_needles; i++) {
			const Hs__NeedleInfo *ni = lr->needles[i];
			if (ni->id == NULL)
				continue;
			struct entry *en = &(*v)[(*n)++];
			en->key = ni->id->key;
			en->cookie = ni->id->cookie;
			en->store = store;
			en->deleted = ni->deleted;
			after = ni->id->key;
		}
		int more = lr->more && lr->n_needles > 0;
		protobuf_c_message_free_unpacked(m, NULL);
		if (!more)
			return 0;
	}
}

/* Is the photo deleted (rather than never registered)? The leader refuses
 * an UpdateLocations on a deleted photo with FAILED_PRECONDITION and
 * answers NOT_FOUND for an unknown one; the request changes nothing. */
static int
deleted_at_directory(struct repl *r, uint64_t key, uint32_t cookie)
{
	Hs__UpdateLocationsRequest req = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(key, cookie);
	req.id = &id;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = repl_dir_call(r, "UpdateLocations", &req.base, &m, &e);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return st == HS_FAILED_PRECONDITION && strstr(e.message, "deleted");
}

/* first seen of an orphan (0 = never); records now if never. */
static int64_t
orphan_first_seen(redisContext *rc, const char *field, int64_t now)
{
	if (rc == NULL)
		return 0;
	redisReply *rep = redisCommand(rc, "HGET %s %s", RK_ORPHANS, field);
	int64_t first = 0;
	if (rep && rep->type == REDIS_REPLY_STRING)
		first = atoll(rep->str);
	if (rep)
		freeReplyObject(rep);
	if (first == 0)
		freeReplyObject(redisCommand(rc, "HSET %s %s %lld", RK_ORPHANS,
		    field, (long long)now));
	return first;
}

static void
handle_orphan(struct repl *r, redisContext *rc, uint64_t key, uint32_t cookie,
    uint32_t store, struct summary *s, char (*seen)[40], size_t *nseen,
    size_t maxseen)
{
	char field[40], id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(key, cookie, id24);
	snprintf(field, sizeof(field), "%s/%u", id24, store);
	int64_t now = rt_now_ms();
	int64_t first = orphan_first_seen(rc, field, now);
	repl_publish_audit(r, "orphan", key, cookie, store, 0, 0);
	if (repl_orphan_due(first, 0, now, r->cfg.orphan_grace_ms)) {
		rt_log_info("audit: orphan %s on store %u first seen %lld ms ago: "
			    "deleting",
		    id24, store, (long long)(now - first));
		repl_store_delete(r, store, key, cookie);
		if (rc)
			freeReplyObject(
			    redisCommand(rc, "HDEL %s %s", RK_ORPHANS, field));
		s->orphans++;
	} else if (*nseen < maxseen) {
		memcpy(seen[(*nseen)++], field, sizeof(field));
	}
}

/* Forgets sightings this audit did not repeat (registered or gone). */
static void
forget_unseen(redisContext *rc, char (*seen)[40], size_t nseen)
{
	if (rc == NULL)
		return;
	redisReply *rep = redisCommand(rc, "HKEYS %s", RK_ORPHANS);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep)
			freeReplyObject(rep);
		return;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		const char *f = rep->element[i]->str;
		int keep = 0;
		for (size_t j = 0; j < nseen && !keep; j++)
			keep = f && strcmp(seen[j], f) == 0;
		if (!keep && f)
			freeReplyObject(
			    redisCommand(rc, "HDEL %s %s", RK_ORPHANS, f));
	}
	freeReplyObject(rep);
}

struct group {
	size_t first, n; /* range in the sorted entries */
	uint32_t cookie; /* of a live needle, else the first */
};

/* Acts on one key's findings. */
static void
audit_group(struct repl *r, redisContext *rc, const struct entry *e,
    const struct group *g, const Hs__LookupResult *res, const uint32_t *listed,
    size_t nlisted, struct summary *s, char (*seen)[40], size_t *nseen,
    size_t maxseen)
{
	struct repl_seen sn[REPL_AUDIT_MAX_STORES];
	size_t ns = 0;
	int tomb = 0;
	for (size_t i = 0; i < g->n && ns < REPL_AUDIT_MAX_STORES; i++) {
		sn[ns].store = e[g->first + i].store;
		sn[ns].cookie = e[g->first + i].cookie;
		sn[ns].deleted = e[g->first + i].deleted;
		tomb |= sn[ns].deleted && sn[ns].cookie == g->cookie;
		ns++;
	}
	const Hs__PhotoRecord *rec = res && res->code == HS__CODE__OK ?
	    res->record :
	    NULL;
	enum repl_rec_state state = rec ? REPL_REC_ACTIVE : REPL_REC_NONE;
	struct repl_diff d;
	repl_audit_diff(state, g->cookie, rec ? rec->stores : NULL,
	    rec ? rec->n_stores : 0, listed, nlisted, sn, ns, &d);
	if (state == REPL_REC_NONE && d.norphan > 0 &&
	    (tomb || deleted_at_directory(r, e[g->first].key, g->cookie))) {
		/* Not orphans: leftovers of a deleted photo. */
		repl_audit_diff(REPL_REC_DELETED, g->cookie, NULL, 0, listed,
		    nlisted, sn, ns, &d);
	}
	uint64_t key = e[g->first].key;
	if (rec) {
		s->checked++;
		for (size_t i = 0; i < d.nmissing; i++)
			repl_publish_audit(r, "missing_replica", key, g->cookie,
			    d.missing[i], 0, 0);
		s->missing += d.nmissing;
		repl_consider(r, rec, d.missing, d.nmissing);
	}
	for (size_t i = 0; i < d.nleftover; i++) {
		repl_publish_audit(r, "leftover", key, g->cookie, d.leftover[i],
		    0, 0);
		repl_store_delete(r, d.leftover[i], key, g->cookie);
		s->leftovers++;
	}
	for (size_t i = 0; i < d.norphan; i++) {
		uint32_t cookie = g->cookie;
		for (size_t j = 0; j < ns; j++)
			if (sn[j].store == d.orphan[i] && !sn[j].deleted)
				cookie = sn[j].cookie;
		handle_orphan(r, rc, key, cookie, d.orphan[i], s, seen, nseen,
		    maxseen);
	}
}

static hs_status
lookup_groups(struct repl *r, const struct entry *e, const struct group *g,
    size_t n, Hs__LookupReply **out, struct rpc_error *err)
{
	Hs__PhotoId ids[LOOKUP_CHUNK], *pids[LOOKUP_CHUNK];
	for (size_t i = 0; i < n; i++) {
		ids[i] = repl_pb_id(e[g[i].first].key, g[i].cookie);
		pids[i] = &ids[i];
	}
	return repl_dir_lookup(r, pids, n, out, err);
}

/* Groups the sorted entries from *i on by key into g, at most
 * LOOKUP_CHUNK groups; advances *i past them. Returns how many. */
static size_t
next_groups(const struct entry *v, size_t n, size_t *i, struct group *g)
{
	size_t ng = 0;
	while (*i < n && ng < LOOKUP_CHUNK) {
		struct group *gr = &g[ng++];
		gr->first = *i;
		gr->cookie = v[*i].cookie;
		int live = 0;
		for (; *i < n && v[*i].key == v[gr->first].key; (*i)++) {
			if (!live && !v[*i].deleted) {
				gr->cookie = v[*i].cookie;
				live = 1;
			}
		}
		gr->n = *i - gr->first;
	}
	return ng;
}

/* One full audit. 0, or -1 when it could not run (message logged). */
static int
run_audit(struct repl *r, struct summary *s)
{
	memset(s, 0, sizeof(*s));
	if (repl_stores_refresh(r) != 0) {
		rt_log_warn(
		    "audit: the directory's store table is unavailable");
		return -1;
	}
	struct repl_store st[REPL_MAX_STORES];
	size_t nst = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	uint32_t listed[REPL_MAX_STORES];
	size_t nlisted = 0, n = 0, cap = 0;
	struct entry *v = NULL;
	for (size_t i = 0; i < nst && !atomic_load(&r->stop); i++) {
		if (st[i].state == HS__STORE_STATE__STORE_DOWN)
			continue;
		if (list_store(r, st[i].id, &v, &n, &cap) == 0)
			listed[nlisted++] = st[i].id;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), by_key);
	char rerr[256];
	redisContext *rc = rt_redis_connect(r->cfg.redis, 2000, rerr,
	    sizeof(rerr));
	if (rc == NULL)
		rt_log_warn("audit: %s; orphans are not aged this round", rerr);
	size_t maxseen = 100000, nseen = 0;
	char(*seen)[40] = calloc(maxseen, sizeof(*seen));
	struct group g[LOOKUP_CHUNK];
	size_t i = 0;
	int rv = 0;
	while (i < n && repl_is_active(r) && !atomic_load(&r->stop)) {
		size_t ng = next_groups(v, n, &i, g);
		Hs__LookupReply *lr = NULL;
		struct rpc_error err;
		hs_status ls = lookup_groups(r, v, g, ng, &lr, &err);
		if (ls != HS_OK) {
			rt_log_warn("audit: Lookup failed: %s: %s",
			    hs_status_str(ls), err.message);
			rv = -1;
			break;
		}
		for (size_t k = 0; k < ng; k++)
			audit_group(r, rc, v, &g[k], lr->results[k], listed,
			    nlisted, s, seen, &nseen, maxseen);
		protobuf_c_message_free_unpacked(&lr->base, NULL);
	}
	if (rv == 0 && seen != NULL)
		forget_unseen(rc, seen, nseen);
	free(seen);
	free(v);
	redisFree(rc);
	return rv;
}

static void
answer_waiters(struct repl_audit_waiter *w, const struct summary *s, int ran)
{
	while (w) {
		struct repl_audit_waiter *next = w->next;
		if (ran) {
			Hs__AuditReply rep = HS__AUDIT_REPLY__INIT;
			rep.photos_checked = s->checked;
			rep.missing_replicas = s->missing;
			rep.orphans_deleted = s->orphans;
			rep.leftovers_tombstoned = s->leftovers;
			rep.started = 1;
			rpc_reply(w->call, &rep.base);
		} else {
			rpc_fail(w->call, HS_UNAVAILABLE,
			    "the audit could not "
			    "run (standby, or the directory is unreachable); "
			    "see the replicator's log");
		}
		free(w);
		w = next;
	}
}

/* Registers call to be answered when the next audit finishes (the RPC
 * handler calls this; the audit thread owns the answer). 0 or -1. */
int
repl_audit_wait(struct repl *r, rpc_call *call)
{
	struct repl_audit_waiter *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	w->call = call;
	pthread_mutex_lock(&r->audit_mu);
	if (atomic_load(&r->stop)) {
		pthread_mutex_unlock(&r->audit_mu);
		free(w);
		return -1;
	}
	w->next = r->audit_waiters;
	r->audit_waiters = w;
	if (!r->audit_requested)
		r->audit_reason = "asked by an operator";
	r->audit_requested = 1;
	pthread_cond_broadcast(&r->audit_cv);
	pthread_mutex_unlock(&r->audit_mu);
	return 0;
}

void *
repl_audit_main(void *arg)
{
	struct repl *r = arg;
	for (;;) {
		pthread_mutex_lock(&r->audit_mu);
		while (!r->audit_requested && !atomic_load(&r->stop))
			pthread_cond_wait(&r->audit_cv, &r->audit_mu);
		struct repl_audit_waiter *w = r->audit_waiters;
		r->audit_waiters = NULL;
		const char *why = r->audit_reason;
		r->audit_requested = 0;
		int stopping = atomic_load(&r->stop);
		pthread_mutex_unlock(&r->audit_mu);
		struct summary s;
		int ran = 0;
		if (!stopping && repl_is_active(r)) {
			int64_t t0 = rt_mono_ms();
			rt_log_info("audit started (%s)", why ? why : "");
			ran = run_audit(r, &s) == 0;
			rt_log_info("audit %s in %lld ms: %llu photos checked, %llu "
				    "missing replicas, %llu orphans deleted, %llu "
				    "leftovers tombstoned",
			    ran ? "done" : "stopped",
			    (long long)(rt_mono_ms() - t0),
			    (unsigned long long)s.checked,
			    (unsigned long long)s.missing,
			    (unsigned long long)s.orphans,
			    (unsigned long long)s.leftovers);
			if (ran)
				repl_publish_audit(r, "done", 0, 0, 0,
				    s.checked,
				    s.missing + s.orphans + s.leftovers);
		}
		pthread_mutex_lock(&r->audit_mu);
		if (ran)
			r->last_audit_ms = rt_now_ms();
		pthread_mutex_unlock(&r->audit_mu);
		answer_waiters(w, &s, ran);
		if (stopping)
			return NULL;
	}
}
