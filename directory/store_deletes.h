/* Store Deletes in flight from the leader: sending one to a store, and the
 * count a closing directory waits on before it frees what their callbacks
 * touch. One mechanism for the delete acknowledgements (delete_ack.h) and
 * the tombstone rounds (tombstones.h). */
#ifndef DIR_STORE_DELETES_H
#define DIR_STORE_DELETES_H

#include <pthread.h>

#include "dir.h"

/* Kept in its owner, whose own fields mu may guard too (one lock: the
 * owner's callbacks run under it, never while it is held here). */
struct dir_store_deletes {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
};

void dir_store_deletes_init(struct dir_store_deletes *s);

/* Waits up to 5 s for the Deletes out. 0: none is left and s is destroyed
 * (its owner may be freed).
 * -1 (logged, naming what they were for): a call nng never expired may
 * still run its callback, so the caller keeps s and what the callbacks
 * touch allocated (the process is exiting). */
int dir_store_deletes_close(struct dir_store_deletes *s, const char *what);

/* The Deletes out now. */
int dir_store_deletes_out(struct dir_store_deletes *s);

/* Sends store id the Delete of the needle (key, cookie), if the store is
 * UP, within timeout_ms. done(arg, err) runs once when it ends (err->code
 * HS_OK: the tombstone is durable there); the count drops after it
 * returns, so done may still use its owner. 0 if it went out; -1 if not,
 * and done is not called. */
int dir_store_delete(struct dir_store_deletes *s, struct dir *d, uint32_t id,
    uint64_t key, uint32_t cookie, int64_t timeout_ms,
    void (*done)(void *arg, const struct rpc_error *err), void *arg);

#endif
