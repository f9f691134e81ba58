/* Purging deleted photos from the web cache (see web_purge.h): one libcurl
 * handle under a mutex (its connection to nginx kept alive between
 * deletes), and a thread that works through a bounded queue of purges,
 * each due at a time: the acknowledgement's two, and retries once a
 * second. */
#include "web_purge.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"

/* Purges waiting for the thread (retries, the purges after an
 * acknowledgement); past this the oldest is dropped (its entry still
 * leaves nginx within CACHE_TTL). */
#define PURGE_QUEUE 32768
#define PURGE_RETRY_MS 1000
/* A store read that began before the store had the delete's tombstone may
 * write its copy into the cache after the acknowledgement's purge. A
 * photo's read takes far less than nginx's proxy_read_timeout (10 s in
 * testing/nginx.conf.template, after which a silent store is given up
 * on), so a purge this much later drops such a copy. */
#define PURGE_LATE_MS 11000

struct pending {
	char hex[PHOTO_ID_HEX_LEN + 1];
	int64_t since; /* monotonic: when it was asked for */
	int64_t due;   /* monotonic: not tried before */
	int failed;    /* an earlier try failed (logged once done) */
};

struct dir_purge {
	char base[512]; /* "" = no web cache */
	const char *tls_ca;
	int64_t wait_ms, give_up_ms;
	/* Two handles, so a delete's purge never waits behind a retry of
	 * the thread's: the deletes' (one writer thread at a time) and the
	 * thread's own. */
	pthread_mutex_t hmu; /* hsync */
	CURL *hsync, *h;
	pthread_mutex_t mu; /* what follows */
	pthread_cond_t cv;
	struct pending q[PURGE_QUEUE]; /* a ring, oldest at head */
	size_t head, n;
	uint64_t kicks; /* enqueues so far: the thread sleeps only on none */
	int failing;	/* the last try failed: deletes do not wait */
	int stop, started;
	pthread_t thr;
};

/* The body of nginx's answer is of no interest. */
static size_t
discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* One GET of base/purge/<hex>: 0 on 200 or 404, else -1 with why. */
static int
purge_once(struct dir_purge *p, CURL *h, const char *hex, char *why,
    size_t whylen)
{
	char url[600];
	long code = 0;
	snprintf(url, sizeof(url), "%s/purge/%s", p->base, hex);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->wait_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->wait_ms);
	if (p->tls_ca != NULL && p->tls_ca[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, p->tls_ca);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (code == 200 || code == 404)
		return 0;
	snprintf(why, whylen,
	    "it answered HTTP %ld (403: the purge location does not allow "
	    "this directory's address; see nginx's error log)",
	    code);
	return -1;
}

/* Under p->mu: e at the tail. */
static void
push_locked(struct dir_purge *p, const struct pending *e)
{
	if (p->n == PURGE_QUEUE) {
		rt_log_warn("web cache purge queue full: dropping the purge "
			    "of %s (its entry expires within CACHE_TTL)",
		    p->q[p->head].hex);
		p->head = (p->head + 1) % PURGE_QUEUE;
		p->n--;
	}
	p->q[(p->head + p->n) % PURGE_QUEUE] = *e;
	p->n++;
	p->kicks++;
	pthread_cond_signal(&p->cv);
}

static void
push(struct dir_purge *p, const char *hex, int64_t due_in, int failed)
{
	struct pending e = { .failed = failed };
	snprintf(e.hex, sizeof(e.hex), "%s", hex);
	e.since = rt_mono_ms();
	e.due = e.since + due_in;
	pthread_mutex_lock(&p->mu);
	push_locked(p, &e);
	pthread_mutex_unlock(&p->mu);
}

/* The queue's head, taken off: tried if due (and put back at the tail
 * when that fails), else put back as it is. Once a try of this pass
 * failed (*down), the rest due are put back untried: one timeout a pass,
 * not one per queued purge. -1 when the queue is empty, 1 when put back,
 * else 0. */
static int
take_head(struct dir_purge *p, int *down)
{
	struct pending e;
	char why[256];
	pthread_mutex_lock(&p->mu);
	int have = p->n > 0;
	if (have) {
		e = p->q[p->head];
		p->head = (p->head + 1) % PURGE_QUEUE;
		p->n--;
	}
	pthread_mutex_unlock(&p->mu);
	if (!have)
		return -1;
	int64_t now = rt_mono_ms();
	if (now - e.since > p->give_up_ms) {
		rt_log_warn("web cache: gave up purging %s after CACHE_TTL "
			    "(nginx has dropped the entry itself)",
		    e.hex);
		return 0;
	}
	int due = e.due <= now, tried = due && !*down;
	int ok = tried && purge_once(p, p->h, e.hex, why, sizeof(why)) == 0;
	if (ok && e.failed)
		rt_log_info("web cache: purged %s on a retry", e.hex);
	*down |= tried && !ok;
	pthread_mutex_lock(&p->mu);
	if (tried)
		p->failing = !ok;
	if (!ok) {
		e.failed |= due;
		e.due = due ? now + PURGE_RETRY_MS : e.due;
		push_locked(p, &e);
	}
	pthread_mutex_unlock(&p->mu);
	return !ok;
}

static int
stopping(struct dir_purge *p)
{
	pthread_mutex_lock(&p->mu);
	int stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

/* Goes once through the queue, trying what is due, then sleeps until the
 * next retry or an enqueue; a close ends the pass at once. */
static void *
purge_thread(void *arg)
{
	struct dir_purge *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->n == 0)
			pthread_cond_wait(&p->cv, &p->mu);
		size_t count = p->n;
		uint64_t kicks = p->kicks;
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		uint64_t mine = 0;
		int down = 0;
		for (size_t k = 0; k < count && !stopping(p); k++) {
			int r = take_head(p, &down);
			if (r < 0)
				break;
			mine += (uint64_t)r;
		}
		struct timespec ts;
		rt_timespec_in(PURGE_RETRY_MS, &ts);
		pthread_mutex_lock(&p->mu);
		/* Our own put-backs count as kicks too: only others' wake us. */
		if (!p->stop && p->kicks - kicks <= mine)
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		pthread_mutex_unlock(&p->mu);
	}
}

struct dir_purge *
dir_purge_open(const char *base, const char *tls_ca, int64_t wait_ms,
    int64_t give_up_ms)
{
	struct dir_purge *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->base, sizeof(p->base), "%s", base ? base : "");
	size_t len = strlen(p->base);
	if (len > 0 && p->base[len - 1] == '/')
		p->base[len - 1] = '\0';
	p->tls_ca = tls_ca;
	p->wait_ms = wait_ms;
	p->give_up_ms = give_up_ms;
	pthread_mutex_init(&p->hmu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (p->base[0] == '\0')
		return p;
	/* Thread-safe in Debian's libcurl (>= 7.84); called once here, at
	 * start-up, before any purge. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (p->h = curl_easy_init()) == NULL ||
	    (p->hsync = curl_easy_init()) == NULL) {
		rt_log_error("web cache purge: libcurl would not start");
		dir_purge_close(p);
		return NULL;
	}
	if (pthread_create(&p->thr, NULL, purge_thread, p) != 0) {
		rt_log_error("web cache purge: cannot start its thread");
		dir_purge_close(p);
		return NULL;
	}
	p->started = 1;
	return p;
}

void
dir_purge_close(struct dir_purge *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thr, NULL);
	}
	size_t failed = 0;
	for (size_t i = 0; i < p->n; i++)
		failed += p->q[(p->head + i) % PURGE_QUEUE].failed;
	if (failed > 0)
		rt_log_warn("web cache: %zu failed purge(s) not retried at "
			    "shutdown (their entries expire within CACHE_TTL)",
		    failed);
	if (p->h != NULL) {
		curl_easy_cleanup(p->h);
		curl_easy_cleanup(p->hsync); /* NULL is fine */
		curl_global_cleanup();
	}
	pthread_mutex_destroy(&p->hmu);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void
dir_purge_photo(struct dir_purge *p, uint64_t key, uint32_t cookie)
{
	char hex[PHOTO_ID_HEX_LEN + 1], why[256];
	if (p == NULL || p->base[0] == '\0')
		return;
	photo_id_format(key, cookie, hex);
	pthread_mutex_lock(&p->mu);
	int failing = p->failing;
	pthread_mutex_unlock(&p->mu);
	if (failing) {
		push(p, hex, 0, 1);
		return;
	}
	pthread_mutex_lock(&p->hmu);
	int rc = purge_once(p, p->hsync, hex, why, sizeof(why));
	pthread_mutex_unlock(&p->hmu);
	if (rc == 0)
		return;
	rt_log_warn("web cache: cannot purge %s at %s (%s); retrying in the "
		    "background, for at most CACHE_TTL",
	    hex, p->base, why);
	pthread_mutex_lock(&p->mu);
	p->failing = 1;
	pthread_mutex_unlock(&p->mu);
	push(p, hex, PURGE_RETRY_MS, 1);
}

void
dir_purge_acked(struct dir_purge *p, const char *hex)
{
	if (p == NULL || p->base[0] == '\0')
		return;
	push(p, hex, 0, 0);
	push(p, hex, PURGE_LATE_MS, 0);
}
