/* What the replicator tells the world (task.* and audit.* on its PUB
 * socket), and the one door into the queue (repl_enqueue_photo and
 * repl_consider), used by the feed, the RPC handlers, the tick thread, the
 * workers and the audit alike. */
#include <string.h>

#include "clock.h"
#include "log.h"
#include "repl.h"
#include "repl_metrics.h"
#include "storelink.h"

static const Hs__Priority prio_pb[REPL_PRIOS] = {
	HS__PRIORITY__PRIORITY_URGENT,
	HS__PRIORITY__PRIORITY_HIGH,
	HS__PRIORITY__PRIORITY_NORMAL,
	HS__PRIORITY__PRIORITY_LOW,
};

void
repl_publish_task(struct repl *r, const char *topic, const struct repl_task *t,
    const char *kind, const uint32_t *from, size_t nfrom, const uint32_t *to,
    size_t nto, const char *error)
{
	if (r->pub == NULL)
		return;
	Hs__Event ev = HS__EVENT__INIT;
	Hs__TaskEvent te = HS__TASK_EVENT__INIT;
	Hs__PhotoId id = repl_pb_id(t->key, t->cookie);
	te.id = &id;
	te.priority =
	    prio_pb[t->prio >= 0 && t->prio < REPL_PRIOS ? t->prio : REPL_LOW];
	te.kind = (char *)(kind ? kind : "");
	te.from = (uint32_t *)from;
	te.n_from = nfrom;
	te.to = (uint32_t *)to;
	te.n_to = nto;
	te.attempt = t->attempt;
	te.error = (char *)(error ? error : "");
	ev.topic = (char *)topic;
	ev.body_case = HS__EVENT__BODY_TASK;
	ev.task = &te;
	ev.epoch = atomic_load(&r->term);
	rt_pub_publish(r->pub, &ev);
}

void
repl_publish_audit(struct repl *r, const char *finding, uint64_t key,
    uint32_t cookie, uint32_t store, uint64_t checked, uint64_t repaired)
{
	repl_metrics_audit(finding);
	if (r->pub == NULL)
		return;
	Hs__Event ev = HS__EVENT__INIT;
	Hs__AuditEvent ae = HS__AUDIT_EVENT__INIT;
	Hs__PhotoId id = repl_pb_id(key, cookie);
	ae.id = key ? &id : NULL;
	ae.finding = (char *)finding;
	ae.store_id = store;
	ae.checked = checked;
	ae.repaired = repaired;
	ev.topic = (char *)(strcmp(finding, "done") == 0 ? "audit.done" :
							   "audit.finding");
	ev.body_case = HS__EVENT__BODY_AUDIT;
	ev.audit = &ae;
	ev.epoch = atomic_load(&r->term);
	rt_pub_publish(r->pub, &ev);
}

void
repl_publish_audit_halt(struct repl *r, uint32_t store, uint64_t needles,
    uint64_t orphans, const char *detail)
{
	repl_metrics_audit("halted");
	if (r->pub == NULL)
		return;
	Hs__Event ev = HS__EVENT__INIT;
	Hs__AuditEvent ae = HS__AUDIT_EVENT__INIT;
	ae.finding = (char *)"halted";
	ae.store_id = store;
	ae.checked = needles;
	ae.repaired = orphans;
	ae.detail = (char *)detail;
	ev.topic = (char *)"audit.halted";
	ev.body_case = HS__EVENT__BODY_AUDIT;
	ev.audit = &ae;
	ev.epoch = atomic_load(&r->term);
	rt_pub_publish(r->pub, &ev);
}

static enum repl_push_result
enqueue(struct repl *r, const struct repl_task *t)
{
	if (!repl_is_active(r))
		return REPL_PUSH_DROPPED;
	enum repl_push_result pr = repl_queue_push(r->queue, t);
	if (pr == REPL_PUSH_NEW)
		repl_publish_task(r, "task.queued", t, "", NULL, 0, NULL, 0,
		    NULL);
	else if (pr == REPL_PUSH_DROPPED)
		rt_log_debug(
		    "queue full: dropped a task (the audit finds it again)");
	return pr;
}

enum repl_push_result
repl_enqueue_photo(struct repl *r, uint64_t key, uint32_t cookie, int prio,
    uint32_t bad)
{
	struct repl_task t = { .key = key, .cookie = cookie, .prio = prio };
	if (bad != 0)
		t.bad[t.nbad++] = bad;
	return enqueue(r, &t);
}

void
repl_consider(struct repl *r, const Hs__PhotoRecord *rec, const uint32_t *bad,
    size_t nbad)
{
	if (rec == NULL || rec->id == NULL ||
	    rec->state != HS__PHOTO_STATE__PHOTO_ACTIVE || !repl_is_active(r) ||
	    !repl_stores_loaded(r))
		return;
	struct repl_store st[REPL_MAX_STORES];
	size_t nst = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	int64_t mono = rt_mono_ms();
	struct repl_photo_state ph = { .stores = rec->stores,
		.nstores = rec->n_stores,
		.target = rec->target_replicas,
		.bad = bad,
		.nbad = nbad,
		.rate = repl_rates_get(r->rates, rec->id->key, mono),
		.may_lower = mono - atomic_load(&r->active_since) >=
		    2 * r->cfg.half_life_ms,
		.size = rec->size };
	struct repl_plan pl;
	repl_plan_photo(&r->pol, st, nst, &ph, rt_now_ms(), &pl);
	if (pl.prio < 0)
		return;
	struct repl_task t = { .key = rec->id->key,
		.cookie = rec->id->cookie,
		.prio = pl.prio };
	for (size_t i = 0; i < nbad && t.nbad < REPL_TASK_MAX_BAD; i++)
		t.bad[t.nbad++] = bad[i];
	enqueue(r, &t);
}
