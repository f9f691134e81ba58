/* Push (v2 repair in bulk): a store copies needles it holds straight to
 * another store, many per Replicate, for the replicator. See rpc_push.c. */
#ifndef STORE_RPC_PUSH_H
#define STORE_RPC_PUSH_H

#include "store.h"

/* The Push handler (arg: struct store_service *). */
void store_push(rpc_call *call, const ProtobufCMessage *msg, void *arg);

#endif
