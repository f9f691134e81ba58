/* The Heartbeat RPC: how the leader keeps the store table. A store
 * heartbeats as itself (or a follower forwards it); the leader records it,
 * publishes a change of state, and answers with what the store follows. */
#ifndef DIR_HEARTBEAT_H
#define DIR_HEARTBEAT_H

#include "dir.h"

void dir_heartbeat(rpc_call *call, const ProtobufCMessage *m, void *arg);

#endif
