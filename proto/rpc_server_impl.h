/* Inside the RPC server (rpc_server.h): the server, its services and its
 * calls, shared by the socket side (rpc_server.c) and the checks a request
 * passes before its handler runs (rpc_admit.c). */
#ifndef HS_RPC_SERVER_IMPL_H
#define HS_RPC_SERVER_IMPL_H

#include <nng/nng.h>
#include <stdatomic.h>

#include "listen.h"
#include "metrics.h"
#include "rpc_limits.h"
#include "rpc_server.h"

#define MAX_SERVICES 4
#define MAX_METHODS 32
#define MAX_NAME 128

/* One method's answers by status and its latency (rpc_server_metrics.c). */
struct rpc_method_stats {
	_Atomic uint64_t codes[HS_STATUS_MAX + 1];
	struct rt_hist latency;
};

struct service {
	const ProtobufCServiceDescriptor *desc;
	rpc_handler handlers[MAX_METHODS]; /* in desc->methods order */
	unsigned roles[MAX_METHODS];
	void *arg;
	struct rpc_method_stats stats[MAX_METHODS];
};

enum call_state { CALL_IDLE, CALL_RECV, CALL_BUSY, CALL_SEND };

struct rpc_call {
	rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum call_state state;
	nng_msg *msg;	       /* the request frame, alive while env is */
	Hs__Envelope *env;     /* borrows its payload from msg */
	ProtobufCMessage *req; /* the unpacked request, owned */
	const ProtobufCMethodDescriptor *method;
	int keyed;  /* key below is the caller's: replies are MAC'd */
	rt_key key; /* shared with the caller */
	unsigned role;
	char peer[RT_NAME_MAX];
	nng_pipe pipe;	    /* the request's connection, busy till sent */
	int64_t arrival_ms; /* Unix ms the request arrived */
	uint64_t start_ns;  /* monotonic, for its latency */
	struct rpc_method_stats *stats; /* its method's, once known */
};

struct rpc_server {
	struct rpc_server_opts opts;
	nng_socket sock;
	struct service services[MAX_SERVICES];
	int nservices;
	struct rpc_call *calls;
	int ncalls;
	rpc_conns *conns;
	rt_listen *listen; /* the one listener (listen.h) */
	_Atomic uint64_t epoch;
	/* Requests refused before a method was known, by status. */
	_Atomic uint64_t rejected[HS_STATUS_MAX + 1];
};

/* The checks of rpc_server.h, in order: the envelope (size, encoding, the
 * caller's principal and MAC, timestamp window, deadline), then the call
 * (service, method, the caller's role, fencing, the request). HS_OK with
 * *svc and *h set, or the code with a message for people in why. */
hs_status rpc_admit(struct rpc_call *c, int64_t now, const struct service **svc,
    rpc_handler *h, char *why, size_t whylen);

/* Counts c's answer with code (rpc_server_metrics.c): one relaxed add and
 * a histogram bucket, no lock. */
void rpc_server_count(struct rpc_call *c, hs_status code);

#endif
