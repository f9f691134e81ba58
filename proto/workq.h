/* A FIFO work queue served by a fixed pool of threads: where handlers send
 * slow work (fsync, forwarding, Redis round trips) so nng's callback
 * threads never block. Jobs run in arrival order across the pool. */
#ifndef HS_WORKQ_H
#define HS_WORKQ_H

#include <stddef.h>

typedef struct hs_workq hs_workq;
typedef void (*hs_job_fn)(void *arg);

/* 0 or -errno. */
int hs_workq_open(hs_workq **out, int threads, const char *name);

/* Queues fn(arg). 0, or -ESHUTDOWN after close began (fn is then not run). */
int hs_workq_push(hs_workq *q, hs_job_fn fn, void *arg);

/* For a job that can do several of its kind at once (one Redis pipeline,
 * one fsync): removes up to max jobs queued right behind it, from the head,
 * while they were pushed with fn and same(arg) says they are of its kind,
 * and stores their args in out. The caller runs them; they are no longer
 * the queue's. Returns the count. */
size_t hs_workq_take_more(hs_workq *q, hs_job_fn fn, int (*same)(void *arg),
    void **out, size_t max);

/* Jobs queued or running. */
size_t hs_workq_depth(hs_workq *q);

/* Runs every queued job to completion, stops the threads, frees q. */
void hs_workq_close(hs_workq *q);

#endif
