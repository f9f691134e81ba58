/* PUB/SUB framing and per-source sequence tracking (see pubsub.h). */
#include "pubsub.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "tls.h"

#define MAX_SOURCES 64
#define MAX_FAMILIES 16

/* Sequence numbers run per topic family ("photo.", "store.", ...), since
 * subscribers filter by family: one counter across families would show
 * every filtered-out event as a gap. */
struct family_seq {
	char name[32]; /* the family, e.g. "photo." */
	uint64_t seq;
};

struct rt_pub {
	nng_socket sock;
	pthread_mutex_t mu; /* orders seq with sending */
	struct family_seq fam[MAX_FAMILIES];
	int nfam;
	char source[64];
};

struct source_seq {
	char name[96]; /* source + '/' + family */
	uint64_t seq;
};

struct rt_sub {
	nng_socket sock;
	struct source_seq seen[MAX_SOURCES];
	int nseen;
};

int
rt_pub_open(rt_pub **out, const char *url, const char *source)
{
	rt_pub *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NNG_ENOMEM;
	int rv = nng_pub0_open(&p->sock);
	/* A batch commit publishes hundreds of events at once; nng queues
	 * 16 per subscriber by default and drops the rest, which every
	 * subscriber then sees as a gap (a catch-up, an audit). */
	if (rv == 0)
		nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, 1024);
	nng_listener l;
	char why[512] = "";
	if (rv == 0 &&
	    ((rv = nng_listener_create(&l, p->sock, url)) != 0 ||
		(rv = rt_tls_listener(l, url, why, sizeof(why))) != 0 ||
		(rv = nng_listener_start(l, 0)) != 0))
		nng_close(p->sock);
	if (rv != 0) {
		rt_log_error("cannot publish on %s: %s", url,
		    why[0] ? why : nng_strerror(rv));
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
	pthread_mutex_destroy(&p->mu);
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
	size_t tlen = strlen(ev->topic);
	nng_msg *m;
	pthread_mutex_lock(&p->mu);
	ev->seq = next_seq(p, ev->topic);
	ev->time_ms = rt_now_ms();
	ev->source = p->source;
	size_t len = protobuf_c_message_get_packed_size(&ev->base);
	int rv = nng_msg_alloc(&m, tlen + 1 + len);
	if (rv == 0) {
		uint8_t *b = nng_msg_body(m);
		memcpy(b, ev->topic, tlen + 1);
		protobuf_c_message_pack(&ev->base, b + tlen + 1);
		if ((rv = nng_sendmsg(p->sock, m, 0)) != 0)
			nng_msg_free(m);
	}
	pthread_mutex_unlock(&p->mu);
	return rv;
}

int
rt_sub_open(rt_sub **out, const char *const *urls, size_t nurls,
    const char *const *prefixes, size_t nprefixes)
{
	rt_sub *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NNG_ENOMEM;
	int rv = nng_sub0_open(&s->sock);
	if (rv != 0) {
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
	free(s);
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
	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
	    timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	for (;;) {
		nng_msg *m;
		int rv = nng_recvmsg(s->sock, &m, 0);
		if (rv != 0)
			return rv;
		const uint8_t *b = nng_msg_body(m);
		size_t len = nng_msg_len(m);
		const uint8_t *nul = memchr(b, 0, len);
		Hs__Event *e = NULL;
		if (nul != NULL)
			e = hs__event__unpack(NULL, len - (size_t)(nul + 1 - b),
			    nul + 1);
		nng_msg_free(m);
		if (e == NULL) {
			rt_log_warn("skipped a malformed event frame of %zu bytes",
			    len);
			continue;
		}
		*gap = track(s, e);
		*ev = e;
		return 0;
	}
}
