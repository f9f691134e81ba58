/* A Delete's acknowledgement (docs/reliability.md, "Reads by hint"): a
 * committed delete is answered only once every store that may hold the
 * photo (the record's stores, the stores of the write group its key names)
 * has its tombstone durably, or has certainly stopped serving reads by
 * hint: its hint lease, counted from the last heartbeat this leader
 * answered (this term), plus a margin, has run out. Bounded by the call's
 * deadline (then UNAVAILABLE: committed, retry). Thread safe. */
#ifndef DIR_DELETE_ACK_H
#define DIR_DELETE_ACK_H

#include "dir.h"

struct dir_acks;

struct dir_acks *dir_acks_open(void);
/* Drains, waits for the store Deletes in flight, frees. NULL is fine. */
void dir_acks_close(struct dir_acks *t);

/* The heartbeat handler, BEFORE it reads the applied seq it answers with:
 * store id was answered now under epoch and keeps lease_ms of hint lease. */
void dir_acks_heard(struct dir_acks *t, uint32_t id, int64_t lease_ms,
    uint64_t epoch);

/* Takes over call for the committed, evicted delete of rec at seq: sends
 * the stores their Deletes and answers call (DeleteReply with seq) as the
 * header says. Never waits. */
void dir_acks_wait(struct dir_acks *t, struct dir *d, rpc_call *call,
    const Hs__PhotoRecord *rec, uint64_t seq);

/* Answers the acknowledgements that are due; the housekeeping thread, every
 * tick. */
void dir_acks_tick(struct dir_acks *t);

/* Answers the waiting acknowledgements (UNAVAILABLE if not yet due), and
 * those that come later at once: before the RPC server closes. NULL is
 * fine. */
void dir_acks_drain(struct dir_acks *t);

#endif
