/* How the replicator talks to the stores: the store table from the
 * directory's ListStores (cached, refreshed by the tick thread and on store
 * events) gives each store's address; calls go through the shared pool. */
#ifndef REPL_STORELINK_H
#define REPL_STORELINK_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "repl.h"
#include "rpc_client.h"
#include "store.pb-c.h"

#define REPL_MAX_STORES 256
#define REPL_MAX_GROUPS 4096 /* write groups kept (the directory's most) */
#define REPL_GROUP_IDS 65536 /* group ids are 1..65535 */

/* A write group (DESIGN.md, "Data paths (v2)"): stores that hold the same
 * photos; a grant key names its group in its top 16 bits. */
struct repl_group {
	uint32_t id;
	uint32_t stores[REPL_MAX_LOC];
	size_t n;
};

/* Calls method on store id (address from the store table). Same ownership
 * as rpc_invoke; timeout_ms <= 0: REPLICATOR_RPC_TIMEOUT. */
hs_status repl_store_call(struct repl *r, uint32_t store, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err);

/* The pooled RPC client of a store, for many calls at once (rpc_batch.h).
 * NULL when it has none; repl_store_call says why. */
rpc_client *repl_store_client(struct repl *r, uint32_t store);

/* Tombstones a needle on one store with our fencing epoch; kind
 * (Hs__DeleteKind) says why: TRIM and ORPHAN let the store take the photo
 * back later, DELETE is final. Logged: a destructive action. */
void repl_store_delete(struct repl *r, uint32_t store, uint64_t key,
    uint32_t cookie, int kind);

/* The RPC address of store id, from the table, into out. 0 or -1. */
int repl_store_addr(struct repl *r, uint32_t id, char *out, size_t len);

/* --- the store table --- */
struct repl_stores *repl_stores_open(void);
void repl_stores_close(struct repl_stores *s);

/* Reloads the table with ListStores. 0 or -1 (kept as it was). */
int repl_stores_refresh(struct repl *r);

/* Copies up to max entries into out; returns how many. */
size_t repl_stores_snapshot(struct repl *r, struct repl_store *out, size_t max);

/* 0 and a copy of write group id (from ListStores), or -1 if unknown. */
int repl_store_group(struct repl *r, uint32_t id, struct repl_group *out);

/* 1 if the table has been loaded at least once. */
int repl_stores_loaded(struct repl *r);

#endif
