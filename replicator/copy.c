/* The worker's copy phase (see worker.h): the photos of a chunk are read
 * at once, each from its first healthy replica and checked against the
 * record's SHA-256 (a bad or missing copy is queued for replacement and
 * the next replica tried), then sent store-to-store with one Replicate per
 * destination carrying every needle bound there. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "photo_id.h"
#include "rpc_batch.h"
#include "storelink.h"
#include "worker.h"

/* Queues the item's photo for a task that replaces store s's copy. */
static void
queue_replacement(struct repl *r, const struct item *it, uint32_t s)
{
	repl_enqueue_photo(r, it->t.key, it->t.cookie, it->t.prio, s);
}

/* Keeps rr's bytes as the item's data when they match the record (1),
 * else warns and queues store s's copy for replacement (0). Frees rr. */
static int
take_read(struct repl *r, struct item *it, uint32_t s, Hs__ReadReply *rr)
{
	uint8_t got[32];
	SHA256(rr->data.data ? rr->data.data : (const uint8_t *)"",
	    rr->data.len, got);
	if (rr->data.len == it->size && memcmp(got, it->sha, 32) == 0) {
		it->data = malloc(it->size ? it->size : 1);
		if (it->data)
			memcpy(it->data, rr->data.data, it->size);
		it->from = s;
		protobuf_c_message_free_unpacked(&rr->base, NULL);
		return it->data != NULL;
	}
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(it->t.key, it->t.cookie, id24);
	rt_log_warn("photo %s on store %u does not match its record's "
		    "SHA-256: replacing that copy",
	    id24, s);
	protobuf_c_message_free_unpacked(&rr->base, NULL);
	queue_replacement(r, it, s);
	return 0;
}

/* A read of the photo at store s failed with st: a copy that is corrupt
 * or missing there is queued to be replaced on the next run. */
static void
read_failed(struct repl *r, const struct item *it, uint32_t s, hs_status st)
{
	if (st == HS_DATA_LOSS || st == HS_NOT_FOUND)
		queue_replacement(r, it, s);
}

/* Reads the photo from a healthy replica, from healthy[first] on, and
 * checks its SHA-256. */
static void
fetch(struct repl *r, struct item *it, size_t first)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(it->t.key, it->t.cookie);
	req.id = &id;
	for (size_t i = first; i < it->plan.nhealthy; i++) {
		uint32_t s = it->plan.healthy[i];
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		hs_status st = repl_store_call(r, s, "Read", &req.base, &m, 0,
		    &e);
		if (st != HS_OK) {
			read_failed(r, it, s, st);
			continue;
		}
		if (take_read(r, it, s, (Hs__ReadReply *)m))
			return;
	}
	repl_item_fail(it, "no healthy replica could be read%s%s", "", "");
}

/* The needles of one Replicate call, in arrays sized for a whole chunk
 * (send_fetched owns them). */
struct shipment {
	Hs__Needle *nd;
	Hs__Needle **pn;
	Hs__PhotoId *ids;
	size_t *which; /* per needle: item index * REPL_MAX_LOC + dest index */
	size_t m;
};

/* Fills s with every fetched needle of items[first..n) bound for to and
 * not sent there yet. */
static void
gather(struct shipment *s, struct item *items, size_t first, size_t n,
    uint32_t to)
{
	s->m = 0;
	for (size_t b = first; b < n; b++) {
		struct item *it = &items[b];
		for (size_t q = 0; q < repl_ndest(it); q++) {
			if (it->data == NULL || it->sent[q] ||
			    repl_dest(it, q) != to)
				continue;
			size_t m = s->m++;
			hs__needle__init(&s->nd[m]);
			s->ids[m] = repl_pb_id(it->t.key, it->t.cookie);
			s->nd[m].id = &s->ids[m];
			s->nd[m].data.data = it->data;
			s->nd[m].data.len = it->size;
			s->nd[m].sha256.data = it->sha;
			s->nd[m].sha256.len = 32;
			s->pn[m] = &s->nd[m];
			s->which[m] = b * REPL_MAX_LOC + q;
		}
	}
}

/* One Replicate of s to store to; marks each needle's destination sent,
 * or its item failed. */
static void
ship(struct repl *r, const struct shipment *s, struct item *items, uint32_t to)
{
	Hs__ReplicateRequest req = HS__REPLICATE_REQUEST__INIT;
	req.needles = s->pn;
	req.n_needles = s->m;
	req.repl_epoch = repl_epoch(r);
	ProtobufCMessage *rep = NULL;
	struct rpc_error e;
	hs_status st = repl_store_call(r, to, "Replicate", &req.base, &rep, 0,
	    &e);
	Hs__ReplicateReply *rr = (Hs__ReplicateReply *)rep;
	for (size_t k = 0; k < s->m; k++) {
		struct item *it = &items[s->which[k] / REPL_MAX_LOC];
		size_t q = s->which[k] % REPL_MAX_LOC;
		if (st == HS_OK && k < rr->n_results &&
		    rr->results[k]->code == HS__CODE__OK)
			it->sent[q] = 1;
		else
			repl_item_fail(it, "copy to a store failed: %s%s",
			    st == HS_OK ? "refused by the store" : e.message,
			    "");
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

/* Sends every fetched needle to its destinations: one Replicate per
 * destination store carrying all needles bound there. Frees the data. */
static void
send_fetched(struct repl *r, struct item *items, size_t n)
{
	uint32_t done[REPL_MAX_STORES];
	size_t ndone = 0, cap = n ? n : 1;
	struct shipment s = { .nd = calloc(cap, sizeof(*s.nd)),
		.pn = calloc(cap, sizeof(*s.pn)),
		.ids = calloc(cap, sizeof(*s.ids)),
		.which = calloc(cap, sizeof(*s.which)) };
	int ok = s.nd && s.pn && s.ids && s.which;
	for (size_t a = 0; ok && a < n; a++) {
		for (size_t j = 0; j < repl_ndest(&items[a]); j++) {
			if (items[a].data == NULL || items[a].sent[j])
				continue;
			uint32_t to = repl_dest(&items[a], j);
			int seen = 0;
			for (size_t k = 0; k < ndone; k++)
				seen |= done[k] == to;
			if (seen || ndone == REPL_MAX_STORES)
				continue;
			done[ndone++] = to;
			gather(&s, items, a, n, to);
			ship(r, &s, items, to);
		}
	}
	for (size_t a = 0; a < n; a++) {
		free(items[a].data);
		items[a].data = NULL;
	}
	free(s.nd);
	free(s.pn);
	free(s.ids);
	free(s.which);
}

/* 1 if a destination of the item still lacks its copy (bulk.c may have
 * made them all). */
static int
needs_copy(const struct item *it)
{
	size_t left = 0;
	for (size_t j = 0; j < repl_ndest(it); j++)
		left += !it->sent[j];
	return it->found && left > 0 && it->plan.nhealthy > 0;
}

/* Reads every photo of the chunk that needs copies at once, each from its
 * first healthy replica; one whose read failed or did not match goes on
 * through fetch() with the replicas after that one. */
static void
fetch_many(struct repl *r, struct item *items, size_t n)
{
	struct rpc_batch_call *calls = calloc(n, sizeof(*calls));
	Hs__ReadRequest *reqs = calloc(n, sizeof(*reqs));
	Hs__PhotoId *ids = calloc(n, sizeof(*ids));
	size_t *which = calloc(n, sizeof(*which));
	size_t m = 0;
	if (!calls || !reqs || !ids || !which) {
		for (size_t i = 0; i < n; i++)
			if (needs_copy(&items[i]))
				fetch(r, &items[i], 0);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!needs_copy(&items[i]))
			continue;
		hs__read_request__init(&reqs[m]);
		hs__photo_id__init(&ids[m]);
		ids[m].key = items[i].t.key;
		ids[m].cookie = items[i].t.cookie;
		reqs[m].id = &ids[m];
		calls[m] = (struct rpc_batch_call){
			.client = repl_store_client(r,
			    items[i].plan.healthy[0]),
			.svc = &hs__store__descriptor,
			.method = "Read",
			.req = &reqs[m].base
		};
		which[m++] = i;
	}
	rpc_batch_run(calls, m, REPL_CALL_WINDOW, r->cfg.rpc_timeout_ms);
	for (size_t k = 0; k < m; k++) {
		struct item *it = &items[which[k]];
		uint32_t s = it->plan.healthy[0];
		if (calls[k].status != HS_OK)
			read_failed(r, it, s, calls[k].status);
		else if (take_read(r, it, s, (Hs__ReadReply *)calls[k].reply))
			continue;
		fetch(r, it, 1);
	}
	free(calls);
	free(reqs);
	free(ids);
	free(which);
}

/* Copies in chunks of at most REPAIR_BATCH_BYTES (at least one photo):
 * read them all, then one Replicate per destination store. */
void
repl_copy_phase(struct repl *r, struct item *items, size_t n)
{
	for (size_t start = 0, end; start < n; start = end) {
		uint64_t bytes = 0;
		for (end = start; end < n; end++) {
			uint64_t size = needs_copy(&items[end]) ?
			    items[end].size :
			    0;
			if (end > start &&
			    bytes + size > (uint64_t)r->cfg.batch_bytes)
				break;
			bytes += size;
		}
		fetch_many(r, items + start, end - start);
		send_fetched(r, items + start, end - start);
	}
}
