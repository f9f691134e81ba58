/* A FIFO work queue served by a fixed pool of threads: where handlers send
 * slow work (fsync, forwarding, Redis round trips) so nng's callback
 * threads never block. Jobs run in arrival order across the pool. */
#ifndef HS_WORKQ_H
#define HS_WORKQ_H

#include <stddef.h>

typedef struct rt_workq rt_workq;
typedef void (*rt_job_fn)(void *arg);

/* 0 or -errno. */
int rt_workq_open(rt_workq **out, int threads, const char *name);

/* Queues fn(arg). 0, or -ESHUTDOWN after close began (fn is then not run). */
int rt_workq_push(rt_workq *q, rt_job_fn fn, void *arg);

/* For a job that can do several of its kind at once (one Redis pipeline,
 * one fsync): removes up to max jobs queued right behind it, from the head,
 * while they were pushed with fn and same(arg) says they are of its kind,
 * and stores their args in out. The caller runs them; they are no longer
 * the queue's. Returns the count. */
size_t rt_workq_take_more(rt_workq *q, rt_job_fn fn, int (*same)(void *arg),
    void **out, size_t max);

/* Runs every queued job to completion and stops the threads; from then on
 * a push answers -ESHUTDOWN, and q stays valid until rt_workq_close. For a
 * service whose server may still take calls while it shuts down. Call it
 * from one thread. */
void rt_workq_drain(rt_workq *q);

/* rt_workq_drain unless done, then frees q. */
void rt_workq_close(rt_workq *q);

#endif
