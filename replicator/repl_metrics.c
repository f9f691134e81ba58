/* The replicator's /metrics page (repl_metrics.h). Task outcomes and
 * audit findings are counted here, in tables fixed at build time (one
 * replicator per process), so the worker and the audit only add one. */
#include "repl_metrics.h"

#include <string.h>

#include "metrics.h"
#include "repl.h"
#include "rpc_server_metrics.h"

/* The plans' kinds (policy.c) and outcomes; anything else is "other". */
static const char *const kinds[] = { "repair", "replace", "respread", "top_up",
	"trim", "none", "other" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
static const char *const outcomes[] = { "done", "retried", "failed" };
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))
static const char *const findings[] = { "missing_replica", "leftover", "orphan",
	"adopted", "halted", "other" };
#define NFINDINGS (sizeof(findings) / sizeof(findings[0]))

static _Atomic uint64_t tasks[NKINDS][NOUTCOMES];
static _Atomic uint64_t found[NFINDINGS];
static _Atomic uint64_t audits;

/* Index of s in names[0..n), or n - 1 ("other"). */
static size_t
find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s != NULL && strcmp(names[i], s) == 0)
			return i;
	return n - 1;
}

void
repl_metrics_task(const char *kind, const char *outcome)
{
	size_t o = 0;
	while (o + 1 < NOUTCOMES && strcmp(outcomes[o], outcome) != 0)
		o++;
	atomic_fetch_add_explicit(&tasks[find(kinds, NKINDS, kind)][o], 1,
	    memory_order_relaxed);
}

void
repl_metrics_audit(const char *finding)
{
	if (strcmp(finding, "done") == 0)
		atomic_fetch_add_explicit(&audits, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&found[find(findings, NFINDINGS,
					      finding)],
		    1, memory_order_relaxed);
}

/* rt_metrics_single for a gauge. */
#define gauge(m, name, help, v) rt_metrics_single(m, name, RT_GAUGE, help, v)

static void
queue(struct repl *r, struct rt_metrics *m)
{
	static const char *const prio[REPL_PRIOS] = { "urgent", "high",
		"normal", "low" };
	struct repl_queue_stats s;
	repl_queue_stats(r->queue, &s);
	rt_metrics_family(m, "hs_replicator_queue_depth", RT_GAUGE,
	    "Tasks waiting (backoff included), by priority.");
	for (int i = 0; i < REPL_PRIOS; i++)
		rt_metrics_u64(m, s.depth[i], "priority", prio[i], NULL);
	gauge(m, "hs_replicator_tasks_in_flight", "Tasks a worker is running.",
	    s.in_flight);
	rt_metrics_single(m, "hs_replicator_tasks_dropped_total", RT_COUNTER,
	    "Tasks dropped by the queue's cap (the next audit finds them "
	    "again).",
	    s.dropped);
	rt_metrics_family(m, "hs_replicator_tasks_total", RT_COUNTER,
	    "Task runs ended, by the plan's kind and outcome (retried: "
	    "failed and queued again).");
	for (size_t k = 0; k < NKINDS; k++)
		for (size_t o = 0; o < NOUTCOMES; o++)
			rt_metrics_u64(m, atomic_load(&tasks[k][o]), "kind",
			    kinds[k], "outcome", outcomes[o], NULL);
}

static void
audit_and_push(struct repl *r, struct rt_metrics *m)
{
	rt_metrics_single(m, "hs_replicator_audits_total", RT_COUNTER,
	    "Audits finished.", atomic_load(&audits));
	rt_metrics_family(m, "hs_replicator_audit_findings_total", RT_COUNTER,
	    "What audits found, by finding.");
	for (size_t i = 0; i < NFINDINGS; i++)
		rt_metrics_u64(m, atomic_load(&found[i]), "finding",
		    findings[i], NULL);
	pthread_mutex_lock(&r->audit_mu);
	int64_t last = r->last_audit_ms;
	pthread_mutex_unlock(&r->audit_mu);
	rt_metrics_family(m, "hs_replicator_last_audit_timestamp_seconds",
	    RT_GAUGE, "When the last audit ended (Unix time; 0: none yet).");
	rt_metrics_f64(m, (double)last / 1000.0, NULL);
	rt_metrics_single(m, "hs_replicator_pushed_needles_total", RT_COUNTER,
	    "Needles copied store to store by Push (bulk repair).",
	    atomic_load(&r->pushed));
	rt_metrics_single(m, "hs_replicator_push_calls_total", RT_COUNTER,
	    "Push calls made.", atomic_load(&r->push_calls));
}

static void
collect(void *arg, struct rt_metrics *m)
{
	struct repl *r = arg;
	rpc_server_metrics(r->rpc, m);
	rt_metrics_http(m, r->http);
	gauge(m, "hs_replicator_active",
	    "1 while this instance holds the lease and does the work.",
	    (uint64_t)repl_is_active(r));
	gauge(m, "hs_replicator_epoch",
	    "Fencing epoch taken with the lease (0: never active).",
	    atomic_load(&r->epoch));
	queue(r, m);
	audit_and_push(r, m);
}

void
repl_http_metrics(void *arg, struct rt_http_req *req)
{
	rt_metrics_reply(req, collect, arg);
}
