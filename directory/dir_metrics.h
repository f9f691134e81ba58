/* A directory's Prometheus metrics (docs/web.md, "Metrics"): the RPC
 * server's per-method counts and latencies, its role, epoch, applied
 * sequence and lag behind the change log's head, its records and the
 * stores by state, all read at scrape time. */
#ifndef DIR_METRICS_H
#define DIR_METRICS_H

#include "http.h"

/* GET /metrics; arg is the struct dir. */
void dir_http_metrics(void *arg, struct rt_http_req *req);

#endif
