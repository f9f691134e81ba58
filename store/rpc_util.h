/* What the Store service's handlers share (rpc_store.c, rpc_write.c,
 * rpc_listing.c): the slow queue hand-off, the checks every request of a
 * kind makes, and the engine-error mapping (declared in store.h). */
#ifndef STORE_RPC_UTIL_H
#define STORE_RPC_UTIL_H

#include "store.h"
#include "store.pb-c.h"

/* A call handed to the slow queue. */
struct call_job {
	struct store_service *svc;
	rpc_call *call;
	const ProtobufCMessage *req; /* owned by the call until it answers */
};

/* Runs fn(job) on queue q (svc->slow or svc->copies), or fails the call
 * (no memory, stopping). */
void store_queue_or_fail(struct store_service *svc, rt_workq *q, rpc_call *call,
    const ProtobufCMessage *req, rt_job_fn fn);

/* 0, or -1 after failing the call with INVALID_ARGUMENT. */
int store_check_photo_id(rpc_call *call, const Hs__PhotoId *id);

/* The replicator's fence: 0, or -1 after failing the call with
 * FAILED_PRECONDITION (see rpc_util.c). */
int store_check_repl_epoch(struct store_service *svc, rpc_call *call,
    uint64_t epoch);

/* The handlers of the write path (rpc_write.c). */
void store_write(rpc_call *call, const ProtobufCMessage *req, void *arg);
void store_replicate(rpc_call *call, const ProtobufCMessage *req, void *arg);

#endif
