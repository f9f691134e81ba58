/* The photo redirect (http_redirect.h). */
#include "http_redirect.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "http.h"
#include "photo_id.h"
#include "replica_order.h"

#define SKIP_MAX 1000u /* far past any replica count */

/* ?skip=N: 0 when absent; -1 when not a number up to SKIP_MAX. */
static long
parse_skip(struct rt_http_req *req)
{
	const char *s = rt_http_query(req, "skip");
	if (s == NULL)
		return 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v > SKIP_MAX)
		return -1;
	return (long)v;
}

/* 1 when this directory may not know an id the leader has committed: a
 * follower whose applied seq is below the change log's head it last read
 * (housekeeping.c). The leader applies every commit before answering it. */
static int
behind(struct dir *d)
{
	if (dir_is_leader(d, NULL, 0, NULL))
		return 0;
	pthread_mutex_lock(&d->mu);
	uint64_t head = d->head_seq;
	pthread_mutex_unlock(&d->mu);
	return dir_records_applied(d->recs) < head;
}

static void
unavailable(struct rt_http_req *req, const char *why)
{
	rt_http_add_header(req, "Retry-After", "1");
	rt_http_reply_text(req, 503, "%s", why);
}

/* The skip-th healthy replica of v in the photo's order into url (its
 * store's http_url, no trailing slash); the number of healthy ones. */
static size_t
pick(struct dir *d, const struct dir_rec_view *v, size_t skip, char *url,
    size_t len)
{
	uint32_t ids[DIR_MAX_REPLICAS];
	size_t n = v->rec.n_stores < DIR_MAX_REPLICAS ? v->rec.n_stores :
							DIR_MAX_REPLICAS;
	size_t healthy = 0;
	memcpy(ids, v->stores, n * sizeof(ids[0]));
	rt_replica_order(v->id.key, ids, n);
	for (size_t i = 0; i < n; i++) {
		struct dir_store s;
		if (dir_stores_get(d->stores, ids[i], &s) != 0 ||
		    (s.state != HS__STORE_STATE__STORE_UP &&
			s.state != HS__STORE_STATE__STORE_READONLY) ||
		    s.http_url[0] == '\0')
			continue;
		if (healthy++ != skip)
			continue;
		size_t ul = strlen(s.http_url);
		if (ul > 0 && s.http_url[ul - 1] == '/')
			s.http_url[ul - 1] = '\0';
		snprintf(url, len, "%s", s.http_url);
	}
	return healthy;
}

/* Answers a known, live photo: the redirect, or 503 for want of a store. */
static void
redirect(struct dir *d, struct rt_http_req *req, const struct dir_rec_view *v,
    size_t skip, const char *ext)
{
	char base[sizeof(((struct dir_store *)0)->http_url)] = "", loc[256],
					    hex[PHOTO_ID_HEX_LEN + 1],
					    count[16];
	size_t healthy = pick(d, v, skip, base, sizeof(base));
	snprintf(count, sizeof(count), "%zu", healthy);
	rt_http_add_header(req, "X-Hs-Replicas", count);
	if (skip >= healthy) {
		unavailable(req,
		    healthy == 0 ? "no healthy replica of this photo has a web "
				   "face now; retry shortly" :
				   "skip is past the healthy replicas "
				   "(X-Hs-Replicas)");
		return;
	}
	photo_id_format(v->id.key, v->id.cookie, hex);
	snprintf(loc, sizeof(loc), "%s/%s%s", base, hex, ext);
	rt_http_add_header(req, "Location", loc);
	rt_http_reply_text(req, 302, "%s", loc);
}

void
dir_http_redirect(void *arg, struct rt_http_req *req)
{
	struct dir *d = arg;
	char ext[PHOTO_EXT_MAX], why[256];
	uint64_t key;
	uint32_t cookie;
	struct dir_rec_view v;
	rt_http_add_header(req, "Cache-Control", "no-store");
	if (photo_path_parse(rt_http_path(req), &key, &cookie, ext, why,
		sizeof(why)) != 0) {
		rt_http_reply_text(req, 400, "%s", why);
		return;
	}
	long skip = parse_skip(req);
	if (skip < 0) {
		rt_http_reply_text(req, 400,
		    "skip must be a count of replicas to pass over, 0 to %u",
		    SKIP_MAX);
		return;
	}
	if (!atomic_load(&d->loaded)) {
		unavailable(req, "this directory is still loading its records");
		return;
	}
	if (dir_records_get(d->recs, key, &v) != 0) {
		if (behind(d))
			unavailable(req,
			    "this directory is catching up with "
			    "the change log");
		else
			rt_http_reply_text(req, 404, "no such photo");
		return;
	}
	/* A wrong cookie reads as unknown, so a guessed key learns nothing. */
	if (v.id.cookie != cookie ||
	    (v.rec.state != HS__PHOTO_STATE__PHOTO_ACTIVE &&
		v.rec.state != HS__PHOTO_STATE__PHOTO_DELETED))
		rt_http_reply_text(req, 404, "no such photo");
	else if (v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED)
		rt_http_reply_text(req, 410, "this photo was deleted");
	else
		redirect(d, req, &v, (size_t)skip, ext);
}
