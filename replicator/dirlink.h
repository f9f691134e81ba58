/* How the replicator talks to the directory: calls to the directory leader
 * (found in Redis, else the first of --directories, which forwards
 * writes), following leader hints. */
#ifndef REPL_DIRLINK_H
#define REPL_DIRLINK_H

#include <stddef.h>
#include <stdint.h>

#include "directory.pb-c.h"
#include "repl.h"
#include "rpc_client.h"

/* Calls svc.method at the directory leader. Same ownership as rpc_invoke:
 * on HS_OK *reply is the caller's to free. */
hs_status repl_dir_call(struct repl *r, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply,
    struct rpc_error *err);

/* Lookup of n photos, DOWN stores included, answered by a directory that
 * has applied the change log up to min_seq at least (0: as it is). On
 * HS_OK *out (one result per id, in order) is the caller's to free; else
 * why in err. */
hs_status repl_dir_lookup(struct repl *r, Hs__PhotoId **ids, size_t n,
    uint64_t min_seq, Hs__LookupReply **out, struct rpc_error *err);

/* The leader's PUB address as Redis names it, into out. 0 or -1. */
int repl_dir_leader_pub(struct repl *r, char *out, size_t len, uint64_t *epoch);

/* The pooled RPC client of the leader (found if not known yet), for many
 * calls at once (rpc_batch.h). NULL when there is none; repl_dir_call says
 * why. */
rpc_client *repl_dir_client(struct repl *r);

#endif
