/* A directory's /metrics page (dir_metrics.h). */
#include "dir_metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "cache_evict.h"
#include "dir.h"
#include "metrics.h"
#include "rpc_server_metrics.h"

/* rt_metrics_single for a gauge. */
#define gauge(m, name, help, v) rt_metrics_single(m, name, RT_GAUGE, help, v)

/* Role, term and how far this replica is behind the change log. */
static void
role(struct dir *d, struct rt_metrics *m)
{
	int leader = dir_is_leader(d, NULL, 0, NULL);
	pthread_mutex_lock(&d->mu);
	uint64_t epoch = d->known.epoch, head = d->head_seq;
	int redis_ok = d->redis_ok;
	pthread_mutex_unlock(&d->mu);
	uint64_t applied = dir_records_applied(d->recs);
	if (head < applied)
		head = applied;
	gauge(m, "hs_directory_leader",
	    "1 while this directory leads (holds the lease, caught up).",
	    (uint64_t)leader);
	gauge(m, "hs_directory_epoch",
	    "The current leader's fencing epoch as this directory knows it.",
	    epoch);
	gauge(m, "hs_directory_applied_seq",
	    "Highest change-log sequence up to which every change is "
	    "applied here.",
	    applied);
	gauge(m, "hs_directory_head_seq",
	    "Head of the change log in Redis, as last read.", head);
	gauge(m, "hs_directory_lag_changes",
	    "Changes this directory is behind the change log's head.",
	    head - applied);
	gauge(m, "hs_directory_redis_up",
	    "1 while the last Redis read of the housekeeping thread worked.",
	    (uint64_t)(redis_ok != 0));
	gauge(m, "hs_directory_loaded",
	    "1 once the first full load of the records is done.",
	    (uint64_t)atomic_load(&d->loaded));
}

static void
records(struct dir *d, struct rt_metrics *m)
{
	struct dir_rec_stats rs;
	dir_records_stats(d->recs, &rs);
	rt_metrics_family(m, "hs_directory_records", RT_GAUGE,
	    "Photo records held in memory, by state.");
	rt_metrics_u64(m, rs.active, "state", "active", NULL);
	rt_metrics_u64(m, rs.deleted, "state", "deleted", NULL);
	gauge(m, "hs_directory_photo_bytes",
	    "Bytes of the active photos' data (one replica).", rs.bytes);
	rt_metrics_single(m, "hs_directory_lookups_total", RT_COUNTER,
	    "Lookups answered.", atomic_load(&d->lookups));
	rt_metrics_single(m, "hs_directory_registrations_total", RT_COUNTER,
	    "Photos registered (committed by this directory as leader).",
	    atomic_load(&d->registrations));
}

/* A gauge of each store's capacity, or its free space. */
static void
per_store(struct rt_metrics *m, const char *name, const char *help,
    const struct dir_store *st, size_t n, int free_space)
{
	char id[16];
	rt_metrics_family(m, name, RT_GAUGE, help);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", st[i].id);
		rt_metrics_u64(m,
		    free_space ? st[i].free_bytes : st[i].capacity_bytes,
		    "store", id, "zone", st[i].zone, NULL);
	}
}

/* The store table: counts by state, and each store's space. */
static void
stores(struct dir *d, struct rt_metrics *m)
{
	static const char *const names[] = { "unknown", "up", "down",
		"readonly" };
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	if (st == NULL)
		return;
	size_t n = dir_stores_list(d->stores, 1, st, DIR_MAX_STORES);
	uint64_t by[4] = { 0, 0, 0, 0 };
	for (size_t i = 0; i < n; i++)
		by[(unsigned)st[i].state < 4 ? st[i].state : 0]++;
	rt_metrics_family(m, "hs_directory_stores", RT_GAUGE,
	    "Stores in the store table, by state.");
	for (int i = 0; i < 4; i++)
		rt_metrics_u64(m, by[i], "state", names[i], NULL);
	per_store(m, "hs_directory_store_capacity_bytes",
	    "Each store's capacity, from its last heartbeat.", st, n, 0);
	per_store(m, "hs_directory_store_free_bytes",
	    "Each store's free space, from its last heartbeat.", st, n, 1);
	free(st);
}

/* The photo cache in Redis: every directory shows the same counters (use
 * max() across them). Absent when there is no cache or it is away. */
static void
cache(struct dir *d, struct rt_metrics *m)
{
	uint64_t hits, misses;
	if (dir_cache_stats(d->cache, &hits, &misses) != 0)
		return;
	rt_metrics_single(m, "hs_cache_hits_total", RT_COUNTER,
	    "Reads the Redis photo cache answered (its keyspace hits).", hits);
	rt_metrics_single(m, "hs_cache_misses_total", RT_COUNTER,
	    "Reads the Redis photo cache could not answer (keyspace misses).",
	    misses);
}

static void
collect(void *arg, struct rt_metrics *m)
{
	struct dir *d = arg;
	rpc_server_metrics(d->rpc, m);
	rt_metrics_http(m, d->http);
	role(d, m);
	records(d, m);
	stores(d, m);
	cache(d, m);
}

void
dir_http_metrics(void *arg, struct rt_http_req *req)
{
	rt_metrics_reply(req, collect, arg);
}
