/* The replication task queue: one entry per photo at most, four priorities
 * (URGENT, HIGH, NORMAL, LOW as in replicator.proto), retries held back by
 * exponential backoff, and a hard cap on entries beyond which the lowest
 * priority work is dropped (and counted: the next audit finds it again).
 *
 * A task only names a photo, a priority and the stores reported corrupt;
 * the worker re-reads the record and decides what to do when it runs, so a
 * stale or repeated task is harmless. Thread safe (one mutex). */
#ifndef REPL_QUEUE_H
#define REPL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define REPL_PRIOS 4
#define REPL_TASK_MAX_BAD 4

enum repl_prio {
	REPL_URGENT = 0,
	REPL_HIGH = 1,
	REPL_NORMAL = 2,
	REPL_LOW = 3
};

/* A task as handed to a worker (a copy: the worker owns it). */
struct repl_task {
	uint64_t key;
	uint32_t cookie;
	int prio;
	uint32_t attempt;		 /* 0 on the first run */
	uint32_t bad[REPL_TASK_MAX_BAD]; /* stores whose copy is corrupt */
	int nbad;
};

struct repl_queue_stats {
	uint64_t depth[REPL_PRIOS]; /* waiting, including backoff */
	uint64_t in_flight, done, failed, dropped, upgraded;
};

typedef struct repl_queue repl_queue;

/* cap: most tasks held (waiting + in flight). NULL on out of memory. */
repl_queue *repl_queue_open(size_t cap);
void repl_queue_close(repl_queue *q);

enum repl_push_result { REPL_PUSH_NEW, REPL_PUSH_MERGED, REPL_PUSH_DROPPED };

/* Queues t (copied). A photo already waiting keeps one entry: the higher
 * priority wins and the bad-store lists merge. A photo in flight is run
 * again after its current run. When full, the lowest-priority waiting task
 * makes room if t ranks above it; otherwise t is dropped. */
enum repl_push_result repl_queue_push(repl_queue *q, const struct repl_task *t);

/* Takes up to max ready tasks (highest priority first, then oldest),
 * waiting up to wait_ms for the first. They are in flight until
 * repl_queue_finish. Returns how many were copied into out. */
size_t repl_queue_pop(repl_queue *q, struct repl_task *out, size_t max,
    int64_t now_ms, int wait_ms);

/* Ends a run. ok: done. Else retried after base_ms << attempt (capped at
 * 64 * base_ms) unless attempt + 1 >= max_attempts (then failed). Returns
 * 1 if it was re-queued. */
int repl_queue_finish(repl_queue *q, const struct repl_task *t, int ok,
    int64_t now_ms, int64_t base_ms, uint32_t max_attempts);

/* Drops every waiting task (on losing the lease). */
void repl_queue_clear(repl_queue *q);

void repl_queue_stats(repl_queue *q, struct repl_queue_stats *s);

/* Wakes poppers (shutdown). */
void repl_queue_wake(repl_queue *q);

#endif
