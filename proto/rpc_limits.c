/* The bounds against hostile peers (see rpc_limits.h). nng 1.5.2 reads a
 * frame into memory as its bytes arrive and offers no per-pipe receive
 * timeout, no connection cap and no total on bytes in flight; what it
 * offers is a frame size cap, pipe notifications and nng_pipe_close, so
 * the connection table here caps connections and cuts off the slow. */
#include "rpc_limits.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

size_t
rpc_frame_max(size_t max_msg)
{
	return max_msg + RPC_ENVELOPE_SLACK;
}

void
rpc_lost_hint(char *msg, size_t len, size_t sent)
{
	size_t n = strlen(msg);
	if (sent > RPC_ENVELOPE_SLACK && n < len)
		snprintf(msg + n, len - n,
		    " or that the %zu-byte request is within its size limit",
		    sent);
}

size_t
rpc_unpack_budget(size_t wire_len)
{
	size_t structure = wire_len < RPC_STRUCTURE_MAX / 16 ?
	    16 * wire_len :
	    RPC_STRUCTURE_MAX;
	return wire_len + structure + RPC_UNPACK_BASE;
}

struct budget {
	size_t left;
};

static void *
budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	if (size > b->left)
		return NULL;
	b->left -= size;
	return malloc(size);
}

static void
budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

ProtobufCMessage *
rpc_unpack_bounded(const ProtobufCMessageDescriptor *d, size_t len,
    const uint8_t *data)
{
	struct budget b = { rpc_unpack_budget(len) };
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };
	return protobuf_c_message_unpack(d, &a, len, data);
}

int64_t
rpc_deadline_clamp(int64_t deadline_ms, int64_t arrival_ms, int64_t cap_ms)
{
	if (deadline_ms == 0)
		return 0;
	if (deadline_ms > arrival_ms && deadline_ms - arrival_ms > cap_ms)
		return arrival_ms + cap_ms;
	return deadline_ms;
}

int
rpc_time_within(int64_t now, int64_t ts, int64_t window_ms)
{
	/* now and window_ms are ours and sane; only ts is the peer's. */
	return ts >= now - window_ms && ts <= now + window_ms;
}

struct conn {
	uint32_t pipe;
	int busy;      /* requests in progress */
	int64_t since; /* mono ms of the last whole request, or the connect */
};

struct rpc_conns {
	pthread_mutex_t mu;
	struct conn *tab;
	int n, max;
	int64_t idle_ms;
	nng_aio *tick;
	const char *name;
	int refused; /* connections refused so far */
};

static struct conn *
find_locked(rpc_conns *c, uint32_t id)
{
	for (int i = 0; i < c->n; i++)
		if (c->tab[i].pipe == id)
			return &c->tab[i];
	return NULL;
}

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_conns *c = arg;
	int refuse = 0, refused = 0;
	pthread_mutex_lock(&c->mu);
	struct conn *e = find_locked(c, nng_pipe_id(p));
	if (ev == NNG_PIPE_EV_ADD_PRE && e == NULL) {
		if (c->n == c->max) {
			refuse = 1;
			refused = ++c->refused;
		} else {
			c->tab[c->n++] = (struct conn){ nng_pipe_id(p), 0,
				rt_mono_ms() };
		}
	} else if (ev == NNG_PIPE_EV_REM_POST && e != NULL) {
		*e = c->tab[--c->n];
	}
	pthread_mutex_unlock(&c->mu);
	if (refuse) {
		/* The first and every 1000th: a flood must not flood the log. */
		if (refused % 1000 == 1)
			rt_log_warn("%s: refusing connection %d past the %d "
				    "this server keeps open (a flood, or raise "
				    "--max-conns)",
			    c->name, refused, c->max);
		nng_pipe_close(p);
	}
}

static void
mark(rpc_conns *c, nng_pipe pipe, int delta)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	struct conn *e = find_locked(c, nng_pipe_id(pipe));
	if (e != NULL) {
		e->busy += delta;
		e->since = rt_mono_ms();
	}
	pthread_mutex_unlock(&c->mu);
}

void
rpc_conns_begin(rpc_conns *c, nng_pipe pipe)
{
	mark(c, pipe, 1);
}

void
rpc_conns_done(rpc_conns *c, nng_pipe pipe)
{
	mark(c, pipe, -1);
}

static int64_t
tick_ms(const rpc_conns *c)
{
	int64_t t = c->idle_ms / 4;
	return t < 10 ? 10 : t > 1000 ? 1000 : t;
}

/* Closes the idle connections, then sleeps again. */
static void
reap(void *arg)
{
	rpc_conns *c = arg;
	if (nng_aio_result(c->tick) != 0)
		return; /* stopped */
	uint32_t idle[64];
	int nidle = 0;
	int64_t now = rt_mono_ms();
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->n && nidle < 64; i++)
		if (c->tab[i].busy <= 0 && now - c->tab[i].since > c->idle_ms)
			idle[nidle++] = c->tab[i].pipe;
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < nidle; i++) {
		nng_pipe p = NNG_PIPE_INITIALIZER;
		p.id = idle[i];
		nng_pipe_close(p); /* its REM_POST removes it from tab */
	}
	nng_sleep_aio((nng_duration)tick_ms(c), c->tick);
}

int
rpc_conns_open(rpc_conns **out, nng_socket sock, int max_conns, int64_t idle_ms,
    const char *name)
{
	rpc_conns *c = calloc(1, sizeof(*c));
	if (c == NULL ||
	    (c->tab = calloc((size_t)max_conns, sizeof(*c->tab))) == NULL) {
		free(c);
		return NNG_ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->max = max_conns;
	c->idle_ms = idle_ms;
	c->name = name;
	int rv = nng_aio_alloc(&c->tick, reap, c);
	if (rv == 0)
		rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, pipe_event, c);
	if (rv == 0)
		rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, pipe_event, c);
	if (rv != 0) {
		rpc_conns_close(c);
		return rv;
	}
	nng_sleep_aio((nng_duration)tick_ms(c), c->tick);
	*out = c;
	return 0;
}

int
rpc_conns_count(rpc_conns *c)
{
	pthread_mutex_lock(&c->mu);
	int n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void
rpc_conns_close(rpc_conns *c)
{
	if (c == NULL)
		return;
	if (c->tick != NULL) {
		nng_aio_stop(c->tick);
		nng_aio_free(c->tick);
	}
	pthread_mutex_destroy(&c->mu);
	free(c->tab);
	free(c);
}
