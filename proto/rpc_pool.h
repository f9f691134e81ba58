/* One rpc_client per server address, made on first use and kept: how a
 * process talks to many peers (a store to its peers, the replicator and
 * clients to stores) without dialing per call. Thread safe.
 *
 * Bounded: each client is a socket that redials its address for ever, so
 * addresses learnt from the network must not grow the pool without end. A
 * new address past the limit is refused (clients are never evicted: a
 * caller may hold one until rpc_pool_close). */
#ifndef HS_RPC_POOL_H
#define HS_RPC_POOL_H

#include "rpc_client.h"

typedef struct rpc_pool rpc_pool;

/* Addresses a pool dials at most unless told otherwise: every store of the
 * largest cluster (1,024) and the directories, twice over. */
#define RPC_POOL_MAX 2048

/* opts is copied and used for every client the pool makes. */
int rpc_pool_open(rpc_pool **out, const struct rpc_client_opts *opts);

/* Sets the pool's limit of addresses (at least 1); before use. */
void rpc_pool_set_max(rpc_pool *p, size_t max);

/* The client for peer (its principal, e.g. "store-3") at url, dialing it on
 * first use. The pool owns it: valid until rpc_pool_close. NULL with a
 * message in err for a malformed url, a peer the roster does not know, or
 * a new one when the pool holds its limit of addresses. */
rpc_client *rpc_pool_get(rpc_pool *p, const char *url, const char *peer,
    char *err, size_t errlen);

/* Closes every client (each waits for its calls in flight), frees p. */
void rpc_pool_close(rpc_pool *p);

#endif
