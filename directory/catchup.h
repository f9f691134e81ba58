/* The CatchUp method: change-log entries read from Redis on a reader
 * thread (so no nng thread waits on Redis), for followers of other
 * processes and tools. */
#ifndef DIR_CATCHUP_H
#define DIR_CATCHUP_H

#include "dir.h"

/* Starts the reader thread (d->reader). 0, or -1 logged. */
int dir_catchup_open(struct dir *d);
/* Answers the queued calls, stops the thread; nothing if never opened. */
void dir_catchup_close(struct dir *d);

/* Answers call later from the reader thread. req belongs to call. */
void dir_catchup_queue(struct dir *d, rpc_call *call,
    const Hs__CatchUpRequest *req);

#endif
