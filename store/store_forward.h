/* Forwarding a client's Write to the peer stores it names, in parallel with
 * the local append, as multi-writes (DESIGN.md "Data paths (v2)"): each
 * peer has one sender; while a Replicate to a peer is in flight, the next
 * needles bound for it queue and go together, as one Replicate, when it
 * returns (batching by back-pressure, no timer), bounded in bytes and
 * count. The peer makes a batch durable with one fdatasync. */
#ifndef STORE_STORE_FORWARD_H
#define STORE_STORE_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store.pb-c.h"

#define FORWARD_MAX 16 /* peers per write; more are refused by forward_start */
#define FORWARD_BATCH_MAX 256		/* needles in one Replicate */
#define FORWARD_BATCH_BYTES (64u << 20) /* photo bytes in one Replicate */
/* How long a write waits for its other peers once `need` answered: four
 * times what that took, within these bounds. */
#define FORWARD_GRACE_MIN_MS 50
#define FORWARD_GRACE_MAX_MS 1000
#define FORWARD_TIMEOUT_MS                                                     \
	5000			       /* a Replicate's bound: a peer that died
				   mid-call holds its queue no longer */
#define FORWARD_OWNED_MAX (256u << 20) /* bytes copied for busy peers */

struct forwarder;
struct fanout;

/* The per-peer senders of one store process. forwarder_close only after
 * every call it started has answered (rpc_pool_close of svc->peers). */
struct forwarder *forwarder_open(struct store_service *svc);
void forwarder_close(struct forwarder *fw);

/* The store table the forwarder copies by (store_table.h): a Push's
 * target is resolved there too. */
struct store_table *forward_table(struct store_service *svc);

/* Queues req's needle for every peer but this store, each at the address
 * the store table has for its id (the request's rpc_addr is ignored).
 * Blocks while the table asks a directory: call from a worker. deadline_ms
 * (Unix ms, 0 = none) bounds the calls. req must stay valid until forward_wait
 * returns. Never fails: a peer that cannot be called counts as a failed
 * copy. The result goes to forward_wait, then forward_release. */
struct fanout *forward_start(struct store_service *svc,
    const Hs__WriteRequest *req, int64_t deadline_ms);

/* Waits until `need` peers hold a durable copy or every peer answered (or
 * the deadline passed), then briefly (see FORWARD_GRACE_MIN_MS) for the other
 * peers. A needle still queued behind a busy peer then gets a copy of its
 * own (or, past the deadline or FORWARD_OWNED_MAX, counts as failed), so
 * req may go when this returns. Writes the ids of peers holding a durable copy so far to
 * ids (room for FORWARD_MAX), a summary of failures to why, and returns
 * their count. */
size_t forward_wait(struct fanout *f, size_t need, uint32_t *ids, char *why,
    size_t whylen);

/* Lets f go. Every peer that acknowledges after forward_wait returned is
 * passed to late(arg, store_id) (on an RPC thread: it must not block);
 * when the last peer has answered, done(arg) runs. late and done may be
 * NULL. */
void forward_release(struct fanout *f, void (*late)(void *, uint32_t),
    void (*done)(void *), void *arg);

#endif
