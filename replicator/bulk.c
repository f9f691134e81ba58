/* The worker's bulk copy phase (see worker.h): a lost store's photos are
 * refilled store-to-store. The batch's copies are grouped by (source,
 * target) and each group is one Push at the source (up to
 * REPL_PUSH_IDS ids and 4x REPAIR_BATCH_BYTES), which reads the needles
 * locally and sends them to the target many per Replicate: the bytes
 * never pass through the replicator, and the target syncs once per
 * batch. The pushes of a round are in flight together. The source is a
 * surviving member of the photo's write group when its key names one
 * (the same member for the whole group), else the record's healthy
 * copies in turn. A photo whose source cannot push it (gone mid-push, a
 * missing or bad copy) tries its next healthy copy in the next round; a
 * bad or missing copy is queued for replacement, as a failed Read is.
 * What is still not copied afterwards goes the per-photo way (copy.c). */
#include <stdlib.h>
#include <string.h>

#include "rpc_batch.h"
#include "storelink.h"
#include "worker.h"

#define PUSH_WINDOW 8 /* pushes in flight per worker */

/* One Push: every copy of the round from src to dst, up to the limits. */
struct push_call {
	uint32_t src, dst;
	Hs__PushRequest req;
	Hs__Replica target;
	char addr[128];
	Hs__PhotoId *ids, **pids;
	ProtobufCBinaryData *sha;
	size_t *which; /* per id: item index * REPL_MAX_LOC + dest index */
	size_t n;
	uint64_t bytes;
};

/* A round's pushes: at most one per copy of the batch. */
struct round {
	struct push_call *calls;
	size_t ncalls;
};

static int
unsent(const struct item *it, size_t q)
{
	return !it->sent[q] && !it->bulk_skip[q];
}

static void
call_free(struct push_call *pc)
{
	free(pc->ids);
	free(pc->pids);
	free(pc->sha);
	free(pc->which);
}

/* The push call of the round for src -> dst with room for one more id
 * of size bytes, started if needed; NULL when the target has no address
 * (or no memory). */
static struct push_call *
call_for(struct repl *r, struct round *rd, uint32_t src, uint32_t dst,
    uint64_t size, size_t cap)
{
	for (size_t c = rd->ncalls; c-- > 0;) {
		struct push_call *pc = &rd->calls[c];
		if (pc->src == src && pc->dst == dst && pc->n < REPL_PUSH_IDS &&
		    (pc->n == 0 ||
			pc->bytes + size <= 4 * (uint64_t)r->cfg.batch_bytes))
			return pc;
	}
	if (rd->ncalls == cap)
		return NULL;
	struct push_call *pc = &rd->calls[rd->ncalls];
	memset(pc, 0, sizeof(*pc));
	if (repl_store_addr(r, dst, pc->addr, sizeof(pc->addr)) != 0)
		return NULL;
	pc->ids = calloc(REPL_PUSH_IDS, sizeof(*pc->ids));
	pc->pids = calloc(REPL_PUSH_IDS, sizeof(*pc->pids));
	pc->sha = calloc(REPL_PUSH_IDS, sizeof(*pc->sha));
	pc->which = calloc(REPL_PUSH_IDS, sizeof(*pc->which));
	if (!pc->ids || !pc->pids || !pc->sha || !pc->which) {
		call_free(pc);
		return NULL;
	}
	rd->ncalls++;
	pc->src = src;
	pc->dst = dst;
	return pc;
}

/* Adds every copy still to make to the round, each from its item's
 * current source. */
static void
round_fill(struct repl *r, struct round *rd, struct item *items, size_t n,
    size_t cap)
{
	rd->ncalls = 0;
	for (size_t b = 0; b < n; b++) {
		struct item *it = &items[b];
		if (!it->bulk || it->next_src >= it->nsrcs)
			continue;
		for (size_t q = 0; q < repl_ndest(it); q++) {
			if (!unsent(it, q))
				continue;
			struct push_call *pc = call_for(r, rd,
			    it->srcs[it->next_src], repl_dest(it, q), it->size,
			    cap);
			if (pc == NULL) {
				it->bulk_skip[q] = 1; /* the per-photo way */
				continue;
			}
			pc->ids[pc->n] = repl_pb_id(it->t.key, it->t.cookie);
			pc->pids[pc->n] = &pc->ids[pc->n];
			pc->sha[pc->n] = (ProtobufCBinaryData){ 32, it->sha };
			pc->which[pc->n++] = b * REPL_MAX_LOC + q;
			pc->bytes += it->size;
		}
	}
}

/* Moves it on from source src (once, whichever of its copies failed). */
static void
next_source(struct item *it, uint32_t src)
{
	if (it->next_src < it->nsrcs && it->srcs[it->next_src] == src)
		it->next_src++;
}

/* Takes id k of call pc's outcome: code, and whether a server answered
 * it (0: the call never reached the source or got no reply). */
static void
take_result(struct repl *r, struct push_call *pc, struct item *items, size_t k,
    hs_status code, int answered)
{
	struct item *it = &items[pc->which[k] / REPL_MAX_LOC];
	size_t q = pc->which[k] % REPL_MAX_LOC;
	if (code == HS_OK) {
		it->sent[q] = 1;
		it->from = pc->src;
		atomic_fetch_add(&r->pushed, 1);
		return;
	}
	if (code == HS_NOT_FOUND || code == HS_DATA_LOSS) {
		/* The source's copy is missing or bad: replace it later,
		 * take the next copy now. */
		repl_enqueue_photo(r, it->t.key, it->t.cookie, it->t.prio,
		    pc->src);
		next_source(it, pc->src);
	} else if (!answered) {
		/* The source is gone (killed mid-push?): the next copy. */
		next_source(it, pc->src);
	} else {
		it->bulk_skip[q] = 1; /* refused: the per-photo way decides */
	}
}

/* Runs the round's pushes at once; 1 if a copy is left to try. */
static int
round_run(struct repl *r, struct round *rd, struct item *items)
{
	struct rpc_batch_call *bc = calloc(rd->ncalls ? rd->ncalls : 1,
	    sizeof(*bc));
	if (bc == NULL) {
		for (size_t c = 0; c < rd->ncalls; c++)
			call_free(&rd->calls[c]);
		return 0;
	}
	for (size_t c = 0; c < rd->ncalls; c++) {
		struct push_call *pc = &rd->calls[c];
		hs__push_request__init(&pc->req);
		hs__replica__init(&pc->target);
		pc->target.store_id = pc->dst;
		pc->target.rpc_addr = pc->addr;
		pc->req.ids = pc->pids;
		pc->req.n_ids = pc->n;
		pc->req.sha256 = pc->sha;
		pc->req.n_sha256 = pc->n;
		pc->req.target = &pc->target;
		pc->req.repl_epoch = repl_epoch(r);
		bc[c] = (struct rpc_batch_call){ .client = repl_store_client(r,
						     pc->src),
			.svc = &hs__store__descriptor,
			.method = "Push",
			.req = &pc->req.base };
	}
	atomic_fetch_add(&r->push_calls, rd->ncalls);
	rpc_batch_run(bc, rd->ncalls, PUSH_WINDOW, 4 * r->cfg.rpc_timeout_ms);
	for (size_t c = 0; c < rd->ncalls; c++) {
		struct push_call *pc = &rd->calls[c];
		const Hs__PushReply *rep = (const Hs__PushReply *)bc[c].reply;
		for (size_t k = 0; k < pc->n; k++) {
			int ok = bc[c].status == HS_OK && k < rep->n_results;
			take_result(r, pc, items, k,
			    ok ? (hs_status)rep->results[k]->code :
				 bc[c].status,
			    ok || bc[c].err.answered);
		}
		if (bc[c].reply != NULL)
			protobuf_c_message_free_unpacked(bc[c].reply, NULL);
		call_free(pc);
	}
	free(bc);
	return rd->ncalls > 0;
}

void
repl_bulk_phase(struct repl *r, struct item *items, size_t n)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += items[i].bulk ? repl_ndest(&items[i]) : 0;
	if (cap == 0)
		return;
	struct round rd = { .calls = calloc(cap, sizeof(*rd.calls)) };
	int ok = rd.calls != NULL;
	/* Each round either copies or moves some photo to its next
	 * source, so REPL_MAX_LOC + 1 rounds try every copy. */
	for (int round = 0; ok && round <= REPL_MAX_LOC; round++) {
		round_fill(r, &rd, items, n, cap);
		if (!round_run(r, &rd, items))
			break;
	}
	free(rd.calls);
}
