/* The store's background threads: heartbeats to the directory leader, and
 * maintenance (bounded-rate scrub, compaction of sparse volumes, access
 * reports to the replicator). Both stop promptly on background_stop. */
#ifndef STORE_BACKGROUND_H
#define STORE_BACKGROUND_H

#include "store.h"

struct background;

/* Starts both threads. NULL with a message in err on failure. */
struct background *background_start(struct store_service *svc, char *err,
    size_t errlen);
void background_stop(struct background *bg);

/* A client dialing every directory of --directories ("a,b,c"), for the
 * heartbeats and the registrar. NULL with a message in err. */
rpc_client *store_dial_directories(struct store_service *svc, char *err,
    size_t errlen);

#endif
