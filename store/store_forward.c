/* Write forwarding (see store_forward.h): a write's fanout, one item per
 * peer on the peers' senders (store_sender.c); the write waits for enough
 * copies, briefly for the rest, then lets the items that still wait behind
 * a busy peer keep a copy of their own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "store_sender.h"

struct store_table *
forward_table(struct store_service *svc)
{
	return svc->fwd->table;
}

/* Each peer's address from the store table, before fw->mu is taken (the
 * table may ask a directory); "" with the reason in why[i] if unknown. */
static void
resolve_peers(struct store_service *svc, const Hs__WriteRequest *req,
    char addr[][256], char why[][160])
{
	for (size_t i = 0; i < req->n_peers && i < FORWARD_MAX; i++) {
		uint32_t id = req->peers[i]->store_id;
		addr[i][0] = '\0';
		if (id != (uint32_t)svc->cfg.id &&
		    store_table_addr(svc->fwd->table, id, addr[i], 256, why[i],
			160) != 0)
			addr[i][0] = '\0';
	}
}

struct fanout *
forward_start(struct store_service *svc, const Hs__WriteRequest *req,
    int64_t deadline_ms)
{
	struct forwarder *fw = svc->fwd;
	struct fanout *f = calloc(1, sizeof(*f));
	struct peer *kick[FORWARD_MAX];
	char addr[FORWARD_MAX][256], why[FORWARD_MAX][160];
	size_t nkick = 0;
	if (f == NULL)
		return NULL;
	resolve_peers(svc, req, addr, why);
	f->fw = fw;
	f->deadline_ms = deadline_ms;
	f->start_ms = rt_mono_ms();
	pthread_cond_init(&f->cv, NULL);
	pthread_mutex_lock(&fw->mu);
	for (size_t i = 0; i < req->n_peers && i < FORWARD_MAX; i++) {
		const Hs__Replica *r = req->peers[i];
		size_t dup = 0;
		while (dup < i && req->peers[dup]->store_id != r->store_id)
			dup++;
		/* A peer named twice would count its one copy twice. */
		if (r->store_id == (uint32_t)svc->cfg.id || dup < i)
			continue;
		if (addr[i][0] == '\0') {
			note_failure(f, r->store_id, why[i]);
			continue;
		}
		struct peer *p = peer_get(fw, r->store_id, addr[i]);
		if (p == NULL) {
			note_failure(f, r->store_id,
			    "no sender for its address");
			continue;
		}
		struct item *it = &f->items[i];
		*it = (struct item){ .f = f,
			.req = req,
			.key = req->id->key,
			.store_id = r->store_id,
			.state = IT_QUEUED,
			.borrowed = 1 };
		if (p->tail != NULL)
			p->tail->next = it;
		else
			p->head = it;
		p->tail = it;
		f->pending++;
		f->queued++;
		if (!p->inflight)
			kick[nkick++] = p;
	}
	if (req->n_peers > FORWARD_MAX)
		note_failure(f, 0, "too many peers");
	pthread_mutex_unlock(&fw->mu);
	for (size_t i = 0; i < nkick; i++)
		send_next(fw, kick[i]);
	return f;
}

static struct owned *
own_copy(const Hs__WriteRequest *q)
{
	size_t n = q->data.len + q->sha256.len + q->write_token.len;
	struct owned *o = malloc(sizeof(*o) + (n ? n : 1));
	if (o == NULL)
		return NULL;
	hs__write_request__init(&o->req);
	hs__photo_id__init(&o->id);
	o->id.key = q->id->key;
	o->id.cookie = q->id->cookie;
	o->req.id = &o->id;
	uint8_t *at = o->bytes;
	const ProtobufCBinaryData *from[] = { &q->data, &q->sha256,
		&q->write_token };
	ProtobufCBinaryData *to[] = { &o->req.data, &o->req.sha256,
		&o->req.write_token };
	for (size_t i = 0; i < 3; i++) {
		if (from[i]->len)
			memcpy(at, from[i]->data, from[i]->len);
		*to[i] = (ProtobufCBinaryData){ from[i]->len, at };
		at += from[i]->len;
	}
	return o;
}

/* The write answers now (fw->mu held): f's items still waiting behind a
 * busy peer keep a copy of the needle (keep, room left) or are given up
 * (the copy then counts as failed: the replicator repairs it). */
static void
settle_queued(struct fanout *f, int keep)
{
	struct forwarder *fw = f->fw;
	for (size_t i = 0; i < FORWARD_MAX; i++) {
		struct item *it = &f->items[i];
		if (it->f != f || it->state != IT_QUEUED || !it->borrowed)
			continue;
		size_t len = it->req->data.len;
		struct owned *o = keep &&
			fw->owned_bytes + len <= FORWARD_OWNED_MAX ?
		    own_copy(it->req) :
		    NULL;
		it->borrowed = 0;
		f->queued--;
		if (o != NULL) {
			it->own = o;
			it->req = &o->req;
			fw->owned_bytes += len;
			continue;
		}
		unqueue(fw, it);
		it->state = IT_SENT;
		f->pending--;
		note_failure(f, it->store_id,
		    keep ?
			"too many copies wait behind busy peers" :
			"still queued behind earlier copies at the deadline");
	}
}

static void
abs_time(int64_t unix_ms, struct timespec *ts)
{
	ts->tv_sec = unix_ms / 1000;
	ts->tv_nsec = (unix_ms % 1000) * 1000000;
}

/* Waits (fw->mu held) until done(f, need) or Unix ms `until`. */
static void
wait_until(struct fanout *f, int (*done)(const struct fanout *, size_t),
    size_t need, int64_t until)
{
	struct timespec ts;
	abs_time(until, &ts);
	while (!done(f, need) && rt_now_ms() < until)
		pthread_cond_timedwait(&f->cv, &f->fw->mu, &ts);
}

static int
enough(const struct fanout *f, size_t need)
{
	return f->nok >= need || f->pending == 0;
}

static int
all_answered(const struct fanout *f, size_t need)
{
	(void)need;
	return f->pending == 0;
}

static int
all_packed(const struct fanout *f, size_t need)
{
	(void)need;
	return f->queued == 0;
}

size_t
forward_wait(struct fanout *f, size_t need, uint32_t *ids, char *why,
    size_t whylen)
{
	if (f == NULL) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	if (f->deadline_ms == 0)
		f->deadline_ms = rt_now_ms() + 10000;
	pthread_mutex_lock(&f->fw->mu);
	wait_until(f, enough, need, f->deadline_ms);
	/* Then, for the other peers, four times as long again as that took
	 * (FORWARD_GRACE_MIN_MS..FORWARD_GRACE_MAX_MS): healthy peers
	 * answer within it, and the registration names every copy (a copy
	 * registered later costs the leader a second commit, and is not in
	 * the record meanwhile); only a peer that is down or stuck leaves
	 * its copy to a later batch, at a bounded cost to the write. */
	int64_t grace = 4 * (rt_mono_ms() - f->start_ms);
	grace = grace < FORWARD_GRACE_MIN_MS ? FORWARD_GRACE_MIN_MS :
	    grace > FORWARD_GRACE_MAX_MS     ? FORWARD_GRACE_MAX_MS :
					       grace;
	int64_t until = rt_now_ms() + grace;
	int ok = f->nok >= need;
	if (ok && f->pending > 0)
		wait_until(f, all_answered, 0,
		    until < f->deadline_ms ? until : f->deadline_ms);
	settle_queued(f, ok);
	/* Items being packed right now: a moment. */
	while (f->queued > 0)
		wait_until(f, all_packed, 0, rt_now_ms() + 100);
	memcpy(ids, f->ok, f->nok * sizeof(*ids));
	snprintf(why, whylen, "%s", f->why[0] ? f->why : "no peer failed");
	size_t n = f->nseen = f->nok;
	pthread_mutex_unlock(&f->fw->mu);
	return n;
}

void
forward_release(struct fanout *f, void (*late)(void *, uint32_t),
    void (*done)(void *), void *arg)
{
	if (f == NULL) {
		if (done != NULL)
			done(arg);
		return;
	}
	pthread_mutex_lock(&f->fw->mu);
	f->late = late;
	f->done = done;
	f->arg = arg;
	if (late != NULL)
		for (size_t k = f->nseen; k < f->nok; k++)
			late(arg, f->ok[k]);
	f->released = 1;
	int fin = fanout_finished(f);
	pthread_mutex_unlock(&f->fw->mu);
	if (fin)
		fanout_free(f);
}
