/* PUB/SUB sockets and per-source sequence tracking (see pubsub.h); the
 * frames themselves are built and opened in feed_seal.c. */
#include "pubsub.h"

#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "feed_seal.h"
#include "listen.h"
#include "log.h"
#include "tls.h"

#define MAX_SOURCES 64
#define MAX_FAMILIES 16
#define DROP_LOG_MS 10000

/* Sequence numbers run per topic family ("photo.", "store.", ...), since
 * subscribers filter by family: one counter across families would show
 * every filtered-out event as a gap. */
struct family_seq {
	char name[32]; /* the family, e.g. "photo." */
	uint64_t seq;
};

struct rt_pub {
	nng_socket sock;
	rt_listen *listen;
	pthread_mutex_t mu; /* orders seq with sending */
	struct family_seq fam[MAX_FAMILIES];
	int nfam;
	char source[64];
	rt_sealer *sealer;
};

struct source_seq {
	char name[96]; /* source + '/' + family */
	uint64_t seq;
};

struct rt_sub {
	nng_socket sock;
	struct source_seq seen[MAX_SOURCES];
	int nseen;
	rt_opener *opener;
	_Atomic uint64_t dropped; /* frames refused by rt_open_frame */
	uint64_t dropped_logged;
	int64_t drop_logged_ms;
};

int
rt_pub_open(rt_pub **out, const char *url, const char *source, rt_ident *id)
{
	rt_pub *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NNG_ENOMEM;
	if (rt_sealer_new(&p->sealer, id) != 0) {
		free(p);
		return NNG_ENOMEM;
	}
	int rv = nng_pub0_open(&p->sock);
	/* A batch commit publishes hundreds of events at once; nng queues
	 * 16 per subscriber by default and drops the rest, which every
	 * subscriber then sees as a gap (a catch-up, an audit). */
	if (rv == 0)
		nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, 1024);
	char why[512] = "";
	if (rv == 0 &&
	    (rv = rt_listen_open(&p->listen, p->sock, url, nng_sub0_open, NULL,
		 0, why, sizeof(why))) != 0)
		nng_close(p->sock);
	if (rv != 0) {
		rt_log_error("cannot publish on %s: %s", url,
		    why[0] ? why : nng_strerror(rv));
		rt_sealer_free(p->sealer);
		free(p);
		return rv;
	}
	pthread_mutex_init(&p->mu, NULL);
	strncpy(p->source, source, sizeof(p->source) - 1);
	*out = p;
	return 0;
}

void
rt_pub_close(rt_pub *p)
{
	if (p == NULL)
		return;
	nng_close(p->sock);
	rt_listen_close(p->listen);
	pthread_mutex_destroy(&p->mu);
	rt_sealer_free(p->sealer);
	free(p);
}

/* The family of a topic: up to and including its first '.'. */
static size_t
family_len(const char *topic)
{
	const char *dot = strchr(topic, '.');
	return dot ? (size_t)(dot - topic) + 1 : strlen(topic);
}

static uint64_t
next_seq(rt_pub *p, const char *topic)
{
	size_t n = family_len(topic);
	if (n >= sizeof(p->fam[0].name))
		n = sizeof(p->fam[0].name) - 1;
	for (int i = 0; i < p->nfam; i++)
		if (strlen(p->fam[i].name) == n &&
		    strncmp(p->fam[i].name, topic, n) == 0)
			return ++p->fam[i].seq;
	if (p->nfam == MAX_FAMILIES)
		return 0;
	memcpy(p->fam[p->nfam].name, topic, n);
	p->fam[p->nfam].seq = 1;
	p->nfam++;
	return 1;
}

int
rt_pub_publish(rt_pub *p, Hs__Event *ev)
{
	nng_msg *m;
	pthread_mutex_lock(&p->mu);
	ev->seq = next_seq(p, ev->topic);
	ev->time_ms = rt_now_ms();
	ev->source = p->source;
	int rv = rt_seal_frame(p->sealer, ev, &m);
	if (rv == 0 && (rv = nng_sendmsg(p->sock, m, 0)) != 0)
		nng_msg_free(m);
	pthread_mutex_unlock(&p->mu);
	return rv;
}

int
rt_sub_open(rt_sub **out, const char *const *urls, size_t nurls,
    const char *const *prefixes, size_t nprefixes, rt_ident *id)
{
	rt_sub *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NNG_ENOMEM;
	int rv = rt_opener_new(&s->opener, id) != 0 ? NNG_ENOMEM :
						      nng_sub0_open(&s->sock);
	if (rv != 0) {
		rt_opener_free(s->opener);
		free(s);
		return rv;
	}
	nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 1024);
	for (size_t i = 0; rv == 0 && i < nprefixes; i++)
		rv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, prefixes[i],
		    strlen(prefixes[i]));
	for (size_t i = 0; rv == 0 && i < nurls; i++)
		rv = rt_sub_dial(s, urls[i]);
	if (rv != 0) {
		rt_sub_close(s);
		return rv;
	}
	*out = s;
	return 0;
}

int
rt_sub_dial(rt_sub *s, const char *url)
{
	nng_dialer d;
	char why[512];
	int rv = nng_dialer_create(&d, s->sock, url);
	if (rv == 0 && (rv = rt_tls_dialer(d, url, why, sizeof(why))) != 0) {
		rt_log_error("cannot subscribe to %s: %s", url, why);
		nng_dialer_close(d);
	}
	if (rv != 0)
		return rv;
	nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 20);
	nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 500);
	return nng_dialer_start(d, NNG_FLAG_NONBLOCK);
}

void
rt_sub_close(rt_sub *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	rt_opener_free(s->opener);
	free(s);
}

uint64_t
rt_sub_dropped(rt_sub *s)
{
	return atomic_load(&s->dropped);
}

/* Counts a refused frame; logs at most once every DROP_LOG_MS, since a
 * forger can send them as fast as it likes. */
static void
dropped(rt_sub *s, size_t len, const char *why)
{
	uint64_t n = atomic_fetch_add(&s->dropped, 1) + 1;
	int64_t now = rt_mono_ms();
	if (s->drop_logged_ms != 0 && now - s->drop_logged_ms < DROP_LOG_MS)
		return;
	/* why may quote a name from the network: only printable ASCII of
	 * it reaches the log. */
	char clean[300];
	size_t i = 0;
	for (; why[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	clean[i] = '\0';
	rt_log_warn("dropped %" PRIu64 " event frame(s) since the last "
		    "report; the last (%zu bytes) because %s: check who "
		    "reaches the feed",
	    n - s->dropped_logged, len, clean);
	s->dropped_logged = n;
	s->drop_logged_ms = now;
}

/* Records ev's seq for its source and returns how many were skipped. A
 * restarted publisher starts again at 1, which is not a gap. */
static uint64_t
track(rt_sub *s, const Hs__Event *ev)
{
	char name[96];
	struct source_seq *e = NULL;
	snprintf(name, sizeof(name), "%.63s/%.*s", ev->source,
	    (int)family_len(ev->topic), ev->topic);
	for (int i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i].name, name) == 0)
			e = &s->seen[i];
	if (e == NULL) {
		if (s->nseen == MAX_SOURCES)
			return 0;
		e = &s->seen[s->nseen++];
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->seq = ev->seq;
		return 0;
	}
	uint64_t gap = ev->seq > e->seq + 1 ? ev->seq - e->seq - 1 : 0;
	e->seq = ev->seq;
	return gap;
}

int
rt_sub_recv(rt_sub *s, Hs__Event **ev, uint64_t *gap, int timeout_ms)
{
	int64_t until = rt_mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		/* What is left of the wait: refused frames, however many, do
		 * not hold the caller past its timeout. */
		int64_t left = until - rt_mono_ms();
		if (timeout_ms >= 0 && left < 0)
			return NNG_ETIMEDOUT;
		nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
		    timeout_ms < 0 ? NNG_DURATION_INFINITE :
				     (nng_duration)left);
		nng_msg *m;
		int rv = nng_recvmsg(s->sock, &m, 0);
		if (rv != 0)
			return rv;
		char why[300];
		Hs__Event *e = NULL;
		size_t len = nng_msg_len(m);
		int bad = rt_open_frame(s->opener, nng_msg_body(m), len, &e,
		    why, sizeof(why));
		nng_msg_free(m);
		if (bad) {
			dropped(s, len, why);
			continue;
		}
		*gap = track(s, e);
		*ev = e;
		return 0;
	}
}
