/* The registrar (see registrar.h): a FIFO of registrations drained by one
 * thread, REG_BATCH_MAX at a time, each batch one RegisterPhotos call. A
 * leader that is failing over is retried with backoff until the batch's
 * latest deadline (a resend of a committed registration is answered with
 * its seq, so retrying is safe). Entries live on the heap: a writer whose
 * deadline passed leaves its entry to the thread. */
#include "registrar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "background.h"
#include "clock.h"
#include "directory.pb-c.h"
#include "leader_info.h"
#include "log.h"

struct reg_photo {
	struct registrar *r;
	uint64_t key;
	uint32_t cookie;
	uint8_t sha[32];
	uint64_t size;
	size_t token_len;
	uint8_t token[];
};

struct reg_entry {
	struct reg_entry *next;
	struct reg_photo *p; /* a copy, owned */
	uint32_t stores[REG_STORES_MAX];
	size_t n;
	int64_t deadline_ms;
	int waiting; /* a writer waits for it (else the thread frees it) */
	int done;
	hs_status st;
	uint64_t seq;
	char why[256];
};

struct registrar {
	struct store_service *svc;
	rpc_client *dirs; /* every configured directory; NULL if none */
	char leader[256]; /* thread only: the leader's address, "" unknown */
	pthread_mutex_t mu;
	pthread_cond_t work, answered, stopped;
	struct reg_entry *head, *tail;
	int stop, started;
	pthread_t thread;
	_Atomic uint64_t photos, calls;
};

struct reg_photo *
reg_photo_new(struct registrar *r, const Hs__WriteRequest *req)
{
	struct reg_photo *p = malloc(sizeof(*p) + req->write_token.len);
	if (p == NULL || req->id == NULL || req->sha256.len != 32) {
		free(p);
		return NULL;
	}
	p->r = r;
	p->key = req->id->key;
	p->cookie = req->id->cookie;
	memcpy(p->sha, req->sha256.data, 32);
	p->size = req->data.len;
	p->token_len = req->write_token.len;
	if (p->token_len)
		memcpy(p->token, req->write_token.data, p->token_len);
	return p;
}

static struct reg_photo *
photo_copy(const struct reg_photo *p)
{
	struct reg_photo *c = malloc(sizeof(*c) + p->token_len);
	if (c != NULL)
		memcpy(c, p, sizeof(*c) + p->token_len);
	return c;
}

static void
entry_free(struct reg_entry *e)
{
	free(e->p);
	free(e);
}

/* Answers e (r->mu held): its writer takes it, or it goes. */
static void
entry_answer(struct registrar *r, struct reg_entry *e, hs_status st,
    uint64_t seq, const char *why)
{
	e->st = st;
	e->seq = seq;
	snprintf(e->why, sizeof(e->why), "%s", why);
	e->done = 1;
	if (st == HS_OK)
		r->photos++;
	else if (!e->waiting)
		rt_log_warn("registration of %016llx (a later copy, or its "
			    "writer gave up) failed: %s; the audit adopts "
			    "good copies the record does not name",
		    (unsigned long long)e->p->key, why);
	if (!e->waiting)
		entry_free(e);
}

/* The leader's client: its address from Redis when known, else any
 * directory (a follower forwards). */
static rpc_client *
leader_client(struct registrar *r, char *why, size_t whylen)
{
	struct store_service *svc = r->svc;
	struct rt_leader_info li;
	if (r->leader[0] == '\0' && svc->cfg.redis.addr[0] != '\0' &&
	    rt_leader_lookup(&svc->cfg.redis, 500, &li, why, whylen) == 0)
		snprintf(r->leader, sizeof(r->leader), "%s", li.rpc);
	rpc_client *c = r->leader[0] ?
	    rpc_pool_get(svc->peers, r->leader, RT_DIRECTORY_PRINCIPAL, why,
		whylen) :
	    NULL;
	if (c == NULL)
		r->leader[0] = '\0';
	return c != NULL ? c : r->dirs;
}

/* Sleeps the backoff of attempt n (50 ms doubling to 1 s), waking on
 * stop. 0 when stopping. */
static int
backoff(struct registrar *r, int attempt)
{
	int64_t ms = attempt < 5 ? 50LL << attempt : 1000;
	struct timespec ts;
	rt_timespec_in(ms, &ts);
	pthread_mutex_lock(&r->mu);
	if (!r->stop)
		pthread_cond_timedwait(&r->stopped, &r->mu, &ts);
	int go = !r->stop;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static int
retryable(hs_status st)
{
	return st == HS_UNAVAILABLE || st == HS_FAILED_PRECONDITION ||
	    st == HS_DEADLINE_EXCEEDED || st == HS_ABORTED;
}

/* One RegisterPhotos call for b[0..n), retried while the leader is
 * failing over. HS_OK with *out, else the status with why. */
static hs_status
call_leader(struct registrar *r, const Hs__RegisterBatchRequest *q,
    int64_t deadline, Hs__RegisterBatchReply **out, char *why, size_t whylen)
{
	struct rpc_error e;
	hs_status st = HS_UNAVAILABLE;
	snprintf(why, whylen, "no directory to register with");
	for (int attempt = 0;; attempt++) {
		int64_t left = deadline - rt_now_ms();
		rpc_client *c = leader_client(r, why, whylen);
		ProtobufCMessage *reply = NULL;
		if (c != NULL && left > 0) {
			st = rpc_invoke(c, &hs__directory__descriptor,
			    "RegisterPhotos", &q->base, &reply,
			    left < 5000 ? left : 5000, 0, &e);
			atomic_fetch_add(&r->calls, 1);
			snprintf(why, whylen, "%.*s",
			    (int)(whylen > 0 ? whylen - 1 : 0), e.message);
		}
		if (st == HS_OK) {
			*out = (Hs__RegisterBatchReply *)reply;
			return HS_OK;
		}
		if (st == HS_FAILED_PRECONDITION && e.leader_hint[0])
			snprintf(r->leader, sizeof(r->leader), "%s",
			    e.leader_hint);
		else
			r->leader[0] = '\0'; /* moved or died: look again */
		if (!retryable(st) || rt_now_ms() >= deadline ||
		    !backoff(r, attempt))
			return st;
	}
}

/* Registers b[0..n) in one call and answers each entry. */
static void
register_batch(struct registrar *r, struct reg_entry **b, size_t n)
{
	Hs__RegisterRequest rq[REG_BATCH_MAX], *ptrs[REG_BATCH_MAX];
	Hs__PhotoId ids[REG_BATCH_MAX];
	Hs__RegisterBatchRequest q = HS__REGISTER_BATCH_REQUEST__INIT;
	int64_t deadline = 0;
	for (size_t i = 0; i < n; i++) {
		const struct reg_photo *p = b[i]->p;
		hs__register_request__init(&rq[i]);
		hs__photo_id__init(&ids[i]);
		ids[i].key = p->key;
		ids[i].cookie = p->cookie;
		rq[i].id = &ids[i];
		rq[i].sha256.data = (uint8_t *)p->sha;
		rq[i].sha256.len = sizeof(p->sha);
		rq[i].size = p->size;
		rq[i].stores = b[i]->stores;
		rq[i].n_stores = b[i]->n;
		rq[i].write_token.data = (uint8_t *)p->token;
		rq[i].write_token.len = p->token_len;
		ptrs[i] = &rq[i];
		if (b[i]->deadline_ms > deadline)
			deadline = b[i]->deadline_ms;
	}
	q.photos = ptrs;
	q.n_photos = n;
	q.store_id = (uint32_t)r->svc->cfg.id;
	Hs__RegisterBatchReply *reply = NULL;
	char why[256];
	hs_status st = call_leader(r, &q, deadline, &reply, why, sizeof(why));
	if (st == HS_OK && reply->n_results != n) {
		st = HS_INTERNAL;
		snprintf(why, sizeof(why),
		    "the leader answered %zu results for %zu registrations",
		    reply->n_results, n);
	}
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		const Hs__RegisterResult *x = st == HS_OK ? reply->results[i] :
							    NULL;
		if (x == NULL)
			entry_answer(r, b[i], st, 0, why);
		else
			entry_answer(r, b[i], (hs_status)x->code, x->seq,
			    x->message && x->message[0] ? x->message :
							  "refused");
	}
	pthread_cond_broadcast(&r->answered);
	pthread_mutex_unlock(&r->mu);
	if (reply != NULL)
		hs__register_batch_reply__free_unpacked(reply, NULL);
}

static void *
registrar_main(void *arg)
{
	struct registrar *r = arg;
	struct reg_entry *b[REG_BATCH_MAX];
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		if (r->head == NULL) {
			pthread_cond_wait(&r->work, &r->mu);
			continue;
		}
		size_t n = 0;
		while (r->head != NULL && n < REG_BATCH_MAX) {
			b[n++] = r->head;
			r->head = r->head->next;
		}
		if (r->head == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->mu);
		register_batch(r, b, n);
		pthread_mutex_lock(&r->mu);
	}
	while (r->head != NULL) {
		struct reg_entry *e = r->head;
		r->head = e->next;
		entry_answer(r, e, HS_UNAVAILABLE, 0, "the store is stopping");
	}
	r->tail = NULL;
	pthread_cond_broadcast(&r->answered);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct registrar *
registrar_open(struct store_service *svc, char *err, size_t errlen)
{
	struct registrar *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->svc = svc;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->answered, NULL);
	pthread_cond_init(&r->stopped, NULL);
	if (svc->cfg.directories[0] != '\0' &&
	    (r->dirs = store_dial_directories(svc, err, errlen)) == NULL) {
		registrar_free(r);
		return NULL;
	}
	if (pthread_create(&r->thread, NULL, registrar_main, r) != 0) {
		snprintf(err, errlen, "cannot start the registrar thread");
		registrar_free(r);
		return NULL;
	}
	r->started = 1;
	return r;
}

void
registrar_stop(struct registrar *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->work);
	pthread_cond_broadcast(&r->stopped);
	pthread_mutex_unlock(&r->mu);
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = 0;
}

void
registrar_free(struct registrar *r)
{
	if (r == NULL)
		return;
	registrar_stop(r);
	rpc_client_close(r->dirs);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->answered);
	pthread_cond_destroy(&r->stopped);
	free(r);
}

/* Queues e (r->mu held); 0, or -1 when stopping. */
static int
enqueue(struct registrar *r, struct reg_entry *e)
{
	if (r->stop)
		return -1;
	if (r->tail != NULL)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
	pthread_cond_signal(&r->work);
	return 0;
}

static struct reg_entry *
entry_new(const struct reg_photo *p, const uint32_t *stores, size_t n,
    int64_t deadline_ms)
{
	struct reg_entry *e = calloc(1, sizeof(*e));
	if (e == NULL || (e->p = photo_copy(p)) == NULL) {
		free(e);
		return NULL;
	}
	e->n = n < REG_STORES_MAX ? n : REG_STORES_MAX;
	memcpy(e->stores, stores, e->n * sizeof(*stores));
	e->deadline_ms = deadline_ms;
	return e;
}

hs_status
registrar_register(struct registrar *r, const struct reg_photo *p,
    const uint32_t *stores, size_t n, int64_t deadline_ms, uint64_t *seq,
    char *why, size_t whylen)
{
	struct reg_entry *e = entry_new(p, stores, n, deadline_ms);
	if (e == NULL) {
		snprintf(why, whylen, "out of memory");
		return HS_RESOURCE_EXHAUSTED;
	}
	e->waiting = 1;
	struct timespec ts = { .tv_sec = deadline_ms / 1000,
		.tv_nsec = (deadline_ms % 1000) * 1000000 };
	pthread_mutex_lock(&r->mu);
	if (enqueue(r, e) != 0) {
		pthread_mutex_unlock(&r->mu);
		entry_free(e);
		snprintf(why, whylen, "the store is stopping");
		return HS_UNAVAILABLE;
	}
	while (!e->done && rt_now_ms() < deadline_ms)
		pthread_cond_timedwait(&r->answered, &r->mu, &ts);
	hs_status st = e->done ? e->st : HS_DEADLINE_EXCEEDED;
	snprintf(why, whylen, "%s",
	    e->done ? e->why : "no answer from the leader in time");
	*seq = e->seq;
	e->waiting = 0;
	if (e->done)
		entry_free(e);
	pthread_mutex_unlock(&r->mu);
	return st;
}

void
registrar_late_copy(void *photo, uint32_t store_id)
{
	const struct reg_photo *p = photo;
	struct registrar *r = p->r;
	struct reg_entry *e = entry_new(p, &store_id, 1, rt_now_ms() + 30000);
	if (e == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	int rc = enqueue(r, e);
	pthread_mutex_unlock(&r->mu);
	if (rc != 0)
		entry_free(e);
}

void
registrar_counts(struct registrar *r, uint64_t *photos, uint64_t *calls)
{
	*photos = atomic_load(&r->photos);
	*calls = atomic_load(&r->calls);
}
