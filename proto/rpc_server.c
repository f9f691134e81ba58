/* The RPC server (see rpc_server.h). Each context owns one aio and one
 * rpc_call; the aio callback never blocks: it validates, dispatches, and
 * either the handler answers inline or later from its own thread. */
#include "rpc_server.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_limits.h"
#include "rpc_wire.h"

#define MAX_SERVICES 4
#define MAX_METHODS 32
#define MAX_NAME 128

struct service {
	const ProtobufCServiceDescriptor *desc;
	rpc_handler handlers[MAX_METHODS]; /* in desc->methods order */
	unsigned roles[MAX_METHODS];
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
	int keyed;  /* key below is the caller's: replies are MAC'd */
	rt_key key; /* shared with the caller */
	unsigned role;
	char peer[RT_NAME_MAX];
	nng_pipe pipe;	    /* the request's connection, busy till sent */
	int64_t arrival_ms; /* Unix ms the request arrived */
};

struct rpc_server {
	struct rpc_server_opts opts;
	nng_socket sock;
	struct service services[MAX_SERVICES];
	int nservices;
	struct rpc_call *calls;
	int ncalls;
	rpc_conns *conns;
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
	if (s->opts.max_conns <= 0)
		s->opts.max_conns = 256;
	if (s->opts.idle_ms <= 0)
		s->opts.idle_ms = 60000;
	if (s->opts.max_call_ms <= 0)
		s->opts.max_call_ms = 60000;
	int rv = nng_rep0_open(&s->sock);
	if (rv == 0)
		rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
		    rpc_frame_max(s->opts.max_msg));
	if (rv == 0)
		rv = rpc_conns_open(&s->conns, s->sock, s->opts.max_conns,
		    s->opts.idle_ms, s->opts.name);
	if (rv != 0) {
		nng_close(s->sock);
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
		if (m == NULL || svc->handlers[m - desc->methods] != NULL ||
		    methods[i].roles == 0) {
			rt_log_error("%s: handler table row '%s' %s %s",
			    s->opts.name, methods[i].name,
			    m == NULL		      ? "names no method of" :
				methods[i].roles == 0 ? "names no role for" :
							"repeats a method of",
			    desc->name);
			return NNG_EINVAL;
		}
		svc->handlers[m - desc->methods] = methods[i].fn;
		svc->roles[m - desc->methods] = methods[i].roles;
	}
	s->nservices++;
	return 0;
}

int
rpc_server_listen(rpc_server *s, const char *url, char *bound, size_t boundlen)
{
	nng_listener l;
	int rv = nng_listener_create(&l, s->sock, url);
	if (rv == 0) {
		rpc_conns_listener(l);
		rv = nng_listener_start(l, 0);
	}
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
	rpc_conns_close(s->conns);
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

/* The key material goes only after the reply that needs it is packed. */
static void
call_forget_peer(struct rpc_call *c)
{
	OPENSSL_cleanse(&c->key, sizeof(c->key));
	c->keyed = 0;
	c->role = 0;
	c->peer[0] = '\0';
}

/* The call's connection is free again; wait for the next request. */
static void
recv_next(struct rpc_call *c)
{
	rpc_conns_done(c->srv->conns, c->pipe);
	c->pipe = (nng_pipe)NNG_PIPE_INITIALIZER;
	c->state = CALL_RECV;
	nng_ctx_recv(c->ctx, c->aio);
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
	r.server = (char *)rt_ident_name(c->srv->opts.ident);
	int rv = rpc_wire_pack_reply(c->keyed ? &c->key : NULL, &r, payload,
	    &m);
	call_release(c);
	call_forget_peer(c);
	if (rv != 0) {
		rt_log_error("%s: cannot build a reply: %s", c->srv->opts.name,
		    nng_strerror(rv));
		recv_next(c);
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
	return call->env ? rpc_deadline_clamp(call->env->deadline_ms,
			       call->arrival_ms, call->srv->opts.max_call_ms) :
			   0;
}

const char *
rpc_call_method(const rpc_call *call)
{
	return call->method ? call->method->name : "";
}

const char *
rpc_call_peer(const rpc_call *call)
{
	return call->peer;
}

unsigned
rpc_call_role(const rpc_call *call)
{
	return call->role;
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

static hs_status admit_caller(struct rpc_call *c, int64_t now, char *why,
    size_t whylen);

/* The envelope's checks of rpc_server.h: size, encoding, MAC, timestamp
 * window, deadline. HS_OK, or the code with a message for people in why. */
static hs_status
admit_envelope(struct rpc_call *c, int64_t now, char *why, size_t whylen)
{
	rpc_server *s = c->srv;
	size_t len = nng_msg_len(c->msg);
	c->env = rpc_wire_unpack_request(nng_msg_body(c->msg), len);
	Hs__Envelope *env = c->env;
	if (env == NULL || protobuf_c_message_check(&env->base) != 1) {
		snprintf(why, whylen,
		    "malformed or truncated request envelope "
		    "(%zu bytes)",
		    len);
		return HS_INVALID_ARGUMENT;
	}
	if (env->payload.len > s->opts.max_msg) {
		snprintf(why, whylen,
		    "request of %zu bytes exceeds this "
		    "server's limit of %zu bytes; send smaller pieces",
		    env->payload.len, s->opts.max_msg);
		return HS_INVALID_ARGUMENT;
	}
	if (strlen(env->service) > MAX_NAME || strlen(env->method) > MAX_NAME ||
	    strlen(env->key_id) >= RT_NAME_MAX) {
		snprintf(why, whylen, "service, method or key id too long");
		return HS_INVALID_ARGUMENT;
	}
	return admit_caller(c, now, why, whylen);
}

/* Who is calling: a principal this server knows, a MAC under the key the
 * two share, a timestamp within the window. */
static hs_status
admit_caller(struct rpc_call *c, int64_t now, char *why, size_t whylen)
{
	rpc_server *s = c->srv;
	Hs__Envelope *env = c->env;
	if (rt_ident_pair(s->opts.ident, env->key_id, &c->key, &c->role, why,
		whylen) != 0)
		return HS_UNAUTHENTICATED;
	if (!rpc_envelope_mac_ok(&c->key, env)) {
		snprintf(why, whylen,
		    "missing or wrong MAC for principal '%s': the caller's "
		    "identity file does not match this cluster's roster",
		    env->key_id);
		return HS_UNAUTHENTICATED;
	}
	c->keyed = 1;
	snprintf(c->peer, sizeof(c->peer), "%s", env->key_id);
	if (!rpc_time_within(now, env->timestamp_ms, s->opts.mac_window_ms)) {
		snprintf(why, whylen,
		    "request timestamp %lld is outside this server's clock "
		    "%lld +/- %lld ms: a replay, or clocks out of sync",
		    (long long)env->timestamp_ms, (long long)now,
		    (long long)s->opts.mac_window_ms);
		return HS_UNAUTHENTICATED;
	}
	if (env->deadline_ms != 0 && env->deadline_ms <= now) {
		/* Unsigned: deadline <= now, so the difference fits. */
		snprintf(why, whylen,
		    "deadline passed %llu ms before the "
		    "request arrived",
		    (unsigned long long)((uint64_t)now -
			(uint64_t)env->deadline_ms));
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
	unsigned roles = (*svc)->roles[c->method - (*svc)->desc->methods];
	if (!(c->role & roles)) {
		snprintf(why, whylen,
		    "%s.%s may not be called by %s '%s' (see the roles table "
		    "in docs/rpc.md)",
		    env->service, env->method, rt_role_name(c->role), c->peer);
		return HS_PERMISSION_DENIED;
	}
	if (env->epoch != 0 && env->epoch < rpc_server_epoch(s)) {
		snprintf(why, whylen,
		    "stale epoch %llu (this server has seen "
		    "%llu): the sender was deposed; find the current leader",
		    (unsigned long long)env->epoch,
		    (unsigned long long)rpc_server_epoch(s));
		return HS_FAILED_PRECONDITION;
	}
	/* only a directory raises the floor: an epoch is the leader's to give */
	if (c->role == RT_ROLE_DIRECTORY)
		rpc_server_observe_epoch(s, env->epoch);
	c->req = rpc_unpack_bounded(c->method->input, env->payload.len,
	    env->payload.data);
	if (c->req == NULL || protobuf_c_message_check(c->req) != 1) {
		snprintf(why, whylen,
		    "malformed %s request, or one that would unpack "
		    "into more than %zu bytes",
		    c->method->input->short_name,
		    rpc_unpack_budget(env->payload.len));
		return HS_INVALID_ARGUMENT;
	}
	return HS_OK;
}

/* The generic checks of rpc_server.h, then the handler. */
static void
dispatch(struct rpc_call *c)
{
	char why[512];
	const struct service *svc = NULL;
	rpc_handler h = NULL;
	c->arrival_ms = rt_now_ms();
	hs_status st = admit_envelope(c, c->arrival_ms, why, sizeof(why));
	if (st == HS_OK)
		st = admit_call(c, &svc, &h, why, sizeof(why));
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
		c->pipe = nng_msg_get_pipe(c->msg);
		rpc_conns_begin(c->srv->conns, c->pipe);
		dispatch(c);
		return;
	case CALL_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				return;
		}
		recv_next(c);
		return;
	default:
		return;
	}
}
