/* The soak's web paths (chaos_impl.h): a thread reads photos through the
 * nginx photo cache over HTTP while the faults run, checking every byte of
 * live photos and that a deleted photo stops being served within the
 * purge bound; the final check asks the cache and every store's HTTP face
 * for every photo. libcurl, one kept connection per thread. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "chaos_impl.h"
#include "clock.h"

#define WEB_GAP_MS 30
#define WEB_CALL_MS 5000
/* A deleted photo the cache still serves this long after its delete was
 * acknowledged is a failure. The directory purges before it answers; a
 * purge that met a paused or dead nginx is retried, and a fault holds a
 * process for at most a few seconds (chaos_fault.c). */
#define WEB_PURGE_BOUND_MS 15000

struct body {
	EVP_MD_CTX *md;
	size_t len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	EVP_DigestUpdate(b->md, p, size * n);
	b->len += size * n;
	return size * n;
}

/* GET url through h and classify the answer against photo p (CHAOS_R_*):
 * 404 and 410 refuse, 200 with p's bytes serves it. */
static int
web_read(CURL *h, const char *url, const struct chaos_photo *p, long *status)
{
	struct body b = { EVP_MD_CTX_new(), 0 };
	uint8_t sha[32];
	unsigned shalen = 0;
	*status = 0;
	if (b.md == NULL || !EVP_DigestInit_ex(b.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(b.md);
		return CHAOS_R_ERROR;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)WEB_CALL_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(h);
	EVP_DigestFinal_ex(b.md, sha, &shalen);
	EVP_MD_CTX_free(b.md);
	if (rc != CURLE_OK)
		return CHAOS_R_ERROR;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (*status == 404 || *status == 410)
		return CHAOS_R_NOT_FOUND;
	if (*status != 200)
		return CHAOS_R_ERROR;
	return b.len == p->len && memcmp(sha, p->sha, 32) == 0 ? CHAOS_R_GOOD :
								 CHAOS_R_WRONG;
}

static void
cache_url(const struct chaos *x, const struct chaos_photo *p, char *url,
    size_t len)
{
	char hex[HS_ID_HEX_LEN + 1];
	hs_id_format(p->id, hex);
	snprintf(url, len, "http://127.0.0.1:%d/%s", x->c.p_web, hex);
}

/* A live or deleted photo at random (a copy), or 0 when none yet. */
static int
pick_settled(struct chaos *x, struct chaos_photo *out)
{
	int found = 0;
	pthread_mutex_lock(&x->mu);
	for (int tries = 0; tries < 20 && x->nph > 0 && !found; tries++) {
		size_t i = chaos_rand(&x->wrng) % x->nph;
		found = x->ph[i].state != CP_UNSURE;
		*out = x->ph[i];
	}
	pthread_mutex_unlock(&x->mu);
	return found;
}

static void
web_once(struct chaos *x, CURL *h)
{
	struct chaos_photo p;
	char url[128], hex[HS_ID_HEX_LEN + 1];
	long status;
	if (!pick_settled(x, &p))
		return;
	cache_url(x, &p, url, sizeof(url));
	hs_id_format(p.id, hex);
	int r = web_read(h, url, &p, &status);
	int64_t since = rt_mono_ms() - p.deleted_ms;
	pthread_mutex_lock(&x->mu);
	if (p.state == CP_LIVE && r == CHAOS_R_GOOD)
		x->web_ok++;
	else if (p.state == CP_LIVE && r != CHAOS_R_WRONG)
		x->web_fail++;
	else if (r == CHAOS_R_WRONG) {
		x->bad_reads++;
		fprintf(stderr,
		    "chaos: the web cache served WRONG bytes "
		    "for %s\n",
		    hex);
	} else if (p.state == CP_DELETED && r == CHAOS_R_GOOD &&
	    since > WEB_PURGE_BOUND_MS) {
		x->web_late++;
		fprintf(stderr,
		    "chaos: the web cache served %s %.1fs after its "
		    "delete was acknowledged\n",
		    hex, (double)since / 1000);
	}
	pthread_mutex_unlock(&x->mu);
}

void *
chaos_web_main(void *arg)
{
	struct chaos *x = arg;
	CURL *h = x->c.has_nginx ? curl_easy_init() : NULL;
	while (h != NULL && !atomic_load(&x->stop)) {
		web_once(x, h);
		rt_sleep_ms(WEB_GAP_MS);
	}
	curl_easy_cleanup(h);
	return NULL;
}

void
chaos_web_check_live(struct chaos *x, const struct chaos_photo *p, int verbose,
    struct chaos_tally *t)
{
	char url[128];
	long status;
	CURL *h = x->web_handle;
	if (!x->c.has_nginx)
		return;
	cache_url(x, p, url, sizeof(url));
	int r = h != NULL ? web_read(h, url, p, &status) : CHAOS_R_ERROR;
	if (r == CHAOS_R_GOOD)
		return;
	t->web_lost++;
	if (verbose && t->web_lost <= 20)
		printf("chaos: LOST on the web: %s answers %ld%s\n", url,
		    status, r == CHAOS_R_WRONG ? " with WRONG bytes" : "");
}

void
chaos_web_check_deleted(struct chaos *x, const struct chaos_photo *p,
    int verbose, struct chaos_tally *t)
{
	char url[128], path[64], hex[HS_ID_HEX_LEN + 1], why[32];
	long status = 0;
	CURL *h = x->web_handle;
	hs_id_format(p->id, hex);
	if (x->c.has_nginx) {
		cache_url(x, p, url, sizeof(url));
		int r = h != NULL ? web_read(h, url, p, &status) :
				    CHAOS_R_ERROR;
		snprintf(why, sizeof(why), "(HTTP %ld)", status);
		chaos_deleted_path(t, verbose, hex, "the web cache", r, why);
	}
	for (int s = 0; s < x->c.nstores; s++) {
		snprintf(url, sizeof(url), "http://%s:%d/%s", x->c.ip_store[s],
		    x->c.p_storehttp[s], hex);
		int r = h != NULL ? web_read(h, url, p, &status) :
				    CHAOS_R_ERROR;
		snprintf(path, sizeof(path), "store-%d's HTTP", s + 1);
		snprintf(why, sizeof(why), "(HTTP %ld)", status);
		chaos_deleted_path(t, verbose, hex, path, r, why);
	}
}
