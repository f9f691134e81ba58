/* Forwarding a client's Write to the peer stores it names, in parallel with
 * the local append: the Write answers once it knows which copies are
 * durable. */
#ifndef STORE_STORE_FORWARD_H
#define STORE_STORE_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store.pb-c.h"

#define FORWARD_MAX 16 /* peers per write; more are refused by forward_start */

struct fanout;

/* Sends req's needle to every peer (except this store) with Replicate,
 * asynchronously. deadline_ms (Unix ms, 0 = none) bounds the calls. req is
 * only read during the call. Never fails: a peer that cannot be called
 * counts as a failed copy. The result must be passed to forward_wait. */
struct fanout *forward_start(struct store_service *svc,
    const Hs__WriteRequest *req, int64_t deadline_ms);

/* Waits for every peer, writes the ids of peers holding a durable copy to
 * ids (room for FORWARD_MAX), a summary of failures to why, frees f and
 * returns the count. */
size_t forward_wait(struct fanout *f, uint32_t *ids, char *why, size_t whylen);

#endif
