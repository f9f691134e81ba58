/* Push (store.proto, v2 repair in bulk): this store copies needles it
 * holds to another store itself, so a lost store's photos are refilled
 * from a surviving member without their bytes passing through the
 * replicator. Each needle is read locally with one positional read, CRC
 * checked (a bad one is counted and reported to the replicator as a Read
 * would, and skipped), checked against the record's SHA-256 when the
 * request carries it, and sent to the target in a few Replicate calls of
 * many needles (a step of at most PUSH_CHUNK_BYTES at a time), which the
 * target makes durable before it answers. Reads run on the slow queue; the Replicate is
 * asynchronous and its answer (on an nng thread) queues the next chunk's
 * reads, so no thread of ours waits on the peer: two stores pushing to
 * each other cannot starve each other's queues. Fenced like Replicate:
 * the replicator's epoch is required and the target checks it again. */
#include "rpc_push.h"
#include "rpc_util.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "photo_id.h"
#include "store.pb-c.h"
#include "store_forward.h"
#include "store_table.h"

#define PUSH_MAX_IDS 4096
#define PUSH_CHUNK_BYTES (16u << 20) /* photo bytes read per step */
/* A step's needles go as up to PUSH_SPLIT Replicates at once (at least
 * PUSH_SPLIT_MIN needles each): a target that syncs per needle shares its
 * fdatasyncs across its concurrent writers (group commit), one that syncs
 * per batch pays a few instead of one. */
#define PUSH_SPLIT 16
#define PUSH_SPLIT_MIN 8

struct push;

/* One Replicate of a step: needles first..first+n of the chunk. */
struct part {
	struct push *p;
	size_t first, n;
};

/* One Push in progress; freed when the call is answered. */
struct push {
	struct store_service *svc;
	rpc_call *call;
	const Hs__PushRequest *req; /* the call's until it is answered */
	rpc_client *target;
	size_t next; /* the first id not read yet */
	uint64_t bytes;
	Hs__PushResult *res;
	Hs__PushResult **resp;
	char (*msg)[128];
	/* the chunk in flight: its reads and needles */
	struct store_read *rd;
	Hs__Needle *nd;
	Hs__Needle **pn;
	size_t *which; /* per needle: its id's index */
	size_t m;
	pthread_mutex_t mu; /* the step's answers arrive on nng threads */
	size_t pending;	    /* Replicates of the step not answered yet */
	struct part parts[PUSH_SPLIT];
};

static void push_step(void *arg);

static void
push_free(struct push *p)
{
	pthread_mutex_destroy(&p->mu);
	free(p->res);
	free(p->resp);
	free(p->msg);
	free(p->rd);
	free(p->nd);
	free(p->pn);
	free(p->which);
	free(p);
}

static void
push_answer(struct push *p)
{
	Hs__PushReply out = HS__PUSH_REPLY__INIT;
	out.results = p->resp;
	out.n_results = p->req->n_ids;
	out.bytes = p->bytes;
	rpc_reply(p->call, &out.base);
	push_free(p);
}

/* Sets id i's outcome; msg may be NULL. */
static void
set_result(struct push *p, size_t i, hs_status st, const char *msg)
{
	size_t n = msg ? strnlen(msg, sizeof(p->msg[i]) - 1) : 0;
	p->res[i].code = (Hs__Code)st;
	memcpy(p->msg[i], msg ? msg : "", n); /* cut to fit */
	p->msg[i][n] = '\0';
}

/* Reads id i into the chunk as needle m; 0, or -1 with its outcome set. */
static int
read_one(struct push *p, size_t i)
{
	struct store_service *svc = p->svc;
	const Hs__PhotoId *id = p->req->ids[i];
	struct store_read *r = &p->rd[p->m];
	char why[128];
	int rc = store_engine_read(svc->engine, id->key, id->cookie, r);
	if (rc == STORE_E_DATA_LOSS) {
		atomic_fetch_add(&svc->corrupt, 1);
		store_report_corruption(svc, id->key, id->cookie,
		    "CRC mismatch on push");
	}
	if (rc != 0) {
		/* What the replicator acts on: this copy is missing (NOT_FOUND)
		 * or bad (DATA_LOSS), or cannot be read now (try another). */
		hs_status st = rc == STORE_E_NOT_FOUND ? HS_NOT_FOUND :
		    rc == STORE_E_DATA_LOSS	       ? HS_DATA_LOSS :
							 HS_UNAVAILABLE;
		snprintf(why, sizeof(why), "%s: %s", svc->name,
		    store_strerror(rc));
		set_result(p, i, st, why);
		return -1;
	}
	uint8_t sha[32];
	if (r->has_sha256)
		memcpy(sha, r->sha256, 32);
	else
		SHA256(r->data ? r->data : (const uint8_t *)"", r->len, sha);
	if (i < p->req->n_sha256 && p->req->sha256[i].len == 32 &&
	    memcmp(sha, p->req->sha256[i].data, 32) != 0) {
		store_read_free(r);
		set_result(p, i, HS_DATA_LOSS,
		    "this copy does not match the record's SHA-256");
		return -1;
	}
	memcpy(r->sha256, sha, 32); /* the needle's sha field points here */
	Hs__Needle *nd = &p->nd[p->m];
	hs__needle__init(nd);
	nd->id = (Hs__PhotoId *)id;
	nd->data.data = (uint8_t *)(r->data ? r->data : (const uint8_t *)"");
	nd->data.len = r->len;
	nd->sha256.data = r->sha256;
	nd->sha256.len = 32;
	p->pn[p->m] = nd;
	p->which[p->m++] = i;
	return 0;
}

static void
chunk_free(struct push *p)
{
	for (size_t k = 0; k < p->m; k++)
		store_read_free(&p->rd[k]);
	p->m = 0;
}

/* The target's answer to one part (on an nng thread: never blocks). The
 * last part of a step queues the next step, or answers the call. */
static void
part_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *e)
{
	struct part *pt = arg;
	struct push *p = pt->p;
	const Hs__ReplicateReply *rr = (const Hs__ReplicateReply *)reply;
	pthread_mutex_lock(&p->mu);
	for (size_t j = 0; j < pt->n; j++) {
		size_t k = pt->first + j, i = p->which[k];
		if (rr != NULL && j < rr->n_results &&
		    rr->results[j]->code == HS__CODE__OK) {
			set_result(p, i, HS_OK, NULL);
			p->bytes += p->nd[k].data.len;
		} else if (rr != NULL) {
			set_result(p, i,
			    j < rr->n_results ?
				(hs_status)rr->results[j]->code :
				HS_INTERNAL,
			    "the target refused the copy");
		} else {
			set_result(p, i, e->code, e->message);
		}
	}
	int last = --p->pending == 0;
	pthread_mutex_unlock(&p->mu);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	if (!last)
		return;
	chunk_free(p);
	if (p->next < p->req->n_ids &&
	    rt_workq_push(p->svc->slow, push_step, p) == 0)
		return;
	push_answer(p); /* done, or stopping: the rest stay UNAVAILABLE */
}

/* Sends part pt of the chunk as one Replicate. */
static void
send_part(struct part *pt, int64_t timeout)
{
	struct push *p = pt->p;
	Hs__ReplicateRequest rr = HS__REPLICATE_REQUEST__INIT;
	rr.needles = p->pn + pt->first;
	rr.n_needles = pt->n;
	rr.repl_epoch = p->req->repl_epoch;
	/* The request is packed before rpc_invoke_async returns. */
	int rc = rpc_invoke_async(p->target, &hs__store__descriptor,
	    "Replicate", &rr.base, timeout, 0, part_done, pt);
	if (rc != 0) {
		struct rpc_error e = { .code = (hs_status)rc };
		snprintf(e.message, sizeof(e.message),
		    "cannot start the Replicate to the target");
		part_done(pt, NULL, &e);
	}
}

/* The target's client, at the address the store table has for its id
 * (never the request's rpc_addr). 0, or -1 with the call failed. */
static int
push_resolve(struct push *p)
{
	char addr[256], why[200], peer[RT_NAME_MAX];
	uint32_t id = p->req->target->store_id;
	rt_store_principal(id, peer);
	if (store_table_addr(forward_table(p->svc), id, addr, sizeof(addr), why,
		sizeof(why)) == 0)
		p->target = rpc_pool_get(p->svc->peers, addr, peer, why,
		    sizeof(why));
	if (p->target != NULL)
		return 0;
	rpc_fail(p->call, HS_FAILED_PRECONDITION, "target: %s", why);
	push_free(p);
	return -1;
}

/* On the slow queue: reads the next chunk and sends it to the target in
 * a few parts, or answers the call when every id has its outcome. */
static void
push_step(void *arg)
{
	struct push *p = arg;
	uint64_t bytes = 0;
	if (p->target == NULL && push_resolve(p) != 0)
		return;
	while (p->next < p->req->n_ids && bytes < PUSH_CHUNK_BYTES) {
		size_t i = p->next++;
		if (read_one(p, i) == 0)
			bytes += p->rd[p->m - 1].len;
	}
	if (p->m == 0) {
		push_answer(p); /* every id read failed, or none left */
		return;
	}
	int64_t dl = rpc_call_deadline_ms(p->call);
	int64_t timeout = dl ? dl - rt_now_ms() - 50 : 10000;
	if (timeout < 100)
		timeout = 100;
	size_t parts = p->m / PUSH_SPLIT_MIN;
	parts = parts < 1 ? 1 : parts > PUSH_SPLIT ? PUSH_SPLIT : parts;
	size_t per = (p->m + parts - 1) / parts, m = p->m, np = 0;
	for (size_t first = 0; first < m; first += per)
		p->parts[np++] = (struct part){ p, first,
			m - first < per ? m - first : per };
	p->pending = np; /* before any answer can arrive */
	for (size_t k = 0; k < np; k++)
		send_part(&p->parts[k], timeout);
}

/* The replicator's fence (store_check_repl_epoch); a Push is the
 * replicator's alone, so it must carry an epoch. 0, or -1 with the call
 * answered. */
static int
push_fence(struct store_service *svc, rpc_call *call, uint64_t epoch)
{
	if (epoch != 0)
		return store_check_repl_epoch(svc, call, epoch);
	rpc_fail(call, HS_INVALID_ARGUMENT,
	    "Push is the replicator's: it must carry its fencing epoch "
	    "(repl_epoch)");
	return -1;
}

/* Why req cannot be served at all, in why; 0 if it can. */
static int
push_invalid(const struct store_service *svc, const Hs__PushRequest *req,
    char *why, size_t len)
{
	for (size_t i = 0; i < req->n_ids; i++)
		if (req->ids[i] == NULL || req->ids[i]->key == 0) {
			snprintf(why, len, "id %zu is missing", i);
			return 1;
		}
	if (req->n_ids == 0 || req->n_ids > PUSH_MAX_IDS)
		snprintf(why, len, "Push takes 1..%d ids, not %zu",
		    PUSH_MAX_IDS, req->n_ids);
	else if (req->target == NULL || req->target->store_id == 0)
		snprintf(why, len, "Push needs a target store id");
	else if (req->target->store_id == (uint32_t)svc->cfg.id)
		snprintf(why, len, "Push to itself: %s already holds them",
		    svc->name);
	else if (req->n_sha256 != 0 && req->n_sha256 != req->n_ids)
		snprintf(why, len, "sha256 must be empty or one per id");
	else
		return 0;
	return 1;
}

static struct push *
push_new(struct store_service *svc, rpc_call *call, const Hs__PushRequest *req)
{
	struct push *p = calloc(1, sizeof(*p));
	size_t n = req->n_ids;
	if (p == NULL)
		return NULL;
	*p = (struct push){ .svc = svc, .call = call, .req = req };
	pthread_mutex_init(&p->mu, NULL);
	p->res = calloc(n, sizeof(*p->res));
	p->resp = calloc(n, sizeof(*p->resp));
	p->msg = calloc(n, sizeof(*p->msg));
	p->rd = calloc(n, sizeof(*p->rd));
	p->nd = calloc(n, sizeof(*p->nd));
	p->pn = calloc(n, sizeof(*p->pn));
	p->which = calloc(n, sizeof(*p->which));
	if (!p->res || !p->resp || !p->msg || !p->rd || !p->nd || !p->pn ||
	    !p->which) {
		push_free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		hs__push_result__init(&p->res[i]);
		p->res[i].id = req->ids[i];
		p->res[i].message = p->msg[i];
		p->resp[i] = &p->res[i];
		set_result(p, i, HS_UNAVAILABLE,
		    "not copied: the push stopped first");
	}
	return p;
}

void
store_push(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	struct store_service *svc = arg;
	const Hs__PushRequest *req = (const Hs__PushRequest *)msg;
	char why[160];
	if (push_invalid(svc, req, why, sizeof(why))) {
		rpc_fail(call, HS_INVALID_ARGUMENT, "%s", why);
		return;
	}
	if (push_fence(svc, call, req->repl_epoch) != 0)
		return;
	struct push *p = push_new(svc, call, req);
	if (p == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	/* The target is resolved on the slow queue (push_step). */
	if (rt_workq_push(svc->slow, push_step, p) != 0) {
		push_free(p);
		rpc_fail(call, HS_UNAVAILABLE, "%s is shutting down",
		    svc->name);
	}
}
