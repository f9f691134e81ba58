/* The hs.Replicator RPC surface: one handler per method. All answer from
 * memory on nng's callback thread, except Audit with wait, which the audit
 * thread answers when the run ends. A standby records access rates (so a
 * takeover starts warm when stores report to it) but queues nothing. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "repl.h"
#include "replicator.pb-c.h"

#define MAX_COUNTS 100000

static void
report_access(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct repl *r = arg;
	const Hs__ReportAccessRequest *q = (const Hs__ReportAccessRequest *)m;
	if (q->n_counts > MAX_COUNTS) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "at most %d counts a report, "
		    "got %zu",
		    MAX_COUNTS, q->n_counts);
		return;
	}
	int64_t now = rt_mono_ms();
	for (size_t i = 0; i < q->n_counts; i++) {
		const Hs__AccessCount *c = q->counts[i];
		if (c->id == NULL || c->id->key == 0 || c->reads == 0)
			continue;
		double rate = repl_rates_add(r->rates, c->id->key,
		    c->id->cookie, c->reads, now);
		if (rate > r->cfg.threshold &&
		    !repl_rates_is_hot(r->rates, c->id->key))
			repl_enqueue_photo(r, c->id->key, c->id->cookie,
			    REPL_NORMAL, 0);
	}
	Hs__ReportAccessReply rep = HS__REPORT_ACCESS_REPLY__INIT;
	rpc_reply(call, &rep.base);
}

static void
report_corruption(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct repl *r = arg;
	const Hs__ReportCorruptionRequest
	    *q = (const Hs__ReportCorruptionRequest *)m;
	if (q->id == NULL || q->id->key == 0 || q->store_id == 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "ReportCorruption needs a "
		    "photo id and a store id");
		return;
	}
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(q->id->key, q->id->cookie, id24);
	rt_log_warn("corrupt copy of photo %s on store %u reported by %s: %s",
	    id24, q->store_id, q->reporter ? q->reporter : "?",
	    q->detail ? q->detail : "");
	repl_enqueue_photo(r, q->id->key, q->id->cookie, REPL_HIGH,
	    q->store_id);
	Hs__ReportCorruptionReply rep = HS__REPORT_CORRUPTION_REPLY__INIT;
	rpc_reply(call, &rep.base);
}

static void
queue_info(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct repl *r = arg;
	(void)m;
	struct repl_queue_stats s;
	repl_queue_stats(r->queue, &s);
	Hs__QueueReply rep = HS__QUEUE_REPLY__INIT;
	rep.depth = s.depth;
	rep.n_depth = REPL_PRIOS;
	rep.in_flight = s.in_flight;
	rep.done = s.done;
	rep.failed = s.failed;
	rep.pushed = atomic_load(&r->pushed);
	rep.push_calls = atomic_load(&r->push_calls);
	rep.batch_commits = atomic_load(&r->batch_commits);
	rep.active = repl_is_active(r);
	pthread_mutex_lock(&r->audit_mu);
	rep.last_audit_ms = r->last_audit_ms;
	pthread_mutex_unlock(&r->audit_mu);
	rpc_reply(call, &rep.base);
}

static void
audit(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct repl *r = arg;
	const Hs__AuditRequest *q = (const Hs__AuditRequest *)m;
	if (!repl_is_active(r)) {
		rpc_fail(call, HS_FAILED_PRECONDITION,
		    "this replicator is a "
		    "standby; ask the active one (hs:replicator:info in Redis)");
		return;
	}
	if (q->wait) {
		if (repl_audit_wait(r, call) != 0)
			rpc_fail(call, HS_UNAVAILABLE, "shutting down");
		return; /* the audit thread answers */
	}
	repl_audit_request(r, "asked by an operator");
	Hs__AuditReply rep = HS__AUDIT_REPLY__INIT;
	rep.started = 1;
	rpc_reply(call, &rep.base);
}

static void
access_rates(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct repl *r = arg;
	const Hs__AccessRatesRequest *q = (const Hs__AccessRatesRequest *)m;
	if (q->n_ids > 1000) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "at most 1000 ids a call, "
		    "got %zu",
		    q->n_ids);
		return;
	}
	double *rates = calloc(q->n_ids ? q->n_ids : 1, sizeof(*rates));
	if (rates == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	int64_t now = rt_mono_ms();
	for (size_t i = 0; i < q->n_ids; i++)
		if (q->ids[i] != NULL)
			rates[i] = repl_rates_get(r->rates, q->ids[i]->key,
			    now);
	Hs__AccessRatesReply rep = HS__ACCESS_RATES_REPLY__INIT;
	rep.reads_per_min = rates;
	rep.n_reads_per_min = q->n_ids;
	rep.active = repl_is_active(r);
	rpc_reply(call, &rep.base);
	free(rates);
}

static const struct rpc_method methods[] = {
	{ "ReportAccess", report_access, RT_ROLES_ANY },
	{ "ReportCorruption", report_corruption, RT_ROLES_ANY },
	{ "Queue", queue_info, RT_ROLES_ANY },
	{ "Audit", audit, RT_ROLE_ADMIN },
	{ "AccessRates", access_rates, RT_ROLES_ANY },
};

int
repl_rpc_add(struct repl *r)
{
	return rpc_server_add_service(r->rpc, &hs__replicator__descriptor,
	    methods, sizeof(methods) / sizeof(methods[0]), r);
}
