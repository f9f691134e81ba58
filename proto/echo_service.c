/* Echo handlers (see echo_service.h). */
#include "echo_service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "echo.pb-c.h"

static atomic_int delayed_pending;

static void
answer(rpc_call *call, const Hs__EchoRequest *req)
{
	Hs__EchoReply reply = HS__ECHO_REPLY__INIT;
	uint8_t *buf = NULL;
	if (req->fail_code != 0) {
		rpc_fail(call, (hs_status)req->fail_code, "failed on request");
		return;
	}
	if (req->reply_size > 0) {
		buf = calloc(1, req->reply_size);
		if (buf == NULL) {
			rpc_fail(call, HS_RESOURCE_EXHAUSTED,
			    "no memory for reply");
			return;
		}
		reply.data.data = buf;
		reply.data.len = req->reply_size;
	} else {
		reply.data = req->data;
	}
	rpc_reply(call, &reply.base);
	free(buf);
}

struct delayed {
	rpc_call *call;
	const Hs__EchoRequest *req; /* owned by the call until it answers */
};

static void *
delayed_main(void *arg)
{
	struct delayed *d = arg;
	struct timespec ts = { .tv_sec = d->req->delay_ms / 1000,
		.tv_nsec = (long)(d->req->delay_ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	answer(d->call, d->req);
	free(d);
	atomic_fetch_sub(&delayed_pending, 1);
	return NULL;
}

static void
echo_echo(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	const Hs__EchoRequest *req = (const Hs__EchoRequest *)msg;
	(void)arg;
	if (req->delay_ms == 0) {
		answer(call, req);
		return;
	}
	struct delayed *d = malloc(sizeof(*d));
	pthread_t t;
	pthread_attr_t attr;
	d->call = call;
	d->req = req;
	atomic_fetch_add(&delayed_pending, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, delayed_main, d) != 0) {
		atomic_fetch_sub(&delayed_pending, 1);
		free(d);
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "cannot start a thread");
	}
	pthread_attr_destroy(&attr);
}

static const struct rpc_method echo_methods[] = {
	{ "Echo", echo_echo, RT_ROLES_ANY },
};

int
echo_service_add(rpc_server *s)
{
	return rpc_server_add_service(s, &hs__echo__descriptor, echo_methods, 1,
	    NULL);
}

void
echo_service_drain(void)
{
	while (atomic_load(&delayed_pending) > 0) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}
