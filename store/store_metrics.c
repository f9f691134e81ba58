/* stored's /metrics page (store_metrics.h). */
#include "store_metrics.h"

#include "cache_push.h"
#include "metrics.h"
#include "rpc_server_metrics.h"
#include "store.h"

/* One store per process (stored.c's), so one histogram: the engine calls
 * in with no store at hand. */
static struct rt_hist sync_latency;

void
store_metrics_on_sync(void *arg, uint64_t ns)
{
	(void)arg;
	rt_hist_observe_ns(&sync_latency, ns);
}

/* The engine's view: one walk of the volume table under its read lock. */
static void
engine(struct store_service *svc, struct rt_metrics *m)
{
	struct store_stats st;
	if (svc->engine == NULL || store_engine_stats(svc->engine, &st) != 0)
		return;
	rt_metrics_family(m, "hs_store_needles", RT_GAUGE,
	    "Needles in the volumes: live, or deleted and still on disk.");
	rt_metrics_u64(m, st.needles, "state", "live", NULL);
	rt_metrics_u64(m, st.deleted, "state", "deleted", NULL);
	rt_metrics_family(m, "hs_store_needle_bytes", RT_GAUGE,
	    "On-disk bytes of live and of deleted needles (compaction "
	    "reclaims the deleted).");
	rt_metrics_u64(m, st.live_bytes, "state", "live", NULL);
	rt_metrics_u64(m, st.dead_bytes, "state", "deleted", NULL);
	rt_metrics_single(m, "hs_store_volumes", RT_GAUGE,
	    "Volume files, the active one included.", st.volumes);
	rt_metrics_single(m, "hs_store_bad_needles", RT_GAUGE,
	    "Needles known to fail their checksum (found by a read or the "
	    "scrub), until repaired or compacted away.",
	    st.bad_needles);
	rt_metrics_single(m, "hs_store_index_bytes", RT_GAUGE,
	    "Memory held by the in-memory needle index.", st.index_bytes);
	rt_metrics_single(m, "hs_store_compactions_total", RT_COUNTER,
	    "Volumes compacted since the store started.", st.compactions);
}

/* rt_metrics_single for one of the service's counters. */
#define counter(m, name, help, v)                                              \
	rt_metrics_single(m, name, RT_COUNTER, help, atomic_load(v))

/* The service's own counters, kept for the Stats RPC anyway. */
static void
service(struct store_service *svc, struct rt_metrics *m)
{
	counter(m, "hs_store_reads_total", "Photos read (Read RPCs).",
	    &svc->reads);
	counter(m, "hs_store_writes_total",
	    "Photos written by clients (Write RPCs).", &svc->writes);
	counter(m, "hs_store_deletes_total", "Deletes applied here.",
	    &svc->deletes);
	counter(m, "hs_store_corrupt_needles_found_total",
	    "Needles found failing their checksum, by reads, pushes and "
	    "the scrub.",
	    &svc->corrupt);
	counter(m, "hs_store_replicate_calls_total",
	    "Replicate calls received from peers and the replicator.",
	    &svc->replicate_calls);
	counter(m, "hs_store_replicated_needles_total",
	    "Needles those Replicate calls carried.", &svc->replicate_needles);
	rt_metrics_single(m, "hs_store_readonly", RT_GAUGE,
	    "1 once an I/O error stopped writes (see the store's log).",
	    (uint64_t)atomic_load(&svc->readonly));
	struct cache_push_counts cp;
	cache_push_counts(svc->cache, &cp);
	rt_metrics_family(m, "hs_store_cache_pushes_total", RT_COUNTER,
	    "Photos offered to the Redis photo cache after a write: pushed, "
	    "skipped (over CACHE_MAX_PHOTO) or dropped (queue full, Redis "
	    "down).");
	rt_metrics_u64(m, cp.pushed, "outcome", "pushed", NULL);
	rt_metrics_u64(m, cp.skipped, "outcome", "skipped", NULL);
	rt_metrics_u64(m, cp.dropped, "outcome", "dropped", NULL);
}

static void
collect(void *arg, struct rt_metrics *m)
{
	struct store_service *svc = arg;
	rpc_server_metrics(svc->rpc, m);
	rt_metrics_http(m, svc->http);
	engine(svc, m);
	rt_metrics_family(m, "hs_store_fdatasync_duration_seconds",
	    RT_HISTOGRAM,
	    "Group commits' fdatasync of a volume: what every acknowledged "
	    "write waits on.");
	rt_metrics_hist(m, &sync_latency, NULL);
	service(svc, m);
}

void
store_http_metrics(void *arg, struct rt_http_req *req)
{
	rt_metrics_reply(req, collect, arg);
}
