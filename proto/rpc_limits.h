/* The bounds a server and a client hold against a hostile peer, in one
 * place: how large a frame the transport may read, how much memory an
 * unpacked message may take, how long a caller's deadline may hold a call,
 * and how many connections a server keeps and for how long one may stay
 * without sending a whole request. A peer with no credential can make a
 * server hold at most one frame of rpc_frame_max bytes per connection
 * (nng reads one frame at a time per connection, into memory touched as
 * its bytes arrive), so max_conns of them, each for at most idle_ms; a
 * whole frame is freed as soon as its MAC fails (docs/security.md lists
 * every bound). */
#ifndef HS_RPC_LIMITS_H
#define HS_RPC_LIMITS_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Room for the envelope's header fields around a max_msg payload: names
 * (at most 2 x 128 bytes), MAC, ids, times and tags. */
#define RPC_ENVELOPE_SLACK 4096

/* The largest frame the transport reads for a max_msg payload: nng drops a
 * frame declaring more as soon as its 8-byte length arrives, unread. */
size_t rpc_frame_max(size_t max_msg);

/* Appends to msg, a "connection lost" message for a request frame of sent
 * bytes, that the frame may be over the server's limit (the server cuts
 * the connection on such a frame without an answer). */
void rpc_lost_hint(char *msg, size_t len, size_t sent);

/* --- unpacking within a byte budget --- */

/* The memory an unpacked message of wire_len bytes may take: bytes and
 * strings decode 1:1, but each element of a repeated message costs a
 * pointer and a struct (56-68 times the 2 wire bytes of an empty one).
 * Honest messages carry their bulk in bytes fields and at most a few MiB of
 * structure, so the budget is the wire size, plus 16 times it for
 * structure up to RPC_STRUCTURE_MAX, plus RPC_UNPACK_BASE. */
#define RPC_UNPACK_BASE (64u << 10)
#define RPC_STRUCTURE_MAX (32u << 20)
size_t rpc_unpack_budget(size_t wire_len);

/* protobuf_c_message_unpack within rpc_unpack_budget(len): NULL when the
 * bytes are malformed or would take more memory than the budget. The
 * allocator it uses is malloc/free, so the result is freed as usual with
 * protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *rpc_unpack_bounded(const ProtobufCMessageDescriptor *d,
    size_t len, const uint8_t *data);

/* --- deadlines --- */

/* A caller's deadline (Unix ms, 0 = none) as this server honours it: never
 * later than arrival_ms + cap_ms, and "none" stays none (handlers use their
 * own bounded default). */
int64_t rpc_deadline_clamp(int64_t deadline_ms, int64_t arrival_ms,
    int64_t cap_ms);

/* 1 if ts is within window_ms of now, computed without overflow whatever
 * the (attacker's) ts is. */
int rpc_time_within(int64_t now, int64_t ts, int64_t window_ms);

/* --- connections --- */

typedef struct rpc_conns rpc_conns;

/* Admits at most max_conns connections on sock (a new one past that is
 * closed at once) and closes any connection that has no request in
 * progress and sent no whole request for idle_ms: a peer trickling a big
 * frame, or silent, is cut off after idle_ms. TCP keepalive is the
 * listener's (runtime/listen.h). 0 or an nng error. */
int rpc_conns_open(rpc_conns **out, nng_socket sock, int max_conns,
    int64_t idle_ms, const char *name);

/* A whole request arrived on pipe: it is busy until rpc_conns_done. */
void rpc_conns_begin(rpc_conns *c, nng_pipe pipe);
void rpc_conns_done(rpc_conns *c, nng_pipe pipe);

/* Connections open now (for tests and stats). */
int rpc_conns_count(rpc_conns *c);

/* Stops the reaper; call after the socket is closed. NULL is fine. */
void rpc_conns_close(rpc_conns *c);

#endif
