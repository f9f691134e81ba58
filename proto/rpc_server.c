/* The RPC server (see rpc_server.h). Each context owns one aio and one
 * rpc_call; the aio callback never blocks: it validates, dispatches, and
 * either the handler answers inline or later from its own thread. */
#include "rpc_server.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_wire.h"

#define MAX_SERVICES 4
#define MAX_METHODS 32
#define MAX_NAME 128

struct service {
	const ProtobufCServiceDescriptor *desc;
	rpc_handler handlers[MAX_METHODS]; /* in desc->methods order */
	void *arg;
};

enum call_state { CALL_IDLE, CALL_RECV, CALL_BUSY, CALL_SEND };

struct rpc_call {
	rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum call_state state;
	nng_msg *msg;	       /* the request frame, alive while env is */
	Hs__Envelope *env;     /* borrows its payload from msg */
	ProtobufCMessage *req; /* the unpacked request, owned */
	const ProtobufCMethodDescriptor *method;
};

struct rpc_server {
	struct rpc_server_opts opts;
	nng_socket sock;
	struct service services[MAX_SERVICES];
	int nservices;
	struct rpc_call *calls;
	int ncalls;
	_Atomic uint64_t epoch;
};

static void call_cb(void *arg);

int
rpc_server_open(rpc_server **out, const struct rpc_server_opts *opts)
{
	rpc_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NNG_ENOMEM;
	s->opts = *opts;
	if (s->opts.max_msg == 0)
		s->opts.max_msg = 64u << 20;
	if (s->opts.contexts <= 0)
		s->opts.contexts = 64;
	if (s->opts.mac_window_ms <= 0)
		s->opts.mac_window_ms = 30000;
	if (s->opts.name == NULL)
		s->opts.name = "rpc";
	int rv = nng_rep0_open(&s->sock);
	if (rv == 0)
		rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
		    2 * s->opts.max_msg);
	if (rv != 0) {
		free(s);
		return rv;
	}
	*out = s;
	return 0;
}

int
rpc_server_add_service(rpc_server *s, const ProtobufCServiceDescriptor *desc,
    const struct rpc_method *methods, size_t n, void *arg)
{
	if (s->nservices == MAX_SERVICES || desc->n_methods > MAX_METHODS)
		return NNG_ENOSPC;
	struct service *svc = &s->services[s->nservices];
	*svc = (struct service){ .desc = desc, .arg = arg };
	for (size_t i = 0; i < n; i++) {
		const ProtobufCMethodDescriptor
		    *m = protobuf_c_service_descriptor_get_method_by_name(desc,
			methods[i].name);
		if (m == NULL || svc->handlers[m - desc->methods] != NULL) {
			rt_log_error("%s: handler table row '%s' %s %s",
			    s->opts.name, methods[i].name,
			    m == NULL ? "names no method of" :
					"repeats a method of",
			    desc->name);
			return NNG_EINVAL;
		}
		svc->handlers[m - desc->methods] = methods[i].fn;
	}
	s->nservices++;
	return 0;
}

int
rpc_server_listen(rpc_server *s, const char *url, char *bound, size_t boundlen)
{
	nng_listener l;
	int rv = nng_listener_create(&l, s->sock, url);
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		rt_log_error("%s: cannot listen on %s: %s", s->opts.name, url,
		    nng_strerror(rv));
		return rv;
	}
	if (bound != NULL) {
		int port = 0;
		snprintf(bound, boundlen, "%s", url);
		char *colon = strrchr(bound, ':');
		if (strncmp(url, "tcp://", 6) == 0 && colon != NULL &&
		    strcmp(colon, ":0") == 0 &&
		    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
			snprintf(colon, boundlen - (size_t)(colon - bound),
			    ":%d", port);
	}
	return 0;
}

int
rpc_server_start(rpc_server *s)
{
	s->ncalls = s->opts.contexts;
	s->calls = calloc((size_t)s->ncalls, sizeof(*s->calls));
	if (s->calls == NULL)
		return NNG_ENOMEM;
	for (int i = 0; i < s->ncalls; i++) {
		struct rpc_call *c = &s->calls[i];
		c->srv = s;
		int rv = nng_aio_alloc(&c->aio, call_cb, c);
		if (rv == 0)
			rv = nng_ctx_open(&c->ctx, s->sock);
		if (rv != 0)
			return rv;
	}
	for (int i = 0; i < s->ncalls; i++) {
		s->calls[i].state = CALL_RECV;
		nng_ctx_recv(s->calls[i].ctx, s->calls[i].aio);
	}
	return 0;
}

void
rpc_server_close(rpc_server *s)
{
	if (s == NULL)
		return;
	/* Stop every aio before freeing any (nng_aio_stop(3)). A handler still
	 * holding a call must have answered before close: services stop their
	 * workers first. */
	for (int i = 0; i < s->ncalls; i++)
		if (s->calls[i].aio != NULL)
			nng_aio_stop(s->calls[i].aio);
	nng_close(s->sock);
	for (int i = 0; i < s->ncalls; i++) {
		struct rpc_call *c = &s->calls[i];
		rpc_wire_free_request(c->env);
		if (c->req != NULL)
			protobuf_c_message_free_unpacked(c->req, NULL);
		if (c->msg != NULL)
			nng_msg_free(c->msg);
		if (c->aio != NULL)
			nng_aio_free(c->aio);
	}
	free(s->calls);
	free(s);
}

void
rpc_server_observe_epoch(rpc_server *s, uint64_t epoch)
{
	uint64_t cur = atomic_load(&s->epoch);
	while (epoch > cur &&
	    !atomic_compare_exchange_weak(&s->epoch, &cur, epoch))
		;
}

uint64_t
rpc_server_epoch(const rpc_server *s)
{
	return atomic_load(&((rpc_server *)s)->epoch);
}

/* Frees everything the call holds from its request. */
static void
call_release(struct rpc_call *c)
{
	if (c->req != NULL)
		protobuf_c_message_free_unpacked(c->req, NULL);
	rpc_wire_free_request(c->env);
	if (c->msg != NULL)
		nng_msg_free(c->msg);
	c->req = NULL;
	c->env = NULL;
	c->msg = NULL;
	c->method = NULL;
}

static void
send_reply(struct rpc_call *c, hs_status code, const char *message,
    const char *hint, const ProtobufCMessage *payload)
{
	Hs__ReplyEnvelope r = HS__REPLY_ENVELOPE__INIT;
	nng_msg *m = NULL;
	r.request_id = c->env ? c->env->request_id : 0;
	r.code = (Hs__Code)code;
	r.message = (char *)(message ? message : "");
	r.leader_hint = (char *)(hint ? hint : "");
	r.epoch = rpc_server_epoch(c->srv);
	int rv = rpc_wire_pack_reply(&r, payload, &m);
	call_release(c);
	if (rv != 0) {
		rt_log_error("%s: cannot build a reply: %s", c->srv->opts.name,
		    nng_strerror(rv));
		c->state = CALL_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	c->state = CALL_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

void
rpc_reply(rpc_call *call, const ProtobufCMessage *reply)
{
	send_reply(call, HS_OK, NULL, NULL, reply);
}

static void
fail_v(rpc_call *call, hs_status code, const char *hint, const char *fmt,
    va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	rt_log_debug("%s: %s.%s -> %s: %s", call->srv->opts.name,
	    call->env && call->env->service ? call->env->service : "?",
	    call->env && call->env->method ? call->env->method : "?",
	    hs_status_str(code), msg);
	send_reply(call, code, msg, hint, NULL);
}

void
rpc_fail(rpc_call *call, hs_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(call, code, NULL, fmt, ap);
	va_end(ap);
}

void
rpc_fail_redirect(rpc_call *call, const char *leader_hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(call, HS_FAILED_PRECONDITION, leader_hint, fmt, ap);
	va_end(ap);
}

uint64_t
rpc_call_epoch(const rpc_call *call)
{
	return call->env ? call->env->epoch : 0;
}

int64_t
rpc_call_deadline_ms(const rpc_call *call)
{
	return call->env ? call->env->deadline_ms : 0;
}

const char *
rpc_call_method(const rpc_call *call)
{
	return call->method ? call->method->name : "";
}

static void reject(struct rpc_call *c, hs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reject(struct rpc_call *c, hs_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(c, code, NULL, fmt, ap);
	va_end(ap);
}

static const struct service *
find_service(const rpc_server *s, const char *name)
{
	for (int i = 0; i < s->nservices; i++)
		if (strcmp(s->services[i].desc->name, name) == 0)
			return &s->services[i];
	return NULL;
}

static int64_t
abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The envelope's checks of rpc_server.h: size, encoding, MAC, timestamp
 * window, deadline. HS_OK, or the code with a message for people in why. */
static hs_status
admit_envelope(struct rpc_call *c, int64_t now, char *why, size_t whylen)
{
	rpc_server *s = c->srv;
	size_t len = nng_msg_len(c->msg);
	if (len > s->opts.max_msg) {
		snprintf(why, whylen,
		    "request of %zu bytes exceeds this "
		    "server's limit of %zu bytes; send smaller pieces",
		    len, s->opts.max_msg);
		return HS_INVALID_ARGUMENT;
	}
	c->env = rpc_wire_unpack_request(nng_msg_body(c->msg), len);
	Hs__Envelope *env = c->env;
	if (env == NULL || protobuf_c_message_check(&env->base) != 1) {
		snprintf(why, whylen,
		    "malformed or truncated request envelope "
		    "(%zu bytes)",
		    len);
		return HS_INVALID_ARGUMENT;
	}
	if (strlen(env->service) > MAX_NAME || strlen(env->method) > MAX_NAME) {
		snprintf(why, whylen, "service or method name too long");
		return HS_INVALID_ARGUMENT;
	}
	if (!rpc_envelope_mac_ok(&s->opts.key, env)) {
		snprintf(why, whylen,
		    "missing or wrong MAC: every process must "
		    "use the same cluster key file");
		return HS_UNAUTHENTICATED;
	}
	if (abs64(now - env->timestamp_ms) > s->opts.mac_window_ms) {
		snprintf(why, whylen,
		    "request timestamp is %lld ms from this "
		    "server's clock (window %lld ms): a replay, or clocks out "
		    "of sync",
		    (long long)(now - env->timestamp_ms),
		    (long long)s->opts.mac_window_ms);
		return HS_UNAUTHENTICATED;
	}
	if (env->deadline_ms != 0 && env->deadline_ms <= now) {
		snprintf(why, whylen,
		    "deadline passed %lld ms before the "
		    "request arrived",
		    (long long)(now - env->deadline_ms));
		return HS_DEADLINE_EXCEEDED;
	}
	return HS_OK;
}

/* The call's checks: service, method, handler, fencing epoch, then the
 * request itself. HS_OK with *svc and *h set, or the code with why. */
static hs_status
admit_call(struct rpc_call *c, const struct service **svc, rpc_handler *h,
    char *why, size_t whylen)
{
	rpc_server *s = c->srv;
	Hs__Envelope *env = c->env;
	*svc = find_service(s, env->service);
	if (*svc == NULL) {
		snprintf(why, whylen, "unknown service '%s'", env->service);
		return HS_UNIMPLEMENTED;
	}
	c->method = protobuf_c_service_descriptor_get_method_by_name((*svc)
									 ->desc,
	    env->method);
	*h = c->method ? (*svc)->handlers[c->method - (*svc)->desc->methods] :
			 NULL;
	if (*h == NULL) {
		snprintf(why, whylen,
		    c->method ? "%s.%s is not served here" :
				"unknown method '%s.%s'",
		    env->service, env->method);
		return HS_UNIMPLEMENTED;
	}
	if (env->epoch != 0 && env->epoch < rpc_server_epoch(s)) {
		snprintf(why, whylen,
		    "stale epoch %llu (this server has seen "
		    "%llu): the sender was deposed; find the current leader",
		    (unsigned long long)env->epoch,
		    (unsigned long long)rpc_server_epoch(s));
		return HS_FAILED_PRECONDITION;
	}
	rpc_server_observe_epoch(s, env->epoch);
	c->req = protobuf_c_message_unpack(c->method->input, NULL,
	    env->payload.len, env->payload.data);
	if (c->req == NULL || protobuf_c_message_check(c->req) != 1) {
		snprintf(why, whylen, "malformed %s request",
		    c->method->input->short_name);
		return HS_INVALID_ARGUMENT;
	}
	return HS_OK;
}

/* Every check of rpc_server.h on c's frame at time now. */
static hs_status
admit(struct rpc_call *c, int64_t now, const struct service **svc,
    rpc_handler *h, char *why, size_t whylen)
{
	hs_status st = admit_envelope(c, now, why, whylen);
	return st == HS_OK ? admit_call(c, svc, h, why, whylen) : st;
}

hs_status
rpc_server_admit_frame(rpc_server *s, nng_msg *msg, int64_t now)
{
	struct rpc_call c = { .srv = s, .msg = msg };
	const struct service *svc = NULL;
	rpc_handler h = NULL;
	char why[512];
	hs_status st = admit(&c, now, &svc, &h, why, sizeof(why));
	call_release(&c);
	return st;
}

/* The generic checks of rpc_server.h, then the handler. */
static void
dispatch(struct rpc_call *c)
{
	char why[512];
	const struct service *svc = NULL;
	rpc_handler h = NULL;
	hs_status st = admit(c, rt_now_ms(), &svc, &h, why, sizeof(why));
	if (st != HS_OK) {
		reject(c, st, "%s", why);
		return;
	}
	/* The request holds its own copies now: drop the frame early so a
	 * slow handler does not pin a 64 MiB buffer twice. */
	c->env->payload.data = NULL;
	c->env->payload.len = 0;
	nng_msg_free(c->msg);
	c->msg = NULL;
	c->state = CALL_BUSY;
	h(c, c->req, svc->arg);
}

static void
call_cb(void *arg)
{
	struct rpc_call *c = arg;
	int rv = nng_aio_result(c->aio);

	switch (c->state) {
	case CALL_RECV:
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		if (rv != 0) {
			rt_log_warn("%s: receive failed: %s", c->srv->opts.name,
			    nng_strerror(rv));
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		c->msg = nng_aio_get_msg(c->aio);
		dispatch(c);
		return;
	case CALL_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
		}
		c->state = CALL_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	default:
		return;
	}
}
