/* Envelope encoding without extra copies of the payload. The payload is the
 * envelope's last field, written straight into the nng message on send and
 * read in place on receive, so a 64 MiB photo is not copied twice for
 * framing. Any valid protobuf encoding is still accepted on receive. */
#ifndef HS_RPC_WIRE_H
#define HS_RPC_WIRE_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc.pb-c.h"
#include "rpc_auth.h"

/* Packs env (its payload and mac fields are filled here) with req as the
 * payload, MAC'd under key. On success *out is a new message the caller
 * owns (nng_ctx_sendmsg takes it on success). 0 or an nng error. */
int rpc_wire_pack_request(const rt_key *key, Hs__Envelope *env,
    const ProtobufCMessage *req, nng_msg **out);

/* Packs r with payload (may be NULL) as its payload into a new message,
 * MAC'd under key (NULL: no MAC, for a caller the server cannot name). */
int rpc_wire_pack_reply(const rt_key *key, Hs__ReplyEnvelope *r,
    const ProtobufCMessage *payload, nng_msg **out);

/* Unpacks a request envelope from buf. The returned envelope's payload may
 * point into buf: keep buf alive while the payload is used, and free the
 * envelope only with rpc_wire_free_request. NULL if malformed. */
Hs__Envelope *rpc_wire_unpack_request(const uint8_t *buf, size_t len);
void rpc_wire_free_request(Hs__Envelope *env);

/* The same for replies. */
Hs__ReplyEnvelope *rpc_wire_unpack_reply(const uint8_t *buf, size_t len);
void rpc_wire_free_reply(Hs__ReplyEnvelope *r);

#endif
