/* The store service's shared state: what stored.c wires together and the
 * RPC handlers, heartbeat, cache pusher, access counter and maintenance
 * thread use. One per process. */
#ifndef STORE_SERVICE_H
#define STORE_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "pubsub.h"
#include "rpc_auth.h"
#include "rpc_pool.h"
#include "rpc_server.h"
#include "workq.h"

struct cache_push;
struct access_stats;

struct store_config {
	const char *listen;	  /* RPC address to bind */
	const char *advertise;	  /* RPC address others dial (default: listen) */
	const char *pub;	  /* PUB address */
	const char *data_dir;
	int64_t id;
	const char *zone;
	const char *directories;  /* comma-separated directory addresses */
	const char *redis;	  /* metadata Redis host:port (leader lookup) */
	const char *replicator;	  /* replicator address, may be empty */
	const char *cache_redis;  /* host:port of the cache Redis, may be empty */
	const char *key_file;
	int64_t max_volume_size;
	double compaction_threshold;
	int64_t heartbeat_ms;
	int64_t stats_report_ms;
	int64_t min_replicas;
	int64_t cache_ttl_ms;
	int64_t cache_max_bytes;  /* photos above this are not pushed */
	int64_t scrub_per_sec;	  /* needles verified per second */
	int64_t workers;	  /* threads for writes, deletes, compaction */
	int64_t max_msg;
};

struct store_service {
	struct store_config cfg;
	rt_key key;
	struct store_engine *engine;
	rpc_server *rpc;
	rt_pub *pub;
	rpc_pool *peers;	/* other stores, the replicator, directories */
	rt_workq *slow;		/* work that fsyncs or waits on peers */
	struct cache_push *cache;
	struct access_stats *access;
	char name[32];		/* "store-3", in logs and events */
	pthread_mutex_t repl_mu;  /* guards repl_addr */
	char repl_addr[256];	  /* the active replicator, from Redis when
				     known, else --replicator; "" = none */
	atomic_int readonly;	/* set after an engine I/O failure */
	_Atomic uint64_t reads, writes, deletes, corrupt;
};

/* Maps an engine error to a status and a message for people. */
hs_status store_status_from_engine(int err, char *msg, size_t msglen);

/* Registers the Store service's handlers on svc->rpc. */
int store_rpc_add(struct store_service *svc);

/* Publishes a needle.* event. */
void store_publish_needle(struct store_service *svc, const char *topic,
    uint64_t key, uint32_t cookie, uint64_t size, uint32_t volume);

/* Publishes store.compacted: volume (0 = several) and bytes reclaimed. */
void store_publish_compacted(struct store_service *svc, uint32_t volume,
    uint64_t bytes_reclaimed);

/* The replicator client to report to, or NULL when none is known. */
rpc_client *store_replicator(struct store_service *svc);

/* Tells the replicator (best effort, async) that a needle is corrupt. */
void store_report_corruption(struct store_service *svc, uint64_t key,
    uint32_t cookie, const char *detail);

#endif
