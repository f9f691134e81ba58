/* The per-peer senders of write forwarding (store_forward.h): a write's
 * needle becomes one item per peer, queued on that peer's sender; a sender
 * with no call in flight sends everything queued (up to the bounds) as one
 * Replicate, and its reply callback answers each item and sends the next
 * batch. An item that uses its write's bytes stays counted in its fanout's
 * `queued` until its Replicate has been packed (rpc_invoke_async packs
 * before it returns). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store_sender.h"

struct forwarder *
forwarder_open(struct store_service *svc)
{
	char err[256];
	struct forwarder *fw = calloc(1, sizeof(*fw));
	if (fw == NULL)
		return NULL;
	fw->svc = svc;
	pthread_mutex_init(&fw->mu, NULL);
	if ((fw->table = store_table_open(svc, err, sizeof(err))) == NULL) {
		rt_log_error("%s", err);
		forwarder_close(fw);
		return NULL;
	}
	return fw;
}

void
forwarder_close(struct forwarder *fw)
{
	if (fw == NULL)
		return;
	for (size_t i = 0; i < fw->npeers; i++)
		free(fw->peers[i]);
	free(fw->peers);
	store_table_close(fw->table);
	pthread_mutex_destroy(&fw->mu);
	free(fw);
}

void
note_failure(struct fanout *f, uint32_t store_id, const char *what)
{
	size_t used = strlen(f->why);
	snprintf(f->why + used, sizeof(f->why) - used, "%sstore %u: %s",
	    used ? "; " : "", store_id, what);
}

/* The sender for a peer, made on first use (fw->mu held). */
struct peer *
peer_get(struct forwarder *fw, uint32_t store_id, const char *addr)
{
	for (size_t i = 0; i < fw->npeers; i++)
		if (fw->peers[i]->store_id == store_id &&
		    strcmp(fw->peers[i]->addr, addr) == 0)
			return fw->peers[i];
	if (fw->npeers == MAX_PEERS ||
	    strlen(addr) >= sizeof(fw->peers[0]->addr))
		return NULL;
	struct peer **np = realloc(fw->peers, (fw->npeers + 1) * sizeof(*np));
	struct peer *p = calloc(1, sizeof(*p));
	if (np == NULL || p == NULL) {
		free(p);
		if (np != NULL)
			fw->peers = np;
		return NULL;
	}
	p->store_id = store_id;
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	fw->peers = np;
	fw->peers[fw->npeers++] = p;
	return p;
}

/* Whether f may be freed: released, every peer answered, nothing queued
 * (fw->mu held). */
int
fanout_finished(const struct fanout *f)
{
	return f->released && f->pending == 0 && f->queued == 0 &&
	    f->packing == 0;
}

void
fanout_free(struct fanout *f)
{
	size_t owned = 0;
	for (size_t i = 0; i < FORWARD_MAX; i++)
		if (f->items[i].own != NULL) {
			owned += f->items[i].req->data.len;
			free(f->items[i].own);
		}
	if (owned > 0) {
		pthread_mutex_lock(&f->fw->mu);
		f->fw->owned_bytes -= owned;
		pthread_mutex_unlock(&f->fw->mu);
	}
	if (f->done != NULL)
		f->done(f->arg);
	pthread_cond_destroy(&f->cv);
	free(f);
}

/* Records one peer's answer for item it (fw->mu held). 1 when the caller
 * must free the fanout after unlocking. */
static int
item_answered(struct item *it, int ok, const char *why)
{
	struct fanout *f = it->f;
	if (ok) {
		f->ok[f->nok++] = it->store_id;
		if (f->released && f->late != NULL)
			f->late(f->arg, it->store_id);
	} else {
		note_failure(f, it->store_id, why);
	}
	f->pending--;
	pthread_cond_broadcast(&f->cv);
	return fanout_finished(f);
}

/* Whether f is among fs[0..n) (a fanout is freed once). */
static int
listed(struct fanout *const *fs, size_t n, const struct fanout *f)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i] == f)
			return 1;
	return 0;
}

static void
batch_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct batch *b = arg;
	struct forwarder *fw = b->fw;
	const Hs__ReplicateReply *r = (const Hs__ReplicateReply *)reply;
	struct fanout *finished[FORWARD_BATCH_MAX];
	size_t nfin = 0;
	pthread_mutex_lock(&fw->mu);
	for (size_t k = 0; k < b->n; k++) {
		const char *why = err->message;
		int ok = err->code == HS_OK;
		if (ok &&
		    (r->n_results != b->n || r->results[k]->id == NULL ||
			r->results[k]->id->key != b->items[k]->key)) {
			ok = 0;
			why = "the peer's answer does not match the request";
		} else if (ok && r->results[k]->code != HS__CODE__OK) {
			ok = 0;
			why = hs_status_str((hs_status)r->results[k]->code);
		}
		if (item_answered(b->items[k], ok, why) &&
		    !listed(finished, nfin, b->items[k]->f))
			finished[nfin++] = b->items[k]->f;
	}
	b->p->inflight = 0;
	pthread_mutex_unlock(&fw->mu);
	for (size_t i = 0; i < nfin; i++)
		fanout_free(finished[i]);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	send_next(fw, b->p);
	free(b);
}

/* Detaches the next batch from p's queue (fw->mu held): NULL when a call
 * is in flight or nothing waits. */
static struct batch *
take_batch(struct forwarder *fw, struct peer *p)
{
	if (p->inflight || p->head == NULL)
		return NULL;
	struct batch *b = malloc(
	    sizeof(*b) + FORWARD_BATCH_MAX * sizeof(b->items[0]));
	if (b == NULL)
		return NULL; /* the next answer or write tries again */
	*b = (struct batch){ .fw = fw, .p = p, .n = 0 };
	size_t bytes = 0;
	while (p->head != NULL && b->n < FORWARD_BATCH_MAX) {
		struct item *it = p->head;
		size_t len = it->req->data.len;
		if (b->n > 0 && bytes + len > FORWARD_BATCH_BYTES)
			break;
		bytes += len;
		p->head = it->next;
		it->state = IT_SENDING;
		it->f->packing++;
		b->items[b->n++] = it;
	}
	if (p->head == NULL)
		p->tail = NULL;
	p->inflight = 1;
	return b;
}

/* The Replicate of batch b; needles carry their own token where it is not
 * the request's. Returns 0 once packed and sent, else an error for
 * batch_done. */
static int
send_batch(struct forwarder *fw, struct batch *b, struct rpc_error *e)
{
	Hs__Needle *nds = calloc(b->n, sizeof(*nds));
	Hs__Needle **ptrs = calloc(b->n, sizeof(*ptrs));
	Hs__ReplicateRequest rr = HS__REPLICATE_REQUEST__INIT;
	int64_t deadline = 0;
	int rc = HS_RESOURCE_EXHAUSTED;
	*e = (struct rpc_error){ .code = HS_RESOURCE_EXHAUSTED };
	snprintf(e->message, sizeof(e->message), "out of memory");
	if (nds != NULL && ptrs != NULL) {
		rr.write_token = b->items[0]->req->write_token;
		for (size_t k = 0; k < b->n; k++) {
			const Hs__WriteRequest *q = b->items[k]->req;
			hs__needle__init(&nds[k]);
			nds[k].id = q->id;
			nds[k].data = q->data;
			nds[k].sha256 = q->sha256;
			if (q->write_token.len != rr.write_token.len ||
			    memcmp(q->write_token.data, rr.write_token.data,
				q->write_token.len) != 0)
				nds[k].write_token = q->write_token;
			ptrs[k] = &nds[k];
			if (b->items[k]->f->deadline_ms > deadline)
				deadline = b->items[k]->f->deadline_ms;
		}
		rr.needles = ptrs;
		rr.n_needles = b->n;
		/* Bounded apart from the writes' deadlines: a peer that died
		 * mid-call must not hold its queue for longer. */
		int64_t timeout = deadline ? deadline - rt_now_ms() - 50 :
					     FORWARD_TIMEOUT_MS;
		if (timeout > FORWARD_TIMEOUT_MS)
			timeout = FORWARD_TIMEOUT_MS;
		char peer[RT_NAME_MAX];
		rt_store_principal(b->p->store_id, peer);
		rpc_client *c = rpc_pool_get(fw->svc->peers, b->p->addr, peer,
		    e->message, sizeof(e->message));
		rc = c == NULL ?
		    HS_INVALID_ARGUMENT :
		    rpc_invoke_async(c, &hs__store__descriptor, "Replicate",
			&rr.base, timeout < 100 ? 100 : timeout, 0, batch_done,
			b);
		if (c != NULL && rc != 0)
			snprintf(e->message, sizeof(e->message),
			    "cannot start the call: %s",
			    hs_status_str((hs_status)rc));
		e->code = (hs_status)rc;
	}
	free(nds);
	free(ptrs);
	return rc;
}

/* Sends whatever waits for p, unless a call to it is in flight. */
void
send_next(struct forwarder *fw, struct peer *p)
{
	pthread_mutex_lock(&fw->mu);
	struct batch *b = take_batch(fw, p);
	pthread_mutex_unlock(&fw->mu);
	if (b == NULL)
		return;
	struct rpc_error e;
	/* b may be answered (and freed) on an RPC thread as soon as it is
	 * sent: keep what the loop below needs. */
	size_t n = b->n;
	struct item *items[FORWARD_BATCH_MAX];
	memcpy(items, b->items, n * sizeof(items[0]));
	int rc = send_batch(fw, b, &e);
	pthread_mutex_lock(&fw->mu);
	struct fanout *finished[FORWARD_BATCH_MAX];
	size_t nfin = 0;
	for (size_t k = 0; k < n; k++) {
		struct fanout *f = items[k]->f;
		if (items[k]->borrowed)
			f->queued--;
		items[k]->borrowed = 0;
		if (items[k]->state == IT_SENDING)
			items[k]->state = IT_SENT;
		f->packing--;
		pthread_cond_broadcast(&f->cv);
		/* The answer may have come already: then f is ours to free. */
		if (rc == 0 && fanout_finished(f) && !listed(finished, nfin, f))
			finished[nfin++] = f;
	}
	pthread_mutex_unlock(&fw->mu);
	for (size_t i = 0; i < nfin; i++)
		fanout_free(finished[i]);
	if (rc != 0)
		batch_done(b, NULL, &e);
}

/* Takes item it out of its peer's queue (fw->mu held). */
void
unqueue(struct forwarder *fw, struct item *it)
{
	for (size_t k = 0; k < fw->npeers; k++) {
		struct peer *p = fw->peers[k];
		struct item **pp = &p->head, *prev = NULL;
		while (*pp != NULL && *pp != it) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp != it)
			continue;
		*pp = it->next;
		if (p->tail == it)
			p->tail = prev;
		return;
	}
}
