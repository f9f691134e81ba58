/* GET and HEAD of a photo (http_photo.h). The body is the engine's read
 * buffer itself, freed by the server once sent: no copy, and no sendfile,
 * which would send bytes nobody checked. */
#include "http_photo.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_stats.h"
#include "delete_follow.h"
#include "http_photo_hdr.h"
#include "key.h"
#include "photo_id.h"
#include "store.h"

/* A photo's bytes never change under its id (a new photo is a new id). */
#define IMMUTABLE "public, max-age=31536000, immutable"
/* Photo bytes held by answers not yet sent, at most (one answer always
 * goes out): slow readers of big photos cannot hold a store's memory. */
#define INFLIGHT_MAX (256u << 20)

/* A read on its way out: the buffer and the store whose budget it uses. */
struct photo_body {
	struct store_read rd; /* first: serve() takes it as a store_read */
	struct store_service *svc;
	size_t held; /* bytes counted in svc->http_inflight */
};

/* The server's done callback: the read buffer and its holder. */
static void
read_done(void *arg)
{
	struct photo_body *b = arg;
	atomic_fetch_sub(&b->svc->http_inflight, b->held);
	store_read_free(&b->rd);
	free(b);
}

/* The quoted hex SHA-256 of the photo: the v2 needle's own, or for a v1
 * needle computed from the bytes the CRC just checked. */
static void
etag_of(const struct store_read *rd, char out[2 + 64 + 1])
{
	uint8_t sha[32];
	const uint8_t *s = rd->sha256;
	if (!rd->has_sha256)
		s = SHA256(rd->data, rd->len, sha);
	out[0] = '"';
	rt_hex_encode(s, 32, out + 1);
	out[65] = '"';
	out[66] = '\0';
}

/* Answers with the photo in rd (which the answer takes): 304, 206, 416
 * or 200. */
static void
serve(struct rt_http_req *req, struct store_read *rd)
{
	char etag[67], cr[96];
	uint64_t a = 0, b = 0;
	etag_of(rd, etag);
	rt_http_add_header(req, "Accept-Ranges", "bytes");
	if (photo_etag_match(rt_http_header(req, "If-None-Match"), etag)) {
		rt_http_add_header(req, "ETag", etag);
		rt_http_add_header(req, "Cache-Control", IMMUTABLE);
		read_done(rd);
		rt_http_reply(req, 304, NULL, NULL, 0, NULL, NULL);
		return;
	}
	/* An If-Range naming anything but this photo (another tag, a date:
	 * we send no Last-Modified) asks for the whole of it. */
	const char *ifr = rt_http_header(req, "If-Range");
	enum photo_range r = ifr != NULL && strcmp(ifr, etag) != 0 ?
	    PHOTO_RANGE_NONE :
	    photo_range_parse(rt_http_header(req, "Range"), rd->len, &a, &b);
	if (r == PHOTO_RANGE_UNSATISFIABLE) {
		snprintf(cr, sizeof(cr), "bytes */%zu", rd->len);
		rt_http_add_header(req, "Content-Range", cr);
		read_done(rd);
		rt_http_reply_text(req, 416,
		    "the range asked for starts past the photo's %s bytes",
		    cr + 8);
		return;
	}
	rt_http_add_header(req, "ETag", etag);
	rt_http_add_header(req, "Cache-Control", IMMUTABLE);
	const char *type = photo_content_type(rd->data, rd->len);
	if (r == PHOTO_RANGE_ONE) {
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%zu", a,
		    b, rd->len);
		rt_http_add_header(req, "Content-Range", cr);
		rt_http_reply(req, 206, type, rd->data + a, (size_t)(b - a + 1),
		    read_done, rd);
		return;
	}
	rt_http_reply(req, 200, type, rd->data, rd->len, read_done, rd);
}

/* Answers a read the engine refused (rc) for the photo named idtxt. */
static void
not_served(struct store_service *svc, struct rt_http_req *req, uint64_t key,
    uint32_t cookie, int rc, const char *idtxt)
{
	struct store_needle_info in;
	char why[128];
	if (rc == STORE_E_NOT_FOUND) {
		/* Only a delete by its owner is final; a trimmed or orphaned
		 * copy here says nothing of the photo's other copies. */
		if (store_engine_stat_deleted(svc->engine, key, &in) == 0 &&
		    in.cookie == cookie &&
		    (in.delete_kind == STORE_DEL_DELETE ||
			in.delete_kind == STORE_DEL_UNKNOWN))
			rt_http_reply_text(req, 410, "photo %s was deleted",
			    idtxt);
		else
			rt_http_reply_text(req, 404, "%s has no photo %s",
			    svc->name, idtxt);
		return;
	}
	if (rc == STORE_E_DATA_LOSS) {
		atomic_fetch_add(&svc->corrupt, 1);
		store_report_corruption(svc, key, cookie,
		    "CRC mismatch on an HTTP read");
		rt_http_reply_text(req, 500,
		    "%s: photo %s failed its checksum here; read it from "
		    "another store",
		    svc->name, idtxt);
		return;
	}
	store_status_from_engine(rc, why, sizeof(why));
	rt_http_reply_text(req, 500,
	    "%s: cannot read photo %s: %s; read it from another store",
	    svc->name, idtxt, why);
}

void
store_http_photo(void *arg, struct rt_http_req *req)
{
	struct store_service *svc = arg;
	char why[256], idtxt[PHOTO_ID_HEX_LEN + 1];
	uint64_t key;
	uint32_t cookie;
	if (photo_path_parse(rt_http_path(req), &key, &cookie, NULL, why,
		sizeof(why))) {
		rt_http_reply_text(req, 400, "%s", why);
		return;
	}
	photo_id_format(key, cookie, idtxt);
	/* No Lookup stands behind this read: served only while every
	 * published delete is applied here (as a Read by hint). */
	if (!delete_follow_may_serve(svc->follow, why, sizeof(why))) {
		rt_http_add_header(req, "Retry-After", "1");
		rt_http_reply_text(req, 503,
		    "%s cannot serve photos now: %s; try another store",
		    svc->name, why);
		return;
	}
	if (atomic_load(&svc->http_inflight) > INFLIGHT_MAX) {
		rt_http_add_header(req, "Retry-After", "1");
		rt_http_reply_text(req, 503,
		    "%s has %u MiB of photos waiting for slow readers; try "
		    "another store",
		    svc->name, INFLIGHT_MAX >> 20);
		return;
	}
	struct photo_body *b = calloc(1, sizeof(*b));
	int rc = b ? store_engine_read(svc->engine, key, cookie, &b->rd) :
		     -ENOMEM;
	if (rc != 0) {
		free(b);
		not_served(svc, req, key, cookie, rc, idtxt);
		return;
	}
	b->svc = svc;
	b->held = b->rd.len;
	atomic_fetch_add(&svc->http_inflight, b->held);
	struct store_read *rd = &b->rd;
	atomic_fetch_add(&svc->reads, 1);
	access_stats_count(svc->access, key, cookie);
	serve(req, rd);
}
