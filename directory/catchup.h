/* The CatchUp method: change-log entries read from Redis on a reader
 * thread (so no nng thread waits on Redis), for followers of other
 * processes and tools. */
#ifndef DIR_CATCHUP_H
#define DIR_CATCHUP_H

#include "dir.h"

int dir_catchup_open(struct dir *d);
void dir_catchup_close(struct dir *d);

/* Answers call later from the reader thread. req belongs to call. */
void dir_catchup_queue(struct dir *d, rpc_call *call,
    const Hs__CatchUpRequest *req);

#endif
