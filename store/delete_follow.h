/* Following the leader's deletes, so that a read by hint (one that went
 * through no Lookup) never serves a deleted photo (docs/reliability.md,
 * "Reads by hint"). A store serves such reads only while some heartbeat
 * the leader answered was sent less than HINT_LEASE ago and the store has
 * tombstoned every delete up to the leader's applied seq named in that
 * answer (the newest such answer counts: while the store catches up with a
 * newer one, the lease of the last one it has applied still runs). A thread catches up from the change log (CatchUp), or, when
 * the log no longer reaches back, by looking up every needle it holds; the
 * seq it has applied is kept durably in the data dir. */
#ifndef STORE_DELETE_FOLLOW_H
#define STORE_DELETE_FOLLOW_H

#include <stdint.h>

#include "rpc_client.h"
#include "store.h"

struct delete_follow;

/* Reads the applied seq from svc's data dir (none yet = 0). NULL with a
 * message in err when the file is unreadable. */
struct delete_follow *delete_follow_open(struct store_service *svc, char *err,
    size_t errlen);
/* Stops the thread if running, then frees. NULL is fine. */
void delete_follow_close(struct delete_follow *df);

/* Starts the catch-up thread. 0 or -1. */
int delete_follow_start(struct delete_follow *df);
/* Stops it (before the clients handed to delete_follow_heard close). */
void delete_follow_stop(struct delete_follow *df);

/* The heartbeat sent at sent_mono (monotonic ms) was answered through c by
 * a leader that had applied leader_seq. c must outlive delete_follow_stop. */
void delete_follow_heard(struct delete_follow *df, rpc_client *c,
    int64_t sent_mono, uint64_t leader_seq);

/* 1 when a read by hint may be served now, else 0 with why in msg. */
int delete_follow_may_serve(struct delete_follow *df, char *msg, size_t len);

/* Every delete up to this seq is tombstoned here. */
uint64_t delete_follow_applied(struct delete_follow *df);

/* Tombstones key here with a delete record of kind (durable when it
 * returns 0), counts it and publishes needle.deleted. The engine's code:
 * STORE_E_NOT_FOUND when the key was never written here. */
int store_delete_needle(struct store_service *svc, uint64_t key,
    uint32_t cookie, enum store_delete_kind kind);

/* A DELETE found no copy of key here: remembers it (store/gone_keys.h), and
 * tombstones a copy that a concurrent put landed meanwhile. */
void store_note_gone(struct store_service *svc, uint64_t key, uint32_t cookie);

/* Whether a put of key may stand: 0, or STORE_E_DELETED when its photo was
 * deleted while absent here. Called before a put (to refuse early) and
 * after a successful one (landed = 1: the copy is then tombstoned), so a
 * put racing store_note_gone loses either way. */
int store_put_allowed(struct store_service *svc, uint64_t key, uint32_t cookie,
    int landed);

#endif
