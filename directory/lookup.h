/* Answering a Lookup whose min_seq is applied: at once from the handler
 * (rpc_directory.c), or later for one parked in waiters.c. */
#ifndef DIR_LOOKUP_H
#define DIR_LOOKUP_H

#include "dir.h"

/* Answers call from memory. q belongs to call; it is validated. */
void dir_lookup_answer(struct dir *d, rpc_call *call,
    const Hs__LookupRequest *q);

#endif
