/* The audit: every store's ListNeedles against the directory's records, at
 * NIGHTLY_AUDIT_HOUR, on demand (the Audit RPC, `hs audit`), after a
 * takeover (to rebuild the queue), when a store passes the grace period and
 * after a gap in the event feed. One runs at a time; requests made while
 * one runs coalesce into one more run.
 *
 * For each key any store lists: the record is looked up (1000 per call)
 * at a directory that has applied the change log up to Redis's head as
 * read after the listings (hs:seq), so a directory still loading cannot
 * make a live photo look unknown (it answers UNAVAILABLE: we do nothing).
 * Missing replicas become tasks (the copy is rewritten in place), every
 * active record is re-planned (lost stores, hot/cold), leftovers of a
 * photo the leader says is deleted are tombstoned, good copies an
 * under-replicated record lacks are adopted, and orphans are deleted by
 * the orphan rule unless their store has too many (audit_act.h). A
 * store's deleted entry never counts as evidence of a delete: trims and
 * orphan removals leave them too. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_act.h"
#include "audit_diff.h"
#include "audit_list.h"
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

/* One pass's state, beyond the sorted listing. */
struct pass {
	redisContext *rc;
	uint64_t min_seq; /* Redis's change-log head after the listings */
	/* ... and before them: a record committed later (a repair's new
	 * location, say) may name a copy made after its store was listed,
	 * so its absence from that listing proves nothing. */
	uint64_t listed_seq;
	const uint32_t *listed;
	size_t nlisted;
	struct audit_orphans orphans;
	struct audit_summary *s;
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

struct group {
	size_t first, n; /* range in the sorted entries */
	uint32_t cookie; /* of a live needle, else the first */
};

/* The entry of store in the group, preferring a live one. */
static const struct audit_entry *
entry_of(const struct audit_entry *e, const struct group *g, uint32_t store)
{
	const struct audit_entry *best = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct audit_entry *x = &e[g->first + i];
		if (x->store == store && (best == NULL || !x->deleted))
			best = x;
	}
	return best;
}

/* A record's missing replicas become tasks; it is re-planned. */
static void
audit_record(struct repl *r, uint64_t key, const struct group *g,
    const Hs__PhotoRecord *rec, const struct repl_diff *d, struct pass *p)
{
	p->s->checked++;
	if (rec->seq > p->listed_seq) {
		repl_consider(r, rec, NULL, 0); /* changed since: re-plan */
		return;
	}
	for (size_t i = 0; i < d->nmissing; i++)
		repl_publish_audit(r, "missing_replica", key, g->cookie,
		    d->missing[i], 0, 0);
	p->s->missing += d->nmissing;
	repl_consider(r, rec, d->missing, d->nmissing);
}

/* The record's locations that a listing showed a live copy at (a location
 * on a store DOWN or given up on is no copy to count on). */
static size_t
listed_copies(const struct audit_entry *e, const struct group *g,
    const Hs__PhotoRecord *rec, const struct pass *p)
{
	size_t n = 0;
	for (size_t i = 0; i < rec->n_stores; i++) {
		const struct audit_entry *x = entry_of(e, g, rec->stores[i]);
		n += x != NULL && !x->deleted && x->cookie == g->cookie &&
		    repl_has_id(p->listed, p->nlisted, rec->stores[i]);
	}
	return n;
}

/* Orphans of the key: adopted into rec when it has fewer listed copies
 * than its target, else noted for the orphan rule (after the pass). */
static void
audit_orphans(struct repl *r, const struct audit_entry *e,
    const struct group *g, const Hs__PhotoRecord *rec,
    const struct repl_diff *d, struct pass *p)
{
	size_t nstores = rec ? listed_copies(e, g, rec, p) : 0;
	uint64_t seq = rec ? rec->seq : 0;
	uint64_t key = e[g->first].key;
	for (size_t i = 0; i < d->norphan; i++) {
		const struct audit_entry *x = entry_of(e, g, d->orphan[i]);
		uint32_t cookie = x ? x->cookie : g->cookie;
		if (rec != NULL && x != NULL &&
		    audit_adopt(r, rec, &nstores, &seq, x->store, x->size,
			x->has_sha ? x->sha : NULL)) {
			p->s->adopted++;
			continue;
		}
		audit_orphans_note(&p->orphans, key, cookie, d->orphan[i]);
	}
}

/* Acts on one key's findings. res: the Lookup's answer at p->min_seq. */
static void
audit_group(struct repl *r, const struct audit_entry *e, const struct group *g,
    const Hs__LookupResult *res, struct pass *p)
{
	/* A directory that cannot say (still loading): do nothing. */
	enum repl_rec_state state = repl_audit_state(res ?
		(int)res->code :
		HS__CODE__UNAVAILABLE,
	    0);
	if (state == REPL_REC_UNKNOWN ||
	    (state == REPL_REC_ACTIVE && res->record == NULL))
		return;
	struct repl_seen sn[REPL_AUDIT_MAX_STORES];
	size_t ns = 0;
	for (size_t i = 0; i < g->n && ns < REPL_AUDIT_MAX_STORES; i++) {
		sn[ns].store = e[g->first + i].store;
		sn[ns].cookie = e[g->first + i].cookie;
		sn[ns].deleted = e[g->first + i].deleted;
		ns++;
	}
	const Hs__PhotoRecord *rec = state == REPL_REC_ACTIVE ? res->record :
								NULL;
	uint64_t key = e[g->first].key;
	struct repl_diff d;
	repl_audit_diff(rec ? REPL_REC_ACTIVE : REPL_REC_NONE, g->cookie,
	    rec ? rec->stores : NULL, rec ? rec->n_stores : 0, p->listed,
	    p->nlisted, sn, ns, &d);
	/* Only the leader says a photo is deleted; a store's deleted entry
	 * says nothing (a trim or an orphan removal leaves one too). */
	if (rec == NULL && d.norphan > 0 &&
	    repl_audit_state(res->code,
		audit_leader_says_deleted(r, key, g->cookie)) ==
		REPL_REC_DELETED)
		repl_audit_diff(REPL_REC_DELETED, g->cookie, NULL, 0, p->listed,
		    p->nlisted, sn, ns, &d);
	if (rec != NULL)
		audit_record(r, key, g, rec, &d, p);
	for (size_t i = 0; i < d.nleftover; i++) {
		repl_publish_audit(r, "leftover", key, g->cookie, d.leftover[i],
		    0, 0);
		repl_store_delete(r, d.leftover[i], key, g->cookie,
		    HS__DELETE_KIND__DELETE_KIND_DELETE);
		p->s->leftovers++;
	}
	audit_orphans(r, e, g, rec, &d, p);
}

static hs_status
lookup_groups(struct repl *r, const struct audit_entry *e,
    const struct group *g, size_t n, uint64_t min_seq, Hs__LookupReply **out,
    struct rpc_error *err)
{
	Hs__PhotoId ids[LOOKUP_CHUNK], *pids[LOOKUP_CHUNK];
	for (size_t i = 0; i < n; i++) {
		ids[i] = repl_pb_id(e[g[i].first].key, g[i].cookie);
		pids[i] = &ids[i];
	}
	return repl_dir_lookup(r, pids, n, min_seq, out, err);
}

/* Groups the sorted entries from *i on by key into g, at most
 * LOOKUP_CHUNK groups; advances *i past them. Returns how many. */
static size_t
next_groups(const struct audit_entry *v, size_t n, size_t *i, struct group *g)
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

/* Redis's change-log head (hs:seq), or -1 when it cannot be read. */
static int64_t
redis_head(redisContext *rc)
{
	redisReply *rep = rc ? redisCommand(rc, "GET %s", RK_SEQ) : NULL;
	int64_t seq = -1;
	if (rep && rep->type == REDIS_REPLY_STRING)
		seq = atoll(rep->str);
	else if (rep && rep->type == REDIS_REPLY_NIL)
		seq = 0;
	if (rep)
		freeReplyObject(rep);
	return seq;
}

/* Looks up and acts on every key of v. 0, or -1 when the directory could
 * not answer (the rest is left for the next audit). */
static int
scan(struct repl *r, const struct audit_entry *v, size_t n, struct pass *p)
{
	struct group g[LOOKUP_CHUNK];
	size_t i = 0;
	while (i < n && repl_is_active(r) && !atomic_load(&r->stop)) {
		size_t ng = next_groups(v, n, &i, g);
		Hs__LookupReply *lr = NULL;
		struct rpc_error err;
		hs_status ls = lookup_groups(r, v, g, ng, p->min_seq, &lr,
		    &err);
		if (ls != HS_OK) {
			rt_log_warn("audit: Lookup at seq %llu failed: %s: %s; "
				    "nothing more is changed this round",
			    (unsigned long long)p->min_seq, hs_status_str(ls),
			    err.message);
			return -1;
		}
		for (size_t k = 0; k < ng; k++)
			audit_group(r, v, &g[k], lr->results[k], p);
		protobuf_c_message_free_unpacked(&lr->base, NULL);
	}
	return i < n ? -1 : 0;
}

/* One full audit. 0, or -1 when it could not run (message logged). */
static int
run_audit(struct repl *r, struct audit_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (repl_stores_refresh(r) != 0) {
		rt_log_warn(
		    "audit: the directory's store table is unavailable");
		return -1;
	}
	struct pass p = { .s = s };
	uint32_t listed[REPL_MAX_STORES];
	struct audit_entry *v = NULL;
	char rerr[256];
	p.rc = rt_redis_connect(&r->cfg.redis, 2000, rerr, sizeof(rerr));
	int64_t head0 = redis_head(p.rc);
	size_t n = audit_list_all(r, &p.orphans, listed, &p.nlisted, &v);
	p.listed = listed;
	int64_t head = head0 < 0 ? -1 : redis_head(p.rc);
	p.listed_seq = head0 < 0 ? 0 : (uint64_t)head0;
	int rv = -1;
	if (head < 0) {
		rt_log_warn("audit: cannot read the change-log head from the "
			    "metadata Redis (%s): without it no delete can be "
			    "confirmed, so nothing is changed this round",
		    p.rc ? "GET hs:seq failed" : rerr);
	} else {
		p.min_seq = (uint64_t)head;
		rv = scan(r, v, n, &p);
		/* The halt rule needs the whole pass's counts. */
		if (rv == 0)
			audit_orphans_act(r, p.rc, &p.orphans, 1, s);
	}
	audit_orphans_free(&p.orphans);
	free(v);
	if (p.rc)
		redisFree(p.rc);
	return rv;
}

static void
answer_waiters(struct repl_audit_waiter *w, const struct audit_summary *s,
    int ran)
{
	while (w) {
		struct repl_audit_waiter *next = w->next;
		if (ran) {
			Hs__AuditReply rep = HS__AUDIT_REPLY__INIT;
			rep.photos_checked = s->checked;
			rep.missing_replicas = s->missing;
			rep.orphans_deleted = s->orphans;
			rep.leftovers_tombstoned = s->leftovers;
			rep.orphans_held = s->held;
			rep.halted_stores = (uint32_t *)s->halted;
			rep.n_halted_stores = s->nhalted;
			rep.copies_adopted = s->adopted;
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
		struct audit_summary s;
		int ran = 0;
		if (!stopping && repl_is_active(r)) {
			int64_t t0 = rt_mono_ms();
			rt_log_info("audit started (%s)", why ? why : "");
			ran = run_audit(r, &s) == 0;
			rt_log_info("audit %s in %lld ms: %llu photos checked, %llu "
				    "missing replicas, %llu orphans deleted, %llu "
				    "leftovers tombstoned, %llu copies adopted, "
				    "%llu orphans held on %zu halted stores",
			    ran ? "done" : "stopped",
			    (long long)(rt_mono_ms() - t0),
			    (unsigned long long)s.checked,
			    (unsigned long long)s.missing,
			    (unsigned long long)s.orphans,
			    (unsigned long long)s.leftovers,
			    (unsigned long long)s.adopted,
			    (unsigned long long)s.held, s.nhalted);
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
