/* Principals added at run time (hs cred, docs/security.md): clients and
 * admins beyond the roster. The set lives in the metadata Redis (hs:principals,
 * with a version bumped on every change); every directory keeps it in its
 * rt_ident, stores fetch it when a heartbeat reply shows a newer version,
 * and a revocation is answered once every UP store has applied it. */
#ifndef DIR_PRINCIPALS_H
#define DIR_PRINCIPALS_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "rpc_server.h"

struct dir;

/* Reads the set from r into d's identity if its version moved. 0, or -1
 * with err. */
int dir_principals_refresh(struct dir *d, rt_redis *r, char *err,
    size_t errlen);

/* 1 if name is a principal d knows now (roster or run time); else 0 with
 * why. */
int dir_principal_known(struct dir *d, const char *name, char *why,
    size_t whylen);

/* What store id last reported applying (from its heartbeat). */
void dir_principals_note(struct dir *d, uint32_t store_id, uint64_t version);

/* The handlers of AddPrincipal, RevokePrincipal, ListPrincipals. */
void dir_add_principal(rpc_call *call, const ProtobufCMessage *m, void *arg);
void dir_revoke_principal(rpc_call *call, const ProtobufCMessage *m,
    void *arg);
void dir_list_principals(rpc_call *call, const ProtobufCMessage *m,
    void *arg);

/* Waits (bounded) for the answers of credential changes still waiting for
 * stores. Before the RPC server closes, after d->stop is set. */
void dir_principals_close(struct dir *d);

/* The caller may act for store id: it is that store, or a directory
 * forwarding its call. 1, or 0 after failing the call. */
int dir_caller_is_store(rpc_call *call, uint32_t id);

#endif
