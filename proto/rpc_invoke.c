/* Making calls on an RPC client (see rpc_client.h): rpc_invoke_async,
 * the synchronous rpc_invoke and rpc_invoke_raw, and how a client opened
 * without a peer learns it. The socket side is rpc_client.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_client_impl.h"
#include "rpc_wire.h"

static int rpc_client_learn_peer(rpc_client *c, int64_t timeout_ms);

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
	if (!rpc_client_keyed(c) && rpc_client_learn_peer(c, timeout_ms) != 0)
		return HS_UNAUTHENTICATED;
	struct pending *p = rpc_pending_get(c);
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
	env.key_id = (char *)rt_ident_name(c->opts.ident);
	p->timeout_ms = timeout_ms;
	p->deadline_mono = rt_mono_ms() + timeout_ms;
	p->out = md->output;
	p->done = done;
	p->arg = arg;
	pthread_mutex_lock(&c->mu);
	rt_key key = c->key;
	pthread_mutex_unlock(&c->mu);
	if (rpc_wire_pack_request(&key, &env, req, &m) != 0) {
		rpc_pending_put(p);
		return HS_RESOURCE_EXHAUSTED;
	}
	rpc_pending_start(p, m);
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

/* Asks the server who it is: a request without a MAC is refused, and the
 * refusal names the server. Its word is checked by every later reply's
 * MAC. 0, or -1 (logged) if no server answered or its name is unknown. */
static int
rpc_client_learn_peer(rpc_client *c, int64_t timeout_ms)
{
	Hs__Envelope env = HS__ENVELOPE__INIT;
	env.key_id = (char *)rt_ident_name(c->opts.ident);
	uint8_t frame[RT_NAME_MAX + 16];
	size_t len = protobuf_c_message_pack(&env.base, frame);
	struct rpc_error e;
	char err[256];
	await_connection(c, timeout_ms);
	rpc_invoke_raw(c, frame, len, timeout_ms, &e);
	if (e.server[0] == '\0') {
		rt_log_warn("cannot learn who serves %s: %s", c->where,
		    e.message);
		return -1;
	}
	/* the name came unauthenticated: only a server's is worth learning
	 * (an application holding a credential must not pose as one) */
	rt_key k;
	unsigned role = 0;
	if (rt_ident_pair(c->opts.ident, e.server, &k, &role, err,
		sizeof(err)) != 0 ||
	    !(role & RT_ROLES_SERVER)) {
		rt_log_warn("%s answers as %.64s, %s", c->where, e.server,
		    role ? "which is no server" : err);
		return -1;
	}
	return rpc_client_key_for(c, e.server, err, sizeof(err)) == 0 ? 0 : -1;
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
	struct pending *p = rpc_pending_get(c);
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
	rpc_pending_start(p, m);
	waiter_wait(&w);
	if (err != NULL)
		*err = w.err;
	return w.err.code;
}
