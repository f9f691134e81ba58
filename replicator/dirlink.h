/* How the replicator talks to the directory and the stores: calls to the
 * directory leader (found in Redis, else any directory from --directories,
 * which forwards writes), following leader hints; and the store table from
 * ListStores, cached and refreshed by the tick thread and on store events. */
#ifndef REPL_DIRLINK_H
#define REPL_DIRLINK_H

#include <stddef.h>
#include <stdint.h>

#include "directory.pb-c.h"
#include "policy.h"
#include "repl.h"
#include "rpc_client.h"
#include "store.pb-c.h"

/* Calls svc.method at the directory leader. Same ownership as rpc_invoke:
 * on HS_OK *reply is the caller's to free. */
hs_status repl_dir_call(struct repl *r, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply,
    struct rpc_error *err);

/* The leader's PUB address as Redis names it, into out. 0 or -1. */
int repl_dir_leader_pub(struct repl *r, char *out, size_t len, uint64_t *epoch);

/* Calls method on store id (address from the store table). */
hs_status repl_store_call(struct repl *r, uint32_t store, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err);

/* The pooled RPC clients behind those calls, for many calls at once
 * (rpc_batch.h): the leader's (found if not known yet), a store's. NULL
 * when there is none; repl_dir_call and repl_store_call say why. */
rpc_client *repl_dir_client(struct repl *r);
rpc_client *repl_store_client(struct repl *r, uint32_t store);

/* --- the store table --- */
struct repl_stores *repl_stores_open(void);
void repl_stores_close(struct repl_stores *s);

/* Reloads the table with ListStores. 0 or -1 (kept as it was). */
int repl_stores_refresh(struct repl *r);

/* Copies up to max entries into out; returns how many. */
size_t repl_stores_snapshot(struct repl *r, struct repl_store *out, size_t max);

/* 1 if the table has been loaded at least once. */
int repl_stores_loaded(struct repl *r);

#define REPL_MAX_STORES 256

#endif
