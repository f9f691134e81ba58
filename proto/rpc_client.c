/* The RPC client (see rpc_client.h). Each call borrows a pending slot (an
 * nng context and an aio) from a free list; its callback walks SEND -> RECV
 * -> done. Pipe events keep a connection count, so a call whose last server
 * vanished fails with UNAVAILABLE at once instead of waiting out its
 * deadline. */
#include "rpc_client.h"
#include "rpc_client_impl.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_limits.h"
#include "rpc_wire.h"
#include "tls.h"

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

/* Derives the key shared with peer. 0, or -1 with err. */
int
rpc_client_key_for(rpc_client *c, const char *peer, char *err, size_t errlen)
{
	rt_key k;
	unsigned role;
	if (rt_ident_pair(c->opts.ident, peer, &k, &role, err, errlen) != 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	c->key = k;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->keyed = 1;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int
rpc_client_keyed(rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	int k = c->keyed;
	pthread_mutex_unlock(&c->mu);
	return k;
}

const char *
rpc_client_peer(rpc_client *c)
{
	return c->peer;
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
	pthread_mutex_init(&c->mu, NULL);
	if (opts->peer != NULL &&
	    rpc_client_key_for(c, opts->peer, err, errlen) != 0) {
		free(c);
		return NNG_EINVAL;
	}
	c->opts.peer = NULL; /* not ours to keep */
	if (c->opts.max_msg == 0)
		c->opts.max_msg = 64u << 20;
	if (c->opts.connect_wait_ms <= 0)
		c->opts.connect_wait_ms = 1000;
	pthread_cond_init(&c->cv, NULL);
	c->active.next = c->active.prev = &c->active;
	c->next_id = ((uint64_t)rt_now_ms() << 20) ^ (uint64_t)(uintptr_t)c;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		snprintf(err, errlen, "cannot open a socket: %s",
		    nng_strerror(rv));
		goto fail;
	}
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	    rpc_frame_max(c->opts.max_msg));
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
struct pending *
rpc_pending_get(rpc_client *c)
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
void
rpc_pending_put(struct pending *p)
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
		rpc_lost_hint(e->message, sizeof(e->message),
		    p->peer_lost ? p->sent_len : 0);
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

/* A reply counts only with a MAC under our key. The exceptions are the
 * refusals a server makes before it knows who calls (a frame it cannot
 * read, a caller it cannot name), which have no key to use: taken as the
 * failure they say, never with a payload or a leader hint, so forging one
 * gains no more than dropping the reply would. */
static int
reply_authentic(rpc_client *c, const Hs__ReplyEnvelope *r)
{
	if (r->mac.len == 0) {
		return (r->code == HS__CODE__UNAUTHENTICATED ||
			   r->code == HS__CODE__INVALID_ARGUMENT) &&
		    r->payload.len == 0;
	}
	pthread_mutex_lock(&c->mu);
	int ok = c->keyed && rpc_reply_mac_ok(&c->key, r);
	pthread_mutex_unlock(&c->mu);
	return ok;
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
	/* nng matches replies by an id outside the MAC: the envelope's own
	 * id, under the MAC, is what binds a reply to this call */
	if (!reply_authentic(p->cl, r) ||
	    (r->mac.len != 0 && p->out != NULL &&
		r->request_id != p->request_id)) {
		e->code = HS_UNAUTHENTICATED;
		snprintf(e->message, sizeof(e->message),
		    "a reply from %.200s failed authentication (forged, or "
		    "the server is not %.60s); dropped",
		    p->cl->where, p->cl->peer);
		rpc_wire_free_reply(r);
		return;
	}
	e->code = (hs_status)r->code;
	e->epoch = r->epoch;
	e->answered = 1;
	snprintf(e->server, sizeof(e->server), "%s", r->server);
	snprintf(e->message, sizeof(e->message), "%s", r->message);
	snprintf(e->leader_hint, sizeof(e->leader_hint), "%s",
	    r->mac.len ? r->leader_hint : "");
	if (e->code == HS_OK && p->out != NULL) {
		*reply = rpc_unpack_bounded(p->out, r->payload.len,
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
	rpc_pending_put(p);
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

void
rpc_pending_start(struct pending *p, nng_msg *m)
{
	atomic_fetch_add(&calls_started, 1);
	p->state = P_SEND;
	p->sent_len = nng_msg_len(m);
	nng_aio_set_msg(p->aio, m);
	nng_aio_set_timeout(p->aio, (nng_duration)p->timeout_ms);
	nng_ctx_send(p->ctx, p->aio);
}
