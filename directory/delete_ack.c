/* A Delete's acknowledgement (see delete_ack.h): the writer hands the
 * call here after the commit and the cache eviction; it is answered from a
 * store's Delete completion or from the housekeeping tick, never by a
 * thread that waits. Why the heard time is taken before the applied seq is
 * read (rpc_directory.c): a heartbeat answered with a seq from before the
 * delete then has its time recorded before the delete looks at it (both
 * under one mutex, the seq under the records' lock), so the delete waits
 * that store's lease out. */
#include "delete_ack.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "grant.h"
#include "log.h"
#include "photo_id.h"
#include "store_deletes.h"
#include "web_purge.h"

#define ACK_STORES (DIR_MAX_REPLICAS + DIR_MAX_REPLICAS_PICK)
/* Beyond a store's lease, for the two clocks' rates and the time the
 * store's answer spent on the wire. */
#define ACK_MARGIN_MS 250

/* When the leader last answered a store's heartbeat (monotonic), under
 * which epoch, and the hint lease the store said it keeps. */
struct heard {
	uint32_t id;
	int64_t mono, lease_ms;
	uint64_t epoch;
};

/* A Delete waiting for its stores. */
struct ack {
	struct ack *next;
	rpc_call *call;
	uint64_t seq;
	char hex[PHOTO_ID_HEX_LEN + 1];
	int64_t deadline; /* monotonic: answer UNAVAILABLE from here */
	size_t n;
	uint32_t store[ACK_STORES];
	int done[ACK_STORES];
	int64_t lease_end[ACK_STORES]; /* monotonic */
	int answered, refs;
	struct dir_purge *purge; /* the web cache (web_purge.h) */
};

struct dir_acks {
	struct dir_store_deletes out; /* its mu guards the fields below too */
	struct heard heard[DIR_MAX_STORES];
	size_t nheard;
	struct ack *acks; /* waiting, newest first */
	int closing;	  /* drained: acknowledgements answer at once */
};

struct dir_acks *
dir_acks_open(void)
{
	struct dir_acks *t = calloc(1, sizeof(*t));
	if (t != NULL)
		dir_store_deletes_init(&t->out);
	return t;
}

void
dir_acks_close(struct dir_acks *t)
{
	if (t == NULL)
		return;
	dir_acks_drain(t);
	if (dir_store_deletes_close(&t->out, "delete acknowledgements") == 0)
		free(t);
}

void
dir_acks_heard(struct dir_acks *t, uint32_t id, int64_t lease_ms,
    uint64_t epoch)
{
	int64_t now = rt_mono_ms();
	pthread_mutex_lock(&t->out.mu);
	size_t i = 0;
	while (i < t->nheard && t->heard[i].id != id)
		i++;
	if (i == t->nheard && t->nheard < DIR_MAX_STORES)
		t->nheard++;
	if (i < t->nheard)
		t->heard[i] = (struct heard){ id, now, lease_ms, epoch };
	pthread_mutex_unlock(&t->out.mu);
}

/* Under t->out.mu: when store id has certainly stopped serving reads by hint
 * on an answer from before now. Answered this term: that answer's time +
 * its lease; otherwise another leader may have answered it just now. */
static int64_t
lease_end_locked(struct dir_acks *t, uint32_t id, uint64_t epoch, int64_t now,
    int64_t default_lease)
{
	for (size_t i = 0; i < t->nheard; i++) {
		const struct heard *h = &t->heard[i];
		if (h->id != id)
			continue;
		if (epoch != 0 && h->epoch == epoch)
			return h->mono + h->lease_ms + ACK_MARGIN_MS;
		return now + h->lease_ms + ACK_MARGIN_MS;
	}
	return now + default_lease + ACK_MARGIN_MS;
}

static void
unlink_locked(struct dir_acks *t, struct ack *a)
{
	struct ack **p = &t->acks;
	while (*p != NULL && *p != a)
		p = &(*p)->next;
	if (*p == a)
		*p = a->next;
}

/* Under t->out.mu: 1 if a is to be answered now (*ok: every store confirmed
 * or its lease ran out; else the deadline came). It is then unlinked,
 * marked answered and held (refs) for the caller's answer. */
static int
take_if_ready(struct dir_acks *t, struct ack *a, int64_t now, int *ok)
{
	int wait = 0;
	if (a->answered)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!a->done[i] && now < a->lease_end[i])
			wait = 1;
	if (wait && now < a->deadline && !t->closing)
		return 0;
	*ok = !wait;
	a->answered = 1;
	a->refs++;
	unlink_locked(t, a);
	return 1;
}

/* Drops one hold on a; frees it when answered and unheld. */
static void
release(struct dir_acks *t, struct ack *a)
{
	pthread_mutex_lock(&t->out.mu);
	int last = --a->refs == 0 && a->answered;
	pthread_mutex_unlock(&t->out.mu);
	if (last)
		free(a);
}

static void
answer(struct dir_acks *t, struct ack *a, int ok)
{
	char waiting[ACK_STORES * 12 + 1] = "";
	size_t off = 0;
	if (ok) {
		dir_purge_acked(a->purge, a->hex);
		Hs__DeleteReply r = HS__DELETE_REPLY__INIT;
		r.seq = a->seq;
		rpc_reply(a->call, &r.base);
		release(t, a);
		return;
	}
	pthread_mutex_lock(&t->out.mu);
	for (size_t i = 0; i < a->n && off < sizeof(waiting); i++)
		if (!a->done[i])
			off += (size_t)snprintf(waiting + off,
			    sizeof(waiting) - off, "%s%" PRIu32, off ? "," : "",
			    a->store[i]);
	pthread_mutex_unlock(&t->out.mu);
	rpc_fail(a->call, HS_UNAVAILABLE,
	    "the delete of %s is committed, but store(s) %s have not "
	    "confirmed its tombstone yet and may still serve it by hint; "
	    "retry the delete",
	    a->hex, waiting);
	release(t, a);
}

struct ack_send {
	struct dir_acks *t;
	struct ack *a;
	size_t i;
};

/* The count dir_acks_close waits on drops only after this returns, so t
 * is still there. */
static void
ack_delete_done(void *arg, const struct rpc_error *err)
{
	struct ack_send *o = arg;
	struct dir_acks *t = o->t;
	struct ack *a = o->a;
	int ok = 0, go;
	pthread_mutex_lock(&t->out.mu);
	if (err->code == HS_OK)
		a->done[o->i] = 1;
	go = take_if_ready(t, a, rt_mono_ms(), &ok);
	pthread_mutex_unlock(&t->out.mu);
	if (go)
		answer(t, a, ok);
	release(t, a); /* this send's hold */
	free(o);
}

/* Sends store i of a its Delete, if it is UP. */
static void
ack_send(struct dir_acks *t, struct dir *d, struct ack *a, size_t i,
    const Hs__PhotoId *id, int64_t timeout)
{
	struct ack_send *o = malloc(sizeof(*o));
	if (o == NULL)
		return;
	*o = (struct ack_send){ t, a, i };
	pthread_mutex_lock(&t->out.mu);
	a->refs++;
	pthread_mutex_unlock(&t->out.mu);
	if (dir_store_delete(&t->out, d, a->store[i], id->key, id->cookie,
		timeout, ack_delete_done, o) != 0) {
		pthread_mutex_lock(&t->out.mu);
		a->refs--;
		pthread_mutex_unlock(&t->out.mu);
		free(o);
	}
}

/* The stores of the write group named in key (none for a key made before
 * groups, whose top bits may name a group by chance: its stores are then
 * sent a harmless Delete and waited for, nothing more). */
static size_t
group_stores(struct dir *d, uint64_t key, uint32_t *out, size_t max)
{
	struct dir_group g;
	uint32_t id = rt_grant_group_of(key);
	if (id == 0 || dir_groups_get(d->groups, id, &g) != 0)
		return 0;
	size_t n = g.n < max ? g.n : max;
	memcpy(out, g.stores, n * sizeof(*out));
	return n;
}

/* Every store that may hold rec's photo, once each, into a. A store the
 * table never knew never announced itself: nobody reads from it. */
static void
ack_stores(struct dir *d, const Hs__PhotoRecord *rec, struct ack *a)
{
	uint32_t g[DIR_MAX_REPLICAS_PICK];
	struct dir_store st;
	size_t ng = group_stores(d, rec->id->key, g, DIR_MAX_REPLICAS_PICK);
	for (size_t i = 0; i < rec->n_stores + ng; i++) {
		uint32_t id = i < rec->n_stores ? rec->stores[i] :
						  g[i - rec->n_stores];
		size_t k = 0;
		while (k < a->n && a->store[k] != id)
			k++;
		if (k == a->n && a->n < ACK_STORES &&
		    dir_stores_get(d->stores, id, &st) == 0)
			a->store[a->n++] = id;
	}
}

void
dir_acks_wait(struct dir_acks *t, struct dir *d, rpc_call *call,
    const Hs__PhotoRecord *rec, uint64_t seq)
{
	struct ack *a = calloc(1, sizeof(*a));
	uint64_t epoch = 0;
	if (a == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED,
		    "out of memory; the delete is committed, retry it");
		return;
	}
	dir_is_leader(d, NULL, 0, &epoch);
	int64_t now = rt_mono_ms(), wall_dl = rpc_call_deadline_ms(call);
	int64_t budget = wall_dl ? wall_dl - rt_now_ms() - 100 : 10000;
	*a = (struct ack){ .call = call,
		.seq = seq,
		.refs = 1,
		.purge = d->purge };
	a->deadline = now + (budget > 0 ? budget : 0);
	photo_id_format(rec->id->key, rec->id->cookie, a->hex);
	ack_stores(d, rec, a);
	pthread_mutex_lock(&t->out.mu);
	for (size_t i = 0; i < a->n; i++)
		a->lease_end[i] = lease_end_locked(t, a->store[i], epoch, now,
		    3 * d->cfg.heartbeat_ms);
	a->next = t->acks;
	t->acks = a;
	pthread_mutex_unlock(&t->out.mu);
	/* Past the last lease a store's answer no longer matters to this
	 * call (the tick's tombstones still reach it), so the Delete is not
	 * left queued for a store that comes back long after. */
	int64_t wait = 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->lease_end[i] - now > wait)
			wait = a->lease_end[i] - now;
	wait = wait < budget ? wait : budget;
	for (size_t i = 0; i < a->n; i++)
		ack_send(t, d, a, i, rec->id, wait < 100 ? 100 : wait);
	int ok = 0;
	pthread_mutex_lock(&t->out.mu);
	int go = take_if_ready(t, a, rt_mono_ms(), &ok);
	pthread_mutex_unlock(&t->out.mu);
	if (go)
		answer(t, a, ok);
	release(t, a); /* the hold of this function */
}

void
dir_acks_tick(struct dir_acks *t)
{
	struct ack *due[64];
	int ok[64];
	size_t n;
	do {
		n = 0;
		int64_t now = rt_mono_ms();
		pthread_mutex_lock(&t->out.mu);
		for (struct ack *a = t->acks, *next; a != NULL && n < 64;
		     a = next) {
			next = a->next;
			if (take_if_ready(t, a, now, &ok[n]))
				due[n++] = a;
		}
		pthread_mutex_unlock(&t->out.mu);
		for (size_t i = 0; i < n; i++)
			answer(t, due[i], ok[i]);
	} while (n == 64);
}

void
dir_acks_drain(struct dir_acks *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->out.mu);
	t->closing = 1;
	pthread_mutex_unlock(&t->out.mu);
	dir_acks_tick(t);
}
