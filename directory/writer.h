/* The leader's commit path: one thread runs every metadata write in
 * arrival order (RegisterPhoto, Delete, UpdateLocations), each as one
 * fenced Lua script, then applies it to memory and publishes it, so
 * events leave in sequence order. */
#ifndef DIR_WRITER_H
#define DIR_WRITER_H

#include "dir.h"

/* Starts the writer thread (d->writer). 0, or -1 logged. */
int dir_writer_open(struct dir *d);
/* Runs the queued jobs, then stops the thread and frees its Redis link;
 * nothing if it was never opened. */
void dir_writer_close(struct dir *d);

/* Queued by the election thread on winning: catch up to the log head and
 * load the store table before the first commit of the term. */
void dir_writer_takeover(struct dir *d);

/* Queue a validated write; the job answers call. On a queue failure the
 * call is answered UNAVAILABLE here. */
void dir_writer_allocate(struct dir *d, rpc_call *call,
    const Hs__AllocateRequest *req);
void dir_writer_register(struct dir *d, rpc_call *call,
    const Hs__RegisterRequest *req);
void dir_writer_register_batch(struct dir *d, rpc_call *call,
    const Hs__RegisterBatchRequest *req);
void dir_writer_delete(struct dir *d, rpc_call *call,
    const Hs__DeleteRequest *req);
void dir_writer_update(struct dir *d, rpc_call *call,
    const Hs__UpdateLocationsRequest *req);

#endif
