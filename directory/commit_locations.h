/* UpdateLocationsBatch (the replicator's bulk location changes): many
 * compare-and-set updates committed in ONE fenced script on the leader's
 * writer thread; followers forward. See commit_locations.c. */
#ifndef DIR_COMMIT_LOCATIONS_H
#define DIR_COMMIT_LOCATIONS_H

#include "rpc_server.h"

/* The UpdateLocationsBatch handler (arg: struct dir *). */
void dir_update_locations_batch(rpc_call *call, const ProtobufCMessage *m,
    void *arg);

#endif
