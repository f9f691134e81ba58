/* Per-photo read counts, reported to the replicator every
 * STATS_REPORT_INTERVAL so it can give hot photos more replicas. Counting
 * is one hash-table increment under a mutex on the read path. */
#ifndef STORE_ACCESS_STATS_H
#define STORE_ACCESS_STATS_H

#include <stdint.h>

#include "store.h"

struct access_stats *access_stats_open(void);
void access_stats_close(struct access_stats *a);

void access_stats_count(struct access_stats *a, uint64_t key, uint32_t cookie);

/* Sends the counts gathered since the last report to the replicator (if one
 * is configured) and starts a new window. Called by the maintenance thread. */
void access_stats_report(struct access_stats *a, struct store_service *svc);

#endif
