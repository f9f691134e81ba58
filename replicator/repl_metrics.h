/* The replicator's Prometheus metrics (docs/web.md, "Metrics"): the RPC
 * server's per-method counts and latencies, whether this instance is the
 * active one, the queue's depth per priority, task outcomes by kind and
 * audit findings. */
#ifndef REPL_METRICS_H
#define REPL_METRICS_H

#include "http.h"

/* A worker's task ended: kind is the plan's ("repair", "trim", ...,
 * "none"), outcome "done", "retried" or "failed". One relaxed add. */
void repl_metrics_task(const char *kind, const char *outcome);

/* The audit reported finding ("missing_replica", "orphan", ..., or
 * "done" for a finished audit). One relaxed add. */
void repl_metrics_audit(const char *finding);

/* GET /metrics; arg is the struct repl. */
void repl_http_metrics(void *arg, struct rt_http_req *req);

#endif
