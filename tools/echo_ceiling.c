/* The bare nng echo ceiling: REQ/REP with a context pool on each side, no
 * envelope, no MAC, no protobuf. The yardstick rpc_bench and bench measure
 * against, in the same run.
 *
 * It always ends: nng 1.5.2's nng_close can hang while a peer in the same
 * process still sends (it did about one run in three in tools:bench; nng
 * issue #1813 is the same deadlock), so the senders are stopped and
 * drained first, the sending socket is closed before the answering one, every aio is stopped and every context closed
 * before the sockets, and each socket close is bounded (testing/rpc.h); a
 * close that overruns is left behind and reported as a failure. */
#include "echo_ceiling.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "rpc.h"

#define DRAIN_MS 5000 /* calls in flight answer within this once stopped */

/* One measurement's state, shared by its callbacks. */
struct bare_run {
	size_t reply;
	atomic_long completed;
	atomic_int running;
	atomic_int outstanding; /* requests sent and not yet finished */
};

struct bare_srv {
	struct bare_run *run;
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
		nng_msg_realloc(m, w->run->reply);
		nng_aio_set_msg(w->aio, m);
		w->sending = 1;
		nng_ctx_send(w->ctx, w->aio);
	} else {
		w->sending = 0;
		nng_ctx_recv(w->ctx, w->aio);
	}
}

struct bare_cli {
	struct bare_run *run;
	nng_ctx ctx;
	nng_aio *aio;
	int receiving;
};

static void
bare_cli_send(struct bare_cli *w)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, 64) != 0)
		return;
	memset(nng_msg_body(m), 7, 64);
	nng_aio_set_msg(w->aio, m);
	w->receiving = 0;
	atomic_fetch_add(&w->run->outstanding, 1);
	nng_ctx_send(w->ctx, w->aio);
}

static void
bare_cli_cb(void *arg)
{
	struct bare_cli *w = arg;
	if (nng_aio_result(w->aio) != 0) {
		if (!w->receiving)
			nng_msg_free(nng_aio_get_msg(w->aio));
		atomic_fetch_sub(&w->run->outstanding, 1);
		return;
	}
	if (!w->receiving) {
		w->receiving = 1;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(w->aio));
	atomic_fetch_add(&w->run->completed, 1);
	atomic_fetch_sub(&w->run->outstanding, 1);
	if (atomic_load(&w->run->running))
		bare_cli_send(w);
}

struct bare {
	struct bare_run run;
	nng_socket rep, req;
	struct bare_srv *s;
	struct bare_cli *c;
	int n;
};

/* Both sockets, the server's contexts receiving, the client dialled. */
static int
bare_open(struct bare *b)
{
	nng_listener l;
	char url[64];
	int port = 0;
	if (nng_rep0_open(&b->rep) != 0 || nng_req0_open(&b->req) != 0)
		return -1;
	nng_socket_set_size(b->rep, NNG_OPT_RECVMAXSZ, 1 << 20);
	nng_socket_set_size(b->req, NNG_OPT_RECVMAXSZ, 1 << 20);
	if (nng_listener_create(&l, b->rep, "tcp://127.0.0.1:0") != 0 ||
	    nng_listener_start(l, 0) != 0)
		return -1;
	nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	for (int i = 0; i < b->n; i++) {
		b->s[i].run = &b->run;
		nng_aio_alloc(&b->s[i].aio, bare_srv_cb, &b->s[i]);
		nng_ctx_open(&b->s[i].ctx, b->rep);
		nng_ctx_recv(b->s[i].ctx, b->s[i].aio);
	}
	for (int i = 0; i < b->n; i++) {
		b->c[i].run = &b->run;
		nng_aio_alloc(&b->c[i].aio, bare_cli_cb, &b->c[i]);
		nng_ctx_open(&b->c[i].ctx, b->req);
	}
	return nng_dial(b->req, url, NULL, 0) == 0 ? 0 : -1;
}

static void
close_socket(void *sock)
{
	nng_close(*(nng_socket *)sock);
}

/* Stops the senders and waits (bounded) for their calls to finish, stops
 * every aio, closes the contexts, then each socket with a bound. 0, or -1
 * if something overran (its memory is then left behind, as a closing
 * thread may still touch it). */
static int
bare_close(struct bare *b)
{
	atomic_store(&b->run.running, 0);
	int64_t until = rt_mono_ms() + DRAIN_MS;
	while (atomic_load(&b->run.outstanding) > 0 && rt_mono_ms() < until)
		rt_sleep_ms(1);
	int drained = atomic_load(&b->run.outstanding) <= 0;
	for (int i = 0; i < b->n; i++)
		nng_aio_stop(b->c[i].aio);
	for (int i = 0; i < b->n; i++)
		nng_aio_stop(b->s[i].aio);
	for (int i = 0; i < b->n; i++) {
		nng_ctx_close(b->c[i].ctx);
		nng_ctx_close(b->s[i].ctx);
	}
	int failures = check_failures;
	test_close_bounded(close_socket, &b->req,
	    "echo ceiling: nng_close(req)");
	test_close_bounded(close_socket, &b->rep,
	    "echo ceiling: nng_close(rep)");
	if (check_failures != failures) /* left behind: keep its memory */
		return -1;
	for (int i = 0; i < b->n; i++) {
		nng_aio_free(b->c[i].aio);
		nng_aio_free(b->s[i].aio);
	}
	free(b->s);
	free(b->c);
	if (!drained)
		fprintf(stderr,
		    "echo ceiling: calls still in flight %d ms "
		    "after the senders stopped\n",
		    DRAIN_MS);
	return drained ? 0 : -1;
}

double
echo_ceiling_bare(int n_inflight, size_t reply, int64_t ms)
{
	struct bare *b = calloc(1, sizeof(*b));
	b->n = n_inflight;
	b->s = calloc((size_t)b->n, sizeof(*b->s));
	b->c = calloc((size_t)b->n, sizeof(*b->c));
	b->run.reply = reply;
	atomic_store(&b->run.running, 1);
	if (bare_open(b) != 0) {
		fprintf(stderr, "echo ceiling: cannot open loopback sockets\n");
		bare_close(b);
		return -1;
	}
	for (int i = 0; i < b->n; i++)
		bare_cli_send(&b->c[i]);
	int64_t t0 = rt_mono_ms();
	rt_sleep_ms(ms);
	long done = atomic_load(&b->run.completed);
	int64_t took = rt_mono_ms() - t0;
	if (bare_close(b) != 0)
		return -1;
	free(b);
	return (double)done * 1000.0 / (double)took;
}
