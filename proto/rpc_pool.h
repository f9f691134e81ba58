/* One rpc_client per server address, made on first use and kept: how a
 * process talks to many peers (a store to its peers, the replicator and
 * clients to stores) without dialing per call. Thread safe. */
#ifndef HS_RPC_POOL_H
#define HS_RPC_POOL_H

#include "rpc_client.h"

typedef struct rpc_pool rpc_pool;

/* opts is copied and used for every client the pool makes. */
int rpc_pool_open(rpc_pool **out, const struct rpc_client_opts *opts);

/* The client for peer (its principal, e.g. "store-3") at url, dialing it on
 * first use. The pool owns it: valid until rpc_pool_close. NULL with a
 * message in err for a malformed url or a peer the roster does not know. */
rpc_client *rpc_pool_get(rpc_pool *p, const char *url, const char *peer,
    char *err, size_t errlen);

/* Closes every client (each waits for its calls in flight), frees p. */
void rpc_pool_close(rpc_pool *p);

#endif
