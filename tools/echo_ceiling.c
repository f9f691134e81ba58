/* The bare nng echo ceiling: REQ/REP with a context pool on each side, no
 * envelope, no MAC, no protobuf. The yardstick rpc_bench and bench measure
 * against, in the same run. */
#include "echo_ceiling.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

static size_t bare_reply;
static atomic_long bare_completed;
static atomic_int bare_running;

struct bare_srv {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
};

static void
bare_srv_cb(void *arg)
{
	struct bare_srv *w = arg;
	if (nng_aio_result(w->aio) != 0) {
		if (w->sending)
			nng_msg_free(nng_aio_get_msg(w->aio));
		return;
	}
	if (!w->sending) {
		nng_msg *m = nng_aio_get_msg(w->aio);
		nng_msg_realloc(m, bare_reply);
		nng_aio_set_msg(w->aio, m);
		w->sending = 1;
		nng_ctx_send(w->ctx, w->aio);
	} else {
		w->sending = 0;
		nng_ctx_recv(w->ctx, w->aio);
	}
}

struct bare_cli {
	nng_ctx ctx;
	nng_aio *aio;
	int receiving;
};

static void
bare_cli_send(struct bare_cli *w)
{
	nng_msg *m;
	nng_msg_alloc(&m, 64);
	memset(nng_msg_body(m), 7, 64);
	nng_aio_set_msg(w->aio, m);
	w->receiving = 0;
	nng_ctx_send(w->ctx, w->aio);
}

static void
bare_cli_cb(void *arg)
{
	struct bare_cli *w = arg;
	if (nng_aio_result(w->aio) != 0) {
		if (!w->receiving)
			nng_msg_free(nng_aio_get_msg(w->aio));
		return;
	}
	if (!w->receiving) {
		w->receiving = 1;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(w->aio));
	atomic_fetch_add(&bare_completed, 1);
	if (atomic_load(&bare_running))
		bare_cli_send(w);
}

double
echo_ceiling_bare(int n_inflight, size_t reply, int64_t ms)
{
	nng_socket rep, req;
	int n = n_inflight;
	struct bare_srv *s = calloc((size_t)n, sizeof(*s));
	struct bare_cli *c = calloc((size_t)n, sizeof(*c));
	nng_listener l;
	char url[64];
	int port = 0;
	nng_rep0_open(&rep);
	nng_req0_open(&req);
	nng_socket_set_size(rep, NNG_OPT_RECVMAXSZ, 1 << 20);
	nng_socket_set_size(req, NNG_OPT_RECVMAXSZ, 1 << 20);
	nng_listener_create(&l, rep, "tcp://127.0.0.1:0");
	nng_listener_start(l, 0);
	nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	for (int i = 0; i < n; i++) {
		nng_aio_alloc(&s[i].aio, bare_srv_cb, &s[i]);
		nng_ctx_open(&s[i].ctx, rep);
		nng_ctx_recv(s[i].ctx, s[i].aio);
	}
	nng_dial(req, url, NULL, 0);
	bare_reply = reply;
	atomic_store(&bare_completed, 0);
	atomic_store(&bare_running, 1);
	for (int i = 0; i < n; i++) {
		nng_aio_alloc(&c[i].aio, bare_cli_cb, &c[i]);
		nng_ctx_open(&c[i].ctx, req);
		bare_cli_send(&c[i]);
	}
	int64_t t0 = rt_mono_ms();
	rt_sleep_ms(ms);
	long done = atomic_load(&bare_completed);
	int64_t took = rt_mono_ms() - t0;
	atomic_store(&bare_running, 0);
	for (int i = 0; i < n; i++)
		nng_aio_stop(c[i].aio);
	for (int i = 0; i < n; i++)
		nng_aio_stop(s[i].aio);
	nng_close(req);
	nng_close(rep);
	for (int i = 0; i < n; i++) {
		nng_aio_free(c[i].aio);
		nng_aio_free(s[i].aio);
	}
	free(s);
	free(c);
	return (double)done * 1000.0 / (double)took;
}
