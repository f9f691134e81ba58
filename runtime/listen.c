/* A listener that keeps accepting (see listen.h): the listener, and for a
 * TLS address a thread that probes it and listens again when it has gone
 * deaf. */
#include "listen.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tls.h"

/* How long a probe waits for its connection, then for the socket to take
 * a connection in. Generous: a loaded machine must not pass for a deaf
 * listener, since listening again drops every connection. */
#define PROBE_WAIT_MS 5000

/* A pipe event counted: sock's pipes taken in, or the probe's connections
 * completed. */
struct count {
	struct rt_listen *g;
	uint64_t n; /* under g->mu */
};

struct rt_listen {
	nng_socket sock;
	nng_listener l;
	char at[256]; /* the bound address: listened on again, probed */
	int (*peer_open)(nng_socket *);
	pthread_mutex_t mu; /* what follows */
	pthread_cond_t cv;
	struct count taken; /* pipes sock took in */
	struct count up;    /* probe connections completed */
	int stop;
	int guarded;   /* a guard thread runs */
	int listening; /* g->l is open: the guard thread's alone once it runs */
	pthread_t thr;
};

/* url ("scheme://host:0") with the bound port in its place, into g->at. */
static void
bound_address(struct rt_listen *g, const char *url)
{
	int port = 0;
	snprintf(g->at, sizeof(g->at), "%s", url);
	char *colon = strrchr(g->at, ':');
	if ((strncmp(url, "tcp://", 6) == 0 || rt_tls_url(url)) &&
	    colon != NULL && strcmp(colon, ":0") == 0 &&
	    nng_listener_get_int(g->l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
		snprintf(colon, sizeof(g->at) - (size_t)(colon - g->at), ":%d",
		    port);
}

static int
start(struct rt_listen *g, const char *url, char *why, size_t whylen)
{
	int rv = nng_listener_create(&g->l, g->sock, url);
	if (rv != 0) {
		snprintf(why, whylen, "%s", nng_strerror(rv));
		return rv;
	}
	/* Not every transport has it (ipc://); nothing to do there. */
	(void)nng_listener_set_bool(g->l, NNG_OPT_TCP_KEEPALIVE, 1);
	why[0] = '\0';
	if ((rv = rt_tls_listener(g->l, url, why, whylen)) != 0 ||
	    (rv = nng_listener_start(g->l, 0)) != 0) {
		if (why[0] == '\0')
			snprintf(why, whylen, "%s", nng_strerror(rv));
		nng_listener_close(g->l);
	}
	return rv;
}

static void
count_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	struct count *c = arg;
	pthread_mutex_lock(&c->g->mu);
	c->n++;
	pthread_cond_broadcast(&c->g->cv);
	pthread_mutex_unlock(&c->g->mu);
}

/* Under g->mu: waits until *flag moves past from, the guard stops or ms
 * pass. 1 if it moved. */
static int
wait_past(struct rt_listen *g, const uint64_t *flag, uint64_t from, int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (*flag == from && !g->stop &&
	    pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0)
		;
	return *flag != from;
}

/* One probe: 1 when its connection completed and the socket took nothing
 * in meanwhile (deaf), else 0 (alive, or nothing learnt). */
static int
probe_deaf(struct rt_listen *g)
{
	nng_socket ps;
	nng_dialer d;
	char why[256];
	if (g->peer_open(&ps) != 0)
		return 0;
	pthread_mutex_lock(&g->mu);
	uint64_t taken = g->taken.n, up = g->up.n;
	pthread_mutex_unlock(&g->mu);
	int deaf = 0, dialed = 0;
	if (nng_pipe_notify(ps, NNG_PIPE_EV_ADD_POST, count_cb, &g->up) == 0 &&
	    nng_dialer_create(&d, ps, g->at) == 0 &&
	    rt_tls_dialer(d, g->at, why, sizeof(why)) == 0 &&
	    nng_dialer_start(d, NNG_FLAG_NONBLOCK) == 0) {
		dialed = 1;
		pthread_mutex_lock(&g->mu);
		if (wait_past(g, &g->up.n, up, PROBE_WAIT_MS) && !g->stop)
			deaf = !wait_past(g, &g->taken.n, taken,
				   PROBE_WAIT_MS) &&
			    !g->stop;
		pthread_mutex_unlock(&g->mu);
	}
	/* The connection goes before the socket: a publisher in this
	 * process may be sending to it, and nng_close can hang on that. */
	if (dialed)
		nng_dialer_close(d);
	nng_close(ps);
	return deaf;
}

/* Listens anew: after the listener went deaf, or when the last try to
 * listen again failed (the port still held, say). */
static void
listen_again(struct rt_listen *g)
{
	char why[512];
	if (g->listening) {
		rt_log_warn("%s stopped taking in connections (nng 1.5.2: a "
			    "peer hung up during its TLS handshake); listening "
			    "again, so its connected peers reconnect",
		    g->at);
		nng_listener_close(g->l);
	}
	g->listening = start(g, g->at, why, sizeof(why)) == 0;
	if (!g->listening)
		rt_log_error("cannot listen on %s again: %s; retrying in %d ms",
		    g->at, why, RT_LISTEN_PROBE_MS);
}

static void *
guard_main(void *arg)
{
	struct rt_listen *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		uint64_t never = 0;
		(void)wait_past(g, &never, 0, RT_LISTEN_PROBE_MS);
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->mu);
		if (!g->listening || probe_deaf(g))
			listen_again(g);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int
rt_listen_open(rt_listen **out, nng_socket sock, const char *url,
    int (*peer_open)(nng_socket *), char *bound, size_t boundlen, char *why,
    size_t whylen)
{
	struct rt_listen *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(why, whylen, "out of memory");
		return NNG_ENOMEM;
	}
	g->sock = sock;
	g->peer_open = peer_open;
	g->taken.g = g->up.g = g;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rv = start(g, url, why, whylen);
	g->listening = rv == 0;
	if (rv == 0) {
		bound_address(g, url);
		if (rt_tls_url(url) &&
		    (rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, count_cb,
			 &g->taken)) == 0) {
			g->guarded = pthread_create(&g->thr, NULL, guard_main,
					 g) == 0;
			rv = g->guarded ? 0 : NNG_ENOMEM;
		}
		if (rv != 0) {
			snprintf(why, whylen, "cannot guard it: %s",
			    nng_strerror(rv));
			nng_listener_close(g->l);
		}
	}
	if (rv != 0) {
		pthread_mutex_destroy(&g->mu);
		pthread_cond_destroy(&g->cv);
		free(g);
		return rv;
	}
	if (bound != NULL)
		snprintf(bound, boundlen, "%s", g->at);
	*out = g;
	return 0;
}

void
rt_listen_close(rt_listen *g)
{
	if (g == NULL)
		return;
	if (g->guarded) {
		pthread_mutex_lock(&g->mu);
		g->stop = 1;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thr, NULL);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}
