/* Many RPCs in flight at once from one thread: each call is answered into
 * its own slot, at most `window` are outstanding, and rpc_batch_run returns
 * when every call has its answer. For work that would otherwise pay one
 * round trip per item in a row (the replicator's reads and commits). */
#ifndef HS_RPC_BATCH_H
#define HS_RPC_BATCH_H

#include <stddef.h>

#include "rpc_client.h"

struct rpc_batch_call {
	/* in */
	rpc_client *client; /* NULL: the call fails with UNAVAILABLE */
	const ProtobufCServiceDescriptor *svc;
	const char *method;
	const ProtobufCMessage *req; /* packed before the call starts */
	/* out */
	hs_status status;
	ProtobufCMessage *reply; /* on HS_OK; the caller frees it */
	struct rpc_error err;	 /* on anything else */
};

/* Runs calls[0..n), each with timeout_ms (<= 0: the runtime's default). */
void rpc_batch_run(struct rpc_batch_call *calls, size_t n, size_t window,
    int64_t timeout_ms);

#endif
