/* RPC clients for tests: opened as the principal of an identity file, and
 * closed with a bound, as is anything else holding nng sockets (nng 1.5.2 can hang in close while a peer in the
 * same process still sends; a test must fail, not hang). */
#ifndef HS_TEST_RPC_H
#define HS_TEST_RPC_H

#include <stddef.h>

#include "rpc_client.h"

/* The identity in keyfile, loaded once per process and kept. NULL after
 * printing why. */
rt_ident *test_ident(const char *keyfile);

/* The servers' shared secret from keyfile (an admin's or server's
 * identity): what tests mint write tokens with. 0 or -1. */
int test_secret(const char *keyfile, rt_key *out);

/* A client dialing urls, as the principal of the identity file keyfile
 * (the server's principal is learnt from its first answer); connect_wait_ms 0 = the
 * client's default. NULL after printing why. */
rpc_client *test_rpc_open(const char *const *urls, size_t n,
    const char *keyfile, int connect_wait_ms);
/* rpc_invoke on c, and once more at the leader a follower names when it
 * sends the caller there (FAILED_PRECONDITION with a leader hint, as for
 * Allocate), on a client of its own as the principal of keyfile. */
hs_status test_rpc_invoke_leader(rpc_client *c, const char *keyfile,
    const ProtobufCServiceDescriptor *svc, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err);

/* The same for one "tcp://127.0.0.1:port". */
rpc_client *test_rpc_open_port(int port, const char *keyfile);

/* One call to svc.method at tcp://127.0.0.1:port on a client of its own
 * (see rpc_invoke; err may be NULL). UNAVAILABLE if no client opens. */
hs_status test_rpc_call(int port, const char *keyfile,
    const ProtobufCServiceDescriptor *svc, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err);

/* The same at one url ("tcp://HOST:PORT"). */
hs_status test_rpc_call_url(const char *url, const char *keyfile,
    const ProtobufCServiceDescriptor *svc, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err);

/* rpc_client_close, given 10 s; past that the client is left behind (and
 * said so) so the test goes on. NULL is fine. */
void test_rpc_close(rpc_client *c);

/* close_fn(obj) for anything that closes nng sockets (hs_close, ...),
 * bounded the same way; what names it in the message. */
void test_close_bounded(void (*close_fn)(void *), void *obj, const char *what);

#endif
