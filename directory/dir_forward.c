/* Forwarding a write to the leader (see dir_forward.h). */
#include "dir_forward.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* One forwarded call. The request stays the call's until it is answered,
 * so a retry can send it again. */
struct fwd {
	rpc_call *call;
	const ProtobufCMessage *req;
	rpc_client *c;
	int64_t timeout;
	uint64_t epoch;
	int retried;
};

static void
forward_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct fwd *f = arg;
	rpc_call *call = f->call;
	/* A leader elected after this follower last looked refuses the old
	 * epoch: the refusal carries the new one, so send once more under it
	 * (still non-zero, so the receiver will not forward it again). */
	if (reply == NULL && err->code == HS_FAILED_PRECONDITION &&
	    err->leader_hint[0] == '\0' && err->epoch > f->epoch &&
	    !f->retried) {
		f->retried = 1;
		f->epoch = err->epoch;
		if (rpc_invoke_async(f->c, &hs__directory__descriptor,
			rpc_call_method(call), f->req, f->timeout, f->epoch,
			forward_done, f) == 0)
			return;
	}
	free(f);
	if (reply != NULL) {
		rpc_reply(call, reply);
		protobuf_c_message_free_unpacked(reply, NULL);
	} else if (err->code == HS_FAILED_PRECONDITION && err->leader_hint[0]) {
		rpc_fail_redirect(call, err->leader_hint, "%s", err->message);
	} else {
		rpc_fail(call, err->code, "forwarded to the leader: %s",
		    err->message);
	}
}

static void
forward_or_redirect(struct dir *d, rpc_call *call, const ProtobufCMessage *req,
    int redirect)
{
	struct dir_leader k;
	char err[256];
	dir_known_leader(d, &k);
	if (k.id[0] == '\0') {
		rpc_fail(call, HS_UNAVAILABLE,
		    "no directory leader is "
		    "elected right now (one is within LEADER_TIMEOUT); retry");
		return;
	}
	if (strcmp(k.id, d->cfg.id) == 0) {
		rpc_fail(call, HS_UNAVAILABLE,
		    "this directory is taking "
		    "over or giving up the lead; retry");
		return;
	}
	if (rpc_call_epoch(call) != 0 || redirect) {
		rpc_fail_redirect(call, k.rpc,
		    "%s is not the leader; "
		    "retry at %s (%s)",
		    d->cfg.id, k.id, k.rpc);
		return;
	}
	rpc_client *c = rpc_pool_get(d->pool, k.rpc, RT_DIRECTORY_PRINCIPAL,
	    err, sizeof(err));
	if (c == NULL) {
		rpc_fail(call, HS_UNAVAILABLE,
		    "cannot reach the leader "
		    "%s: %s",
		    k.id, err);
		return;
	}
	int64_t timeout = 5000;
	int64_t dl = rpc_call_deadline_ms(call);
	if (dl != 0 && dl - rt_now_ms() < timeout)
		timeout = dl - rt_now_ms() > 1 ? dl - rt_now_ms() : 1;
	struct fwd *f = malloc(sizeof(*f));
	if (f == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*f = (struct fwd){ .call = call,
		.req = req,
		.c = c,
		.timeout = timeout,
		.epoch = k.epoch };
	int rv = rpc_invoke_async(c, &hs__directory__descriptor,
	    rpc_call_method(call), req, timeout, k.epoch, forward_done, f);
	if (rv != 0) {
		free(f);
		rpc_fail(call, (hs_status)rv,
		    "cannot forward to the leader %s "
		    "(%s)",
		    k.id, k.rpc);
	}
}

void
dir_forward(struct dir *d, rpc_call *call, const ProtobufCMessage *req)
{
	forward_or_redirect(d, call, req, 0);
}

void
dir_redirect(struct dir *d, rpc_call *call)
{
	forward_or_redirect(d, call, NULL, 1);
}
