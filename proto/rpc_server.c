/* The RPC server (see rpc_server.h). Each context owns one aio and one
 * rpc_call; the aio callback never blocks: it validates, dispatches, and
 * either the handler answers inline or later from its own thread. */
#include "rpc_server.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rpc_limits.h"
#include "rpc_server_impl.h"
#include "rpc_wire.h"

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
	char why[512] = "";
	int rv = s->listen != NULL ?
	    NNG_ESTATE :
	    rt_listen_open(&s->listen, s->sock, url, nng_req0_open, bound,
		boundlen, why, sizeof(why));
	if (rv != 0)
		rt_log_error("%s: cannot listen on %s: %s", s->opts.name, url,
		    rv == NNG_ESTATE ? "it listens already" : why);
	return rv;
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
	rt_listen_close(s->listen);
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
	rpc_server_count(c, code);
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

hs_status
rpc_server_admit_frame(rpc_server *s, nng_msg *msg, int64_t now)
{
	struct rpc_call c = { .srv = s, .msg = msg };
	const struct service *svc = NULL;
	rpc_handler h = NULL;
	char why[512];
	hs_status st = rpc_admit(&c, now, &svc, &h, why, sizeof(why));
	call_release(&c);
	call_forget_peer(&c);
	return st;
}

/* The generic checks of rpc_server.h, then the handler. */
static void
dispatch(struct rpc_call *c)
{
	char why[512];
	const struct service *svc = NULL;
	rpc_handler h = NULL;
	c->arrival_ms = rt_now_ms();
	c->start_ns = rt_mono_ns();
	hs_status st = rpc_admit(c, c->arrival_ms, &svc, &h, why, sizeof(why));
	c->stats = svc != NULL && c->method != NULL ?
	    &c->srv->services[svc - c->srv->services]
		 .stats[c->method - svc->desc->methods] :
	    NULL;
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
