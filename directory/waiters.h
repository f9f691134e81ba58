/* Lookups that carry a min_seq this replica has not applied yet: parked
 * here (never blocking an nng thread) and answered when the sequence is
 * applied, or failed UNAVAILABLE when their bound runs out. */
#ifndef DIR_WAITERS_H
#define DIR_WAITERS_H

#include <stdint.h>

#include "dir.h"

/* The answer function (rpc_directory.c). */
typedef void (*dir_lookup_fn)(struct dir *d, rpc_call *call,
    const Hs__LookupRequest *req);

int dir_waiters_open(struct dir *d, dir_lookup_fn answer);
/* Fails every parked call (shutting down), frees. */
void dir_waiters_close(struct dir *d);

/* Parks call until min_seq is applied or until_mono passes. */
void dir_waiters_add(struct dir *d, rpc_call *call,
    const Hs__LookupRequest *req, int64_t until_mono);

/* Answers every parked call whose seq is applied or whose time is up.
 * Call after applying changes and from a periodic tick. */
void dir_waiters_poll(struct dir *d);

#endif
