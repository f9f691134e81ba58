/* The RPC server's metrics (docs/web.md, "Metrics"): every service's
 * requests by method and status code and their latency, counted in the
 * server's dispatch, so no handler counts anything itself. */
#ifndef HS_RPC_SERVER_METRICS_H
#define HS_RPC_SERVER_METRICS_H

#include "metrics.h"
#include "rpc_server.h"

/* Writes hs_rpc_requests_total, hs_rpc_request_duration_seconds and
 * hs_rpc_rejected_total for s into m. */
void rpc_server_metrics(rpc_server *s, struct rt_metrics *m);

#endif
