/* Inside the RPC client (rpc_client.h): the client and its pending calls,
 * shared by the asynchronous core (rpc_client.c) and the synchronous calls
 * and peer learning (rpc_invoke.c). */
#ifndef HS_RPC_CLIENT_IMPL_H
#define HS_RPC_CLIENT_IMPL_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rpc_client.h"

enum pending_state { P_SEND, P_RECV };

struct pending {
	rpc_client *cl;
	nng_ctx ctx;
	nng_aio *aio;
	enum pending_state state;
	int64_t deadline_mono;
	int64_t timeout_ms;
	uint64_t request_id;
	const ProtobufCMessageDescriptor *out; /* NULL for raw calls */
	rpc_done_fn done;
	void *arg;
	int peer_lost;
	size_t sent_len; /* the request frame's size, for error messages */
	struct pending *prev, *next; /* in flight, or the free list (next) */
};

struct rpc_client {
	struct rpc_client_opts opts;
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int connected;
	int inflight;
	struct pending active; /* sentinel of the in-flight ring */
	struct pending *free;
	_Atomic uint64_t next_id;
	char where[256]; /* the urls, for messages */
	int keyed;	 /* under mu: key and peer below are set */
	rt_key key;	 /* shared with peer */
	char peer[RT_NAME_MAX];
};

/* A free pending slot, linked in flight; NULL when out of memory. */
struct pending *rpc_pending_get(rpc_client *c);
/* Returns p to the free list: the last touch of it. */
void rpc_pending_put(struct pending *p);
/* Sends m on p; its callback finishes the call. */
void rpc_pending_start(struct pending *p, nng_msg *m);

/* Derives the key shared with peer. 0, or -1 with err. */
int rpc_client_key_for(rpc_client *c, const char *peer, char *err,
    size_t errlen);
/* 1 once the peer's key is known. */
int rpc_client_keyed(rpc_client *c);

#endif
