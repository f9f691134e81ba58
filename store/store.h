/* The store service's shared state: what stored.c wires together and the
 * RPC handlers, heartbeat, cache pusher, access counter and maintenance
 * thread use. One per process. */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "http.h"
#include "pubsub.h"
#include "rpc_auth.h"
#include "rpc_pool.h"
#include "rpc_server.h"
#include "store/engine/engine.h"
#include "store_config.h"
#include "workq.h"

struct cache_push;
struct access_stats;
struct forwarder;
struct registrar;
struct delete_follow;

struct store_service {
	struct store_config cfg;
	rt_ident *ident; /* who this store is (store-<id>) */
	rt_key key;	 /* the servers' shared secret: write tokens */
	struct store_engine *engine;
	rpc_server *rpc;
	struct rt_http *http; /* the web face (store_http.h); NULL = none */
	rt_pub *pub;
	rpc_pool *peers;  /* other stores, the replicator, directories */
	rt_workq *slow;	  /* work that fsyncs or waits on peers */
	rt_workq *copies; /* Replicate: fsyncs, never waits on a peer */
	struct cache_push *cache;
	struct forwarder *fwd; /* multi-writes to peers (store_forward.h) */
	struct registrar *reg; /* registrations (registrar.h) */
	struct access_stats *access;
	char name[32];		 /* "store-3", in logs and events */
	pthread_mutex_t repl_mu; /* guards repl_addr */
	char repl_addr[256];	 /* the active replicator, from Redis when
				     known, else --replicator; "" = none */
	atomic_int readonly;	 /* set after an engine I/O failure */
	_Atomic uint64_t reads, writes, deletes, corrupt;
	/* Photo bytes read for HTTP answers not sent yet (http_photo.c). */
	_Atomic size_t http_inflight;
	/* Replicates received and the needles they carried (multi-writes). */
	_Atomic uint64_t replicate_calls, replicate_needles;
	/* The highest replicator fencing epoch seen (in memory only). */
	_Atomic uint64_t repl_epoch;
	/* Deletes applied here; gates reads by hint (delete_follow.h). */
	struct delete_follow *follow;
	/* Photos deleted while absent here: late copies refused. */
	struct gone_keys *gone;
};

/* Maps an engine error to a status and a message for people. */
hs_status store_status_from_engine(int err, char *msg, size_t msglen);

/* Registers the Store service's handlers on svc->rpc. */
int store_rpc_add(struct store_service *svc);

/* The ListNeedles handler (rpc_listing.c). */
void store_list_needles(rpc_call *call, const ProtobufCMessage *msg, void *arg);

/* Publishes a needle.* event. */
void store_publish_needle(struct store_service *svc, const char *topic,
    uint64_t key, uint32_t cookie, uint64_t size, uint32_t volume);

/* Publishes store.compacted: volume (0 = several) and bytes reclaimed. */
void store_publish_compacted(struct store_service *svc, uint32_t volume,
    uint64_t bytes_reclaimed);

/* The replicator client to report to, or NULL when none is known. */
rpc_client *store_replicator(struct store_service *svc);

/* Tells the replicator (best effort, async) that a needle is corrupt. */
/* Sends a report to the replicator's method without waiting for it: a
 * lost report is logged and otherwise ignored. req stays the caller's. */
void store_report(rpc_client *c, const char *method,
    const ProtobufCMessage *req);

void store_report_corruption(struct store_service *svc, uint64_t key,
    uint32_t cookie, const char *detail);

#endif
