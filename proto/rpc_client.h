/* The RPC client: a REQ socket dialing every address it is given (nng
 * spreads requests over the connected pipes and resends a request whose
 * pipe died on another one), one context per call, a deadline per call, and
 * an hs_status plus a message for people on every failure.
 *
 * UNAVAILABLE means no server was reachable (none connected within the
 * connect wait, or the last one went away mid-call); DEADLINE_EXCEEDED
 * means a server had the request and did not answer in time. Requests may be resent, so every method that
 * changes state must be idempotent. */
#ifndef HS_RPC_CLIENT_H
#define HS_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "rpc_auth.h"
#include "rpc_status.h"

typedef struct rpc_client rpc_client;

struct rpc_client_opts {
	rt_ident *ident;  /* who calls; stays the caller's */
	const char *peer; /* the server's principal ("store-3", "directory");
			     NULL: learnt from the server's first answer, at
			     the cost of a round trip that blocks the first
			     call (name it for clients used from callbacks) */
	size_t max_msg;	  /* largest reply accepted; 0 = 64 MiB */
	int64_t connect_wait_ms; /* how long a call waits for a first
				       connection before UNAVAILABLE; 0 = 1000 */
};

/* What went wrong, for people and for retry logic. */
struct rpc_error {
	hs_status code;
	char message[384];
	char leader_hint[128];	  /* with FAILED_PRECONDITION from a follower */
	uint64_t epoch;		  /* the server's epoch, when it answered */
	char server[RT_NAME_MAX]; /* the principal that answered */
	int answered;		  /* 1: a server sent this code; 0: the
				   transport failed (no reply at all) */
};

/* Dials every url (tcp://, ipc://, tls+tcp://: the last with the process's
 * TLS identity, runtime/tls.h) in the background. Fails only on a malformed
 * url or a TLS address without a TLS identity, with a message in err. */
int rpc_client_open(rpc_client **out, const char *const *urls, size_t nurls,
    const struct rpc_client_opts *opts, char *err, size_t errlen);

/* Waits for calls in flight to finish, then frees. */
void rpc_client_close(rpc_client *c);

/* The server's principal: as named at open, or as learnt ("" until). */
const char *rpc_client_peer(rpc_client *c);

/* Connected pipes right now. */
int rpc_client_connected(rpc_client *c);

/* Calls svc.method with req. On HS_OK *reply is a new message the caller
 * frees with protobuf_c_message_free_unpacked(*reply, NULL); otherwise
 * *reply is NULL and err (may be NULL) says why. timeout_ms <= 0 means 5 s.
 * epoch: the fencing epoch the caller acts under, 0 for none. */
hs_status rpc_invoke(rpc_client *c, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *req, ProtobufCMessage **reply,
    int64_t timeout_ms, uint64_t epoch, struct rpc_error *err);

/* The same, answered through done (on an nng thread: it must not block).
 * done gets the reply (its to free) or NULL and the error. Returns 0, or an
 * hs_status if the call could not even start (done is then not called). */
typedef void (*rpc_done_fn)(void *arg, ProtobufCMessage *reply,
    const struct rpc_error *err);
int rpc_invoke_async(rpc_client *c, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *req, int64_t timeout_ms,
    uint64_t epoch, rpc_done_fn done, void *arg);

/* How many calls (rpc_invoke, rpc_invoke_async, rpc_invoke_raw) every
 * client in this process has started since it began; nng's own resends
 * of a request are not counted. */
uint64_t rpc_calls_started(void);

/* Sends a raw frame (tests only: garbage, truncated or forged envelopes) and
 * returns the decoded reply's code, message in err. */
hs_status rpc_invoke_raw(rpc_client *c, const void *frame, size_t len,
    int64_t timeout_ms, struct rpc_error *err);

#endif
