/* Request and reply authentication: HMAC-SHA256 under the key the caller
 * and the server share (runtime/ident.h) over the envelope's header fields
 * and payload, plus a timestamp window. */
#ifndef HS_RPC_AUTH_H
#define HS_RPC_AUTH_H

#include "key.h"
#include "rpc.pb-c.h"

/* Computes env's MAC into mac (RT_MAC_LEN bytes); env->mac is ignored. */
void rpc_envelope_mac(const rt_key *key, const Hs__Envelope *env,
    uint8_t mac[RT_MAC_LEN]);

/* Constant-time check of env->mac. 1 if it matches, else 0. */
int rpc_envelope_mac_ok(const rt_key *key, const Hs__Envelope *env);

/* The same for replies: r->mac is ignored, resp. checked. */
void rpc_reply_mac(const rt_key *key, const Hs__ReplyEnvelope *r,
    uint8_t mac[RT_MAC_LEN]);
int rpc_reply_mac_ok(const rt_key *key, const Hs__ReplyEnvelope *r);

#endif
