/* The RPC server: a REP socket with a pool of nng contexts, each a small
 * state machine (RECV -> dispatch -> SEND -> RECV) driven by aio callbacks.
 * Services are protoc-c service descriptors plus a handler per method, so a
 * new method is a line in the .proto and a handler, nothing else.
 *
 * Before any handler runs the server has checked, in this order: the size
 * bound, the envelope's encoding, the MAC and timestamp window, the
 * deadline, the service and method, the caller's role, the fencing epoch,
 * and the request's encoding (unpacked within a memory budget).
 * Connections are capped and idle ones closed (rpc_limits.h). Handlers only
 * do the method's own work.
 *
 * Ownership: the request passed to a handler belongs to the call and is
 * freed when the call is answered; a handler answers exactly once, with
 * rpc_reply or rpc_fail, from any thread, at any time (slow work never
 * blocks the socket: answer later from a worker). The reply message passed
 * to rpc_reply stays the caller's. */
#ifndef HS_RPC_SERVER_H
#define HS_RPC_SERVER_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "rpc_auth.h"
#include "rpc_status.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

typedef void (
    *rpc_handler)(rpc_call *call, const ProtobufCMessage *req, void *arg);

/* One row of a service's handler table, matched to the descriptor's method
 * of the same name when the service is added, so the order of methods in a
 * .proto can never route a call to the wrong handler. roles is the set of
 * RT_ROLE_ bits that may call it (docs/rpc.md has the table); others get
 * PERMISSION_DENIED before the handler runs. */
struct rpc_method {
	const char *name; /* as in the .proto, e.g. "Allocate" */
	rpc_handler fn;
	unsigned roles;
};

struct rpc_server_opts {
	const char *name;      /* for log lines, e.g. "store-3" */
	rt_ident *ident;       /* who this server is; stays the caller's */
	size_t max_msg;	       /* largest request payload answered;
				   0 = 64 MiB. Frames over rpc_frame_max of
				   it are dropped by the transport unread. */
	int contexts;	       /* calls in progress at once; 0 = 64 */
	int64_t mac_window_ms; /* allowed clock skew / replay window;
				   0 = 30000 */
	/* Bounds against hostile peers (rpc_limits.h). */
	int max_conns;	     /* connections kept; 0 = 256 */
	int64_t idle_ms;     /* a connection with no whole request in
				this long is closed; 0 = 60000 */
	int64_t max_call_ms; /* the latest deadline honoured, from a
				request's arrival; 0 = 60000 */
};

/* 0 or an nng error. */
int rpc_server_open(rpc_server **out, const struct rpc_server_opts *opts);

/* Serves desc with the n rows of methods, each matched by name; a method
 * with no row answers UNIMPLEMENTED. A row naming no method of desc, or a
 * name given twice, is a programming error: it is logged and the call
 * returns NNG_EINVAL so the process refuses to start. Call before start. */
int rpc_server_add_service(rpc_server *s,
    const ProtobufCServiceDescriptor *desc, const struct rpc_method *methods,
    size_t n, void *arg);

/* Listens on url (tcp://, ipc://, tls+tcp://: the last with the process's
 * TLS identity, runtime/tls.h, and kept accepting, runtime/listen.h), once
 * per server. With port 0 ("tcp://host:0") the bound URL (with the real
 * port) is written to bound when it is non-NULL. */
int rpc_server_listen(rpc_server *s, const char *url, char *bound,
    size_t boundlen);

/* Starts receiving on every context. */
int rpc_server_start(rpc_server *s);

/* Stops every context, waits for handlers' answers to drain, frees. */
void rpc_server_close(rpc_server *s);

/* Raises the fencing floor: requests carrying a non-zero epoch below the
 * highest epoch seen are refused with FAILED_PRECONDITION. Only a
 * directory's requests raise it on their own. */
void rpc_server_observe_epoch(rpc_server *s, uint64_t epoch);
uint64_t rpc_server_epoch(const rpc_server *s);

/* One request frame through every check above, at time now, with no socket
 * and no handler run: what the fuzzer feeds (fuzz/rpc_dispatch_fuzz.c), so
 * it exercises the server's own code. Takes msg; the code a caller would
 * get. */
hs_status rpc_server_admit_frame(rpc_server *s, nng_msg *msg, int64_t now);

/* --- inside a handler --- */
void rpc_reply(rpc_call *call, const ProtobufCMessage *reply);
void rpc_fail(rpc_call *call, hs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* FAILED_PRECONDITION with the leader's address, for followers. */
void rpc_fail_redirect(rpc_call *call, const char *leader_hint, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

uint64_t rpc_call_epoch(const rpc_call *call);
/* The caller's deadline (Unix ms; 0 = none), never later than max_call_ms
 * after the request arrived. */
int64_t rpc_call_deadline_ms(const rpc_call *call);
const char *rpc_call_method(const rpc_call *call);
/* The authenticated caller: its principal name and its RT_ROLE_ bit. */
const char *rpc_call_peer(const rpc_call *call);
unsigned rpc_call_role(const rpc_call *call);

#endif
