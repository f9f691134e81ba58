/* stored's Prometheus metrics (docs/web.md, "Metrics"): the RPC server's
 * per-method counts and latencies, the engine's needles, bytes, volumes,
 * compactions and bad needles, the group commit's fdatasync latency, the
 * service's own counters and the cache pushes, all read at scrape time. */
#ifndef STORE_STORE_METRICS_H
#define STORE_STORE_METRICS_H

#include <stdint.h>

#include "http.h"

/* The engine's on_sync (store_options): one fdatasync took ns. */
void store_metrics_on_sync(void *arg, uint64_t ns);

/* GET /metrics; arg is the struct store_service. */
void store_http_metrics(void *arg, struct rt_http_req *req);

#endif
