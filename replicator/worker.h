/* What the worker's phases share (worker.c runs a batch, copy.c makes the
 * copies, store to store in bulk.c or through us in copy.c, commit.c tells
 * the directory): one item per task of a batch.
 * Internal to the replicator. */
#ifndef REPL_WORKER_H
#define REPL_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "directory.pb-c.h"
#include "policy.h"
#include "repl.h"

/* Reads and commits in flight at once per worker: enough to hide round
 * trips and let the leader pipeline its Redis commits, few enough that
 * one worker cannot monopolise a store. */
#define REPL_CALL_WINDOW 32
#define REPL_PUSH_IDS 1024  /* ids in one Push */
#define REPL_BATCH_MAX 1000 /* tasks a worker takes at once */

struct item {
	struct repl_task t;
	int found; /* the record is active */
	uint8_t sha[32];
	uint64_t size;
	uint32_t stores[REPL_MAX_LOC];
	size_t nstores;
	uint32_t target;
	uint64_t seq; /* the record's seq the plan was made from */
	struct repl_plan plan;
	uint8_t *data;		/* read from a good replica; freed on send */
	uint32_t from;		/* where data came from */
	int sent[REPL_MAX_LOC]; /* per plan.add[] then plan.rewrite[] */
	/* Bulk repair (bulk.c): copied by Push from srcs[next_src] on. */
	int bulk;
	uint32_t srcs[REPL_MAX_LOC];
	size_t nsrcs, next_src;
	int bulk_skip[REPL_MAX_LOC]; /* per destination: left to copy.c */
	int ok;
	char err[480];
};

/* Marks it failed (retried with backoff); the first reason is kept. fmt
 * takes the two strings a and b. */
static inline void
repl_item_fail(struct item *it, const char *fmt, const char *a, const char *b)
{
	it->ok = 0;
	if (it->err[0] == '\0')
		snprintf(it->err, sizeof(it->err), fmt, a, b);
}

/* Destinations of an item: plan.add[] first, then plan.rewrite[]. */
static inline size_t
repl_ndest(const struct item *it)
{
	return it->plan.nadd + it->plan.nrewrite;
}

static inline uint32_t
repl_dest(const struct item *it, size_t j)
{
	return j < it->plan.nadd ? it->plan.add[j] :
				   it->plan.rewrite[j - it->plan.nadd];
}

/* bulk.c: copies the bulk items' photos (a lost store's refill) store to
 * store with Push, grouped by (source, target); marks it->sent[]. What it
 * could not copy is left to repl_copy_phase. */
void repl_bulk_phase(struct repl *r, struct item *items, size_t n);

/* copy.c: reads each planned photo from a healthy replica (checked against
 * its SHA-256) and sends it to its destinations, in chunks of at most
 * REPAIR_BATCH_BYTES; marks it->sent[] per destination. */
void repl_copy_phase(struct repl *r, struct item *items, size_t n);

/* commit.c: tells the leader the new locations of the batch's planned
 * items, given lr, the Lookup made right before (st its status, e why it
 * failed): photos deleted meanwhile get their fresh copies deleted, trims
 * follow their commit. */
void repl_commit_phase(struct repl *r, struct item *items, size_t n,
    const Hs__LookupReply *lr, hs_status st, const struct rpc_error *e);

#endif
