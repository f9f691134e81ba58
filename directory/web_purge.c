/* Purging deleted photos from the web cache (see web_purge.h): one libcurl
 * handle under a mutex (its connection to nginx kept alive between
 * deletes), and a thread that retries failed purges once a second from a
 * bounded queue, oldest first. */
#include "web_purge.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"

/* Failed purges kept for retry; past this the oldest is dropped (its
 * entry still leaves nginx within CACHE_TTL). */
#define PURGE_QUEUE 4096
#define PURGE_RETRY_MS 1000

struct pending {
	char hex[PHOTO_ID_HEX_LEN + 1];
	int64_t since; /* monotonic: the delete's time */
};

struct dir_purge {
	char base[512]; /* "" = no web cache */
	const char *tls_ca;
	int64_t wait_ms, give_up_ms;
	pthread_mutex_t hmu; /* the handle */
	CURL *h;
	pthread_mutex_t mu; /* the queue and stop */
	pthread_cond_t cv;
	struct pending q[PURGE_QUEUE];
	size_t head, n;
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
purge_once(struct dir_purge *p, const char *hex, char *why, size_t whylen)
{
	char url[600];
	long code = 0;
	snprintf(url, sizeof(url), "%s/purge/%s", p->base, hex);
	pthread_mutex_lock(&p->hmu);
	CURL *h = p->h;
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
	pthread_mutex_unlock(&p->hmu);
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

/* Under p->mu. */
static void
enqueue_locked(struct dir_purge *p, const char *hex)
{
	if (p->n == PURGE_QUEUE) {
		rt_log_warn("web cache purge queue full: dropping the purge "
			    "of %s (its entry expires within CACHE_TTL)",
		    p->q[p->head].hex);
		p->head = (p->head + 1) % PURGE_QUEUE;
		p->n--;
	}
	struct pending *e = &p->q[(p->head + p->n) % PURGE_QUEUE];
	snprintf(e->hex, sizeof(e->hex), "%s", hex);
	e->since = rt_mono_ms();
	p->n++;
	pthread_cond_signal(&p->cv);
}

/* The oldest queued purge, tried; 1 when the queue moved on (done or
 * given up), 0 when it failed and the thread should wait. */
static int
retry_head(struct dir_purge *p)
{
	struct pending e;
	char why[256];
	pthread_mutex_lock(&p->mu);
	int have = p->n > 0;
	if (have)
		e = p->q[p->head];
	pthread_mutex_unlock(&p->mu);
	if (!have)
		return 0;
	int expired = rt_mono_ms() - e.since > p->give_up_ms;
	int ok = expired || purge_once(p, e.hex, why, sizeof(why)) == 0;
	if (expired)
		rt_log_warn("web cache: gave up purging %s after CACHE_TTL "
			    "(nginx has dropped the entry itself)",
		    e.hex);
	else if (ok)
		rt_log_info("web cache: purged %s on a retry", e.hex);
	pthread_mutex_lock(&p->mu);
	/* Only this thread pops; a full queue may have dropped e meanwhile. */
	if (ok && p->n > 0 && p->q[p->head].since == e.since &&
	    strcmp(p->q[p->head].hex, e.hex) == 0) {
		p->head = (p->head + 1) % PURGE_QUEUE;
		p->n--;
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static void *
retry_thread(void *arg)
{
	struct dir_purge *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->n == 0)
			pthread_cond_wait(&p->cv, &p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		if (retry_head(p))
			continue;
		struct timespec ts;
		rt_timespec_in(PURGE_RETRY_MS, &ts);
		pthread_mutex_lock(&p->mu);
		if (!p->stop)
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
	    (p->h = curl_easy_init()) == NULL) {
		rt_log_error("web cache purge: libcurl would not start");
		dir_purge_close(p);
		return NULL;
	}
	if (pthread_create(&p->thr, NULL, retry_thread, p) != 0) {
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
	if (p->n > 0)
		rt_log_warn("web cache: %zu purge(s) not done at shutdown "
			    "(their entries expire within CACHE_TTL)",
		    p->n);
	if (p->h != NULL) {
		curl_easy_cleanup(p->h);
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
	int behind = p->n > 0;
	if (behind)
		enqueue_locked(p, hex);
	pthread_mutex_unlock(&p->mu);
	if (behind || purge_once(p, hex, why, sizeof(why)) == 0)
		return;
	rt_log_warn("web cache: cannot purge %s at %s (%s); retrying in the "
		    "background, for at most CACHE_TTL",
	    hex, p->base, why);
	pthread_mutex_lock(&p->mu);
	enqueue_locked(p, hex);
	pthread_mutex_unlock(&p->mu);
}
