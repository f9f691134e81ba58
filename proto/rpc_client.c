/* The RPC client (see rpc_client.h). Each call borrows a pending slot (an
 * nng context and an aio) from a free list; its callback walks SEND -> RECV
 * -> done. Pipe events keep a connection count, so a call whose last server
 * vanished fails with UNAVAILABLE at once instead of waiting out its
 * deadline. */
#include "rpc_client.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_wire.h"
#include "tls.h"

enum pending_state { P_SEND, P_RECV };

struct pending {
	rpc_client *cl;
	nng_ctx ctx;
	nng_aio *aio;
	enum pending_state state;
	int64_t deadline_mono;
	int64_t timeout_ms;
	uint64_t request_id;
	const ProtobufCMessageDescriptor *out; /* NULL for raw calls */
	rpc_done_fn done;
	void *arg;
	int peer_lost;
	struct pending *prev, *next; /* in flight, or the free list (next) */
};

struct rpc_client {
	struct rpc_client_opts opts;
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int connected;
	int inflight;
	struct pending active; /* sentinel of the in-flight ring */
	struct pending *free;
	_Atomic uint64_t next_id;
	char where[256]; /* the urls, for messages */
};

static void pending_cb(void *arg);

/* Calls any client of this process started (benchmarks count messages). */
static _Atomic uint64_t calls_started;

uint64_t
rpc_calls_started(void)
{
	return atomic_load(&calls_started);
}

static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_client *c = arg;
	(void)p;
	pthread_mutex_lock(&c->mu);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		c->connected++;
		pthread_cond_broadcast(&c->cv);
	} else if (ev == NNG_PIPE_EV_REM_POST && --c->connected == 0) {
		/* No one left to resend to: fail the calls now. */
		for (struct pending *q = c->active.next; q != &c->active;
		     q = q->next) {
			q->peer_lost = 1;
			nng_aio_cancel(q->aio);
		}
	}
	pthread_mutex_unlock(&c->mu);
}

static int
dial(rpc_client *c, const char *url, char *err, size_t errlen)
{
	nng_dialer d;
	int rv = nng_dialer_create(&d, c->sock, url);
	if (rv != 0) {
		snprintf(err, errlen,
		    "bad address '%s': %s (use tcp://HOST:PORT, "
		    "ipc:///PATH or tls+tcp://HOST:PORT)",
		    url, nng_strerror(rv));
		return rv;
	}
	if ((rv = rt_tls_dialer(d, url, err, errlen)) != 0) {
		nng_dialer_close(d);
		return rv;
	}
	nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 20);
	nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 500);
	return nng_dialer_start(d, NNG_FLAG_NONBLOCK);
}

int
rpc_client_open(rpc_client **out, const char *const *urls, size_t nurls,
    const struct rpc_client_opts *opts, char *err, size_t errlen)
{
	rpc_client *c = calloc(1, sizeof(*c));
	int rv;
	if (c == NULL)
		return NNG_ENOMEM;
	c->opts = *opts;
	if (c->opts.max_msg == 0)
		c->opts.max_msg = 64u << 20;
	if (c->opts.connect_wait_ms <= 0)
		c->opts.connect_wait_ms = 1000;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->active.next = c->active.prev = &c->active;
	c->next_id = ((uint64_t)rt_now_ms() << 20) ^ (uint64_t)(uintptr_t)c;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		snprintf(err, errlen, "cannot open a socket: %s",
		    nng_strerror(rv));
		goto fail;
	}
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 2 * c->opts.max_msg);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, c);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_cb, c);
	for (size_t i = 0; i < nurls; i++) {
		size_t used = strlen(c->where);
		snprintf(c->where + used, sizeof(c->where) - used, "%s%s",
		    i ? ", " : "", urls[i]);
		if ((rv = dial(c, urls[i], err, errlen)) != 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->sock.id != 0)
		nng_close(c->sock);
	free(c);
	return rv;
}

void
rpc_client_close(rpc_client *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	while (c->inflight > 0)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	/* nng's order: stop every aio (this also waits for a callback that is
	 * still returning after its call finished), close the contexts, then
	 * the socket, and only then free. */
	for (struct pending *p = c->free; p != NULL; p = p->next)
		nng_aio_stop(p->aio);
	for (struct pending *p = c->free; p != NULL; p = p->next)
		nng_ctx_close(p->ctx);
	nng_close(c->sock);
	while (c->free != NULL) {
		struct pending *p = c->free;
		c->free = p->next;
		nng_aio_free(p->aio);
		free(p);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

int
rpc_client_connected(rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	int n = c->connected;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Takes a slot from the free list (or makes one) and links it in flight. */
static struct pending *
pending_get(rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	struct pending *p = c->free;
	if (p != NULL)
		c->free = p->next;
	pthread_mutex_unlock(&c->mu);
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return NULL;
		p->cl = c;
		if (nng_aio_alloc(&p->aio, pending_cb, p) != 0 ||
		    nng_ctx_open(&p->ctx, c->sock) != 0) {
			nng_aio_free(p->aio);
			free(p);
			return NULL;
		}
	}
	p->peer_lost = 0;
	pthread_mutex_lock(&c->mu);
	p->next = c->active.next;
	p->prev = &c->active;
	c->active.next->prev = p;
	c->active.next = p;
	c->inflight++;
	pthread_mutex_unlock(&c->mu);
	return p;
}

/* Unlinks p and returns it to the free list; its aio may be reused by
 * another call as soon as the lock drops, so this is the last touch. */
static void
pending_put(struct pending *p)
{
	rpc_client *c = p->cl;
	pthread_mutex_lock(&c->mu);
	p->prev->next = p->next;
	p->next->prev = p->prev;
	p->next = c->free;
	c->free = p;
	if (--c->inflight == 0)
		pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
transport_error(struct pending *p, int rv, struct rpc_error *e)
{
	rpc_client *c = p->cl;
	int connected = rpc_client_connected(c);
	if ((rv == NNG_ECANCELED && p->peer_lost) ||
	    (rv == NNG_ETIMEDOUT && connected == 0)) {
		e->code = HS_UNAVAILABLE;
		snprintf(e->message, sizeof(e->message),
		    "no server reachable at %s (%s); check that it is running",
		    c->where,
		    p->peer_lost ? "connection lost mid-call" :
				   "not connected");
		return;
	}
	e->code = rpc_status_from_nng(rv);
	if (rv == NNG_ETIMEDOUT)
		snprintf(e->message, sizeof(e->message),
		    "no answer from %s within %lld ms; the server may be "
		    "overloaded, retry with a longer deadline",
		    c->where, (long long)p->timeout_ms);
	else
		snprintf(e->message, sizeof(e->message),
		    "call to %s failed: %s", c->where, nng_strerror(rv));
}

/* Decodes a reply frame into *reply (or e). */
static void
decode_reply(struct pending *p, nng_msg *m, ProtobufCMessage **reply,
    struct rpc_error *e)
{
	Hs__ReplyEnvelope *r = rpc_wire_unpack_reply(nng_msg_body(m),
	    nng_msg_len(m));
	if (r == NULL) {
		e->code = HS_INTERNAL;
		snprintf(e->message, sizeof(e->message),
		    "malformed reply from %s", p->cl->where);
		return;
	}
	e->code = (hs_status)r->code;
	e->epoch = r->epoch;
	e->answered = 1;
	snprintf(e->message, sizeof(e->message), "%s", r->message);
	snprintf(e->leader_hint, sizeof(e->leader_hint), "%s", r->leader_hint);
	if (e->code == HS_OK && p->out != NULL) {
		*reply = protobuf_c_message_unpack(p->out, NULL, r->payload.len,
		    r->payload.data);
		if (*reply == NULL) {
			e->code = HS_INTERNAL;
			snprintf(e->message, sizeof(e->message),
			    "malformed %s from %s", p->out->short_name,
			    p->cl->where);
		}
	}
	rpc_wire_free_reply(r);
}

static void
finish(struct pending *p, int rv)
{
	struct rpc_error e = { .code = HS_OK };
	ProtobufCMessage *reply = NULL;
	if (rv != 0) {
		transport_error(p, rv, &e);
	} else {
		nng_msg *m = nng_aio_get_msg(p->aio);
		decode_reply(p, m, &reply, &e);
		nng_msg_free(m);
	}
	rpc_done_fn done = p->done;
	void *arg = p->arg;
	pending_put(p);
	done(arg, reply, &e);
}

static void
pending_cb(void *arg)
{
	struct pending *p = arg;
	int rv = nng_aio_result(p->aio);

	if (p->state == P_SEND) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(p->aio));
			finish(p, rv);
			return;
		}
		int64_t left = p->deadline_mono - rt_mono_ms();
		p->state = P_RECV;
		nng_aio_set_timeout(p->aio, left > 0 ? (nng_duration)left : 1);
		nng_ctx_recv(p->ctx, p->aio);
		return;
	}
	finish(p, rv);
}

static void
start(struct pending *p, nng_msg *m)
{
	atomic_fetch_add(&calls_started, 1);
	p->state = P_SEND;
	nng_aio_set_msg(p->aio, m);
	nng_aio_set_timeout(p->aio, (nng_duration)p->timeout_ms);
	nng_ctx_send(p->ctx, p->aio);
}

int
rpc_invoke_async(rpc_client *c, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *req, int64_t timeout_ms,
    uint64_t epoch, rpc_done_fn done, void *arg)
{
	const ProtobufCMethodDescriptor
	    *md = protobuf_c_service_descriptor_get_method_by_name(svc, method);
	if (md == NULL || req->descriptor != md->input)
		return HS_INVALID_ARGUMENT;
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	struct pending *p = pending_get(c);
	if (p == NULL)
		return HS_RESOURCE_EXHAUSTED;
	Hs__Envelope env = HS__ENVELOPE__INIT;
	nng_msg *m;
	env.service = (char *)svc->name;
	env.method = (char *)method;
	env.request_id = p->request_id = atomic_fetch_add(&c->next_id, 1);
	env.timestamp_ms = rt_now_ms();
	env.deadline_ms = env.timestamp_ms + timeout_ms;
	env.epoch = epoch;
	p->timeout_ms = timeout_ms;
	p->deadline_mono = rt_mono_ms() + timeout_ms;
	p->out = md->output;
	p->done = done;
	p->arg = arg;
	if (rpc_wire_pack_request(&c->opts.key, &env, req, &m) != 0) {
		pending_put(p);
		return HS_RESOURCE_EXHAUSTED;
	}
	start(p, m);
	return 0;
}

/* The synchronous calls wait on this. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	ProtobufCMessage *reply;
	struct rpc_error err;
};

static void
waiter_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->reply = reply;
	w->err = *err;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
waiter_wait(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

/* A call made while nothing is connected waits a little for a first
 * connection (dialing is in the background, reconnecting within 500 ms
 * after a server restarts), then gives up clearly. */
static int
await_connection(rpc_client *c, int64_t timeout_ms)
{
	int64_t wait = c->opts.connect_wait_ms < timeout_ms ?
	    c->opts.connect_wait_ms :
	    timeout_ms;
	int64_t until = rt_mono_ms() + wait;
	pthread_mutex_lock(&c->mu);
	while (c->connected == 0) {
		int64_t left = until - rt_mono_ms();
		if (left <= 0)
			break;
		struct timespec ts;
		rt_timespec_in(left, &ts);
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	int ok = c->connected > 0;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

static void
set_err(struct rpc_error *e, hs_status code, const char *msg, const char *where)
{
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->code = code;
	snprintf(e->message, sizeof(e->message), "%s%s", msg, where);
}

hs_status
rpc_invoke(rpc_client *c, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *req, ProtobufCMessage **reply,
    int64_t timeout_ms, uint64_t epoch, struct rpc_error *err)
{
	struct waiter w = { .done = 0 };
	*reply = NULL;
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	if (!await_connection(c, timeout_ms)) {
		set_err(err, HS_UNAVAILABLE,
		    "no server reachable (check that it is running) at ",
		    c->where);
		return HS_UNAVAILABLE;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	int rv = rpc_invoke_async(c, svc, method, req, timeout_ms, epoch,
	    waiter_done, &w);
	if (rv != 0) {
		pthread_mutex_destroy(&w.mu);
		pthread_cond_destroy(&w.cv);
		set_err(err, (hs_status)rv,
		    rv == HS_INVALID_ARGUMENT ?
			"unknown method or wrong request type for " :
			"cannot start a call to ",
		    method);
		return (hs_status)rv;
	}
	waiter_wait(&w);
	*reply = w.reply;
	if (err != NULL)
		*err = w.err;
	return w.err.code;
}

hs_status
rpc_invoke_raw(rpc_client *c, const void *frame, size_t len, int64_t timeout_ms,
    struct rpc_error *err)
{
	struct waiter w = { .done = 0 };
	nng_msg *m;
	if (nng_msg_alloc(&m, len) != 0)
		return HS_RESOURCE_EXHAUSTED;
	if (len)
		memcpy(nng_msg_body(m), frame, len);
	struct pending *p = pending_get(c);
	if (p == NULL) {
		nng_msg_free(m);
		return HS_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	p->timeout_ms = timeout_ms;
	p->deadline_mono = rt_mono_ms() + timeout_ms;
	p->out = NULL;
	p->done = waiter_done;
	p->arg = &w;
	start(p, m);
	waiter_wait(&w);
	if (err != NULL)
		*err = w.err;
	return w.err.code;
}
