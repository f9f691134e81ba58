/* The checks every request passes before its handler runs (see
 * rpc_server_impl.h): who sends it, whether that role may call the method,
 * and whether it is well formed, in the order rpc_server.h states. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "rpc_server_impl.h"
#include "rpc_wire.h"

/* The fencing floor is part of admission: raised only by a directory's
 * requests, checked against every request's epoch. */
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

static const struct service *
find_service(const rpc_server *s, const char *name)
{
	for (int i = 0; i < s->nservices; i++)
		if (strcmp(s->services[i].desc->name, name) == 0)
			return &s->services[i];
	return NULL;
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
hs_status
rpc_admit(struct rpc_call *c, int64_t now, const struct service **svc,
    rpc_handler *h, char *why, size_t whylen)
{
	hs_status st = admit_envelope(c, now, why, whylen);
	return st == HS_OK ? admit_call(c, svc, h, why, whylen) : st;
}
