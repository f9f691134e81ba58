/* Stores serve photos over HTTP (issue 13 §1), on one cluster of real
 * processes (a directory and three stores) through the real curl: the
 * bytes and headers a browser or a cache relies on, HEAD, 304, ranges,
 * 400 / 404 / 410 for what is not served, a trimmed copy 404 where it was
 * trimmed only, a flipped byte a 500 and never the bytes, keep-alive,
 * hostile requests refused, and 503 while a store cannot know it is caught
 * up on deletes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster_run.h"
#include "curl.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "ident.h"
#include "key.h"
#include "log.h"
#include "repl_util.h"
#include "rpc.h"
#include "store.pb-c.h"

#define NSTORES 3

static struct test_cluster tc;
static hs_client *cl;

/* A photo the cases share: its id text, bytes and quoted SHA-256. */
struct photo {
	hs_photo_id id;
	char hex[HS_ID_HEX_LEN + 1];
	uint8_t *data;
	size_t len;
	char etag[67];
};

/* GET (or another method) of path at store index s. */
static void
req(const char *method, int s, const char *path, const char *const *extra,
    struct test_http_resp *r)
{
	char url[11000];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", tc.p_storehttp[s],
	    path);
	test_http(method, url, extra, r);
}

/* The status of GET path at s, for waits. */
static int
status_of(int s, const char *path)
{
	struct test_http_resp r;
	req("GET", s, path, NULL, &r);
	test_http_free(&r);
	return r.status;
}

/* The value of header name in r, or "" when absent. */
static const char *
hdr(const struct test_http_resp *r, const char *name)
{
	static char v[256];
	return test_http_header(r, name, v, sizeof(v)) ? v : "";
}

/* Uploads len bytes starting with magic on every store; returns once each
 * store serves it over HTTP (so it follows deletes up to now). */
static void
upload(struct photo *p, uint64_t seed, size_t len, const void *magic,
    size_t mlen)
{
	uint8_t sha[32];
	hs_error e;
	memset(p, 0, sizeof(*p));
	p->data = test_bytes(len, seed);
	p->len = len;
	memcpy(p->data, magic, mlen);
	CHECK_STATUS(hs_upload(cl, p->data, len, NSTORES, 30000, &p->id, &e),
	    HS_OK, e.message);
	hs_id_format(p->id, p->hex);
	hs_sha256(p->data, len, sha);
	p->etag[0] = '"';
	rt_hex_encode(sha, 32, p->etag + 1);
	strcpy(p->etag + 65, "\"");
	char path[64];
	snprintf(path, sizeof(path), "/%s", p->hex);
	for (int s = 0; s < NSTORES; s++)
		CHECK(CHECK_WAIT_UNTIL(status_of(s, path) == 200, 5000));
}

static const uint8_t jpeg_magic[] = { 0xff, 0xd8, 0xff, 0xe0 };
static const uint8_t png_magic[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
	'\n' };
static struct photo jpeg, png;

/* A 200 for p with the headers of a photo answer (type given). */
static int
is_photo_answer(const struct test_http_resp *r, const struct photo *p,
    const char *type)
{
	char len[32];
	snprintf(len, sizeof(len), "%zu", p->len);
	return r->status == 200 && strcmp(hdr(r, "Content-Type"), type) == 0 &&
	    strcmp(hdr(r, "ETag"), p->etag) == 0 &&
	    strcmp(hdr(r, "Cache-Control"),
		"public, max-age=31536000, immutable") == 0 &&
	    strcmp(hdr(r, "Accept-Ranges"), "bytes") == 0 &&
	    strcmp(hdr(r, "Content-Length"), len) == 0;
}

static void
test_photos_are_served_whole_with_their_headers(void)
{
	struct test_http_resp r;
	char path[64];
	upload(&jpeg, 1, 40000, jpeg_magic, sizeof(jpeg_magic));
	upload(&png, 2, 3000, png_magic, sizeof(png_magic));
	for (int s = 0; s < NSTORES; s++) {
		snprintf(path, sizeof(path), "/%s", jpeg.hex);
		req("GET", s, path, NULL, &r);
		CHECK(is_photo_answer(&r, &jpeg, "image/jpeg"));
		CHECK(r.len == jpeg.len &&
		    memcmp(r.body, jpeg.data, jpeg.len) == 0);
		test_http_free(&r);
		/* An extension is accepted and ignored. */
		snprintf(path, sizeof(path), "/%s.png", png.hex);
		req("GET", s, path, NULL, &r);
		CHECK(is_photo_answer(&r, &png, "image/png"));
		CHECK(
		    r.len == png.len && memcmp(r.body, png.data, png.len) == 0);
		test_http_free(&r);
		/* HEAD: the same headers, no body. */
		snprintf(path, sizeof(path), "/%s.jpg", jpeg.hex);
		req("HEAD", s, path, NULL, &r);
		CHECK(is_photo_answer(&r, &jpeg, "image/jpeg"));
		CHECK_EQ(r.len, 0);
		test_http_free(&r);
	}
}

static void
test_if_none_match_is_a_304_without_a_body(void)
{
	struct test_http_resp r;
	char path[64], inm[200];
	snprintf(path, sizeof(path), "/%s.jpg", jpeg.hex);
	const char *forms[] = { "%s", "\"x\", W/%s", "*" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(inm, sizeof(inm), "If-None-Match: ");
		snprintf(inm + 15, sizeof(inm) - 15, forms[i], jpeg.etag);
		const char *extra[] = { inm, NULL };
		req("GET", 0, path, extra, &r);
		CHECK_EQ(r.status, 304);
		CHECK_EQ(r.len, 0);
		CHECK(strcmp(hdr(&r, "ETag"), jpeg.etag) == 0);
		test_http_free(&r);
	}
	const char *other[] = { "If-None-Match: \"another\"", NULL };
	req("GET", 0, path, other, &r);
	CHECK(is_photo_answer(&r, &jpeg, "image/jpeg"));
	test_http_free(&r);
}

/* A 206 of jpeg[first, last] for Range value range at store s. */
static void
check_206(int s, const char *range, size_t first, size_t last)
{
	struct test_http_resp r;
	char path[64], h[128], cr[96];
	snprintf(path, sizeof(path), "/%s", jpeg.hex);
	snprintf(h, sizeof(h), "Range: %s", range);
	snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", first, last, jpeg.len);
	const char *extra[] = { h, NULL };
	req("GET", s, path, extra, &r);
	CHECK_MSG(r.status == 206, "Range %s: status %d", range, r.status);
	CHECK_MSG(strcmp(hdr(&r, "Content-Range"), cr) == 0,
	    "Range %s: Content-Range '%s', want '%s'", range,
	    hdr(&r, "Content-Range"), cr);
	CHECK(strcmp(hdr(&r, "ETag"), jpeg.etag) == 0);
	CHECK(r.len == last - first + 1 &&
	    memcmp(r.body, jpeg.data + first, r.len) == 0);
	test_http_free(&r);
}

static void
test_ranges_are_206_and_past_the_end_416(void)
{
	struct test_http_resp r;
	char path[64], cr[64];
	check_206(0, "bytes=0-99", 0, 99);
	check_206(1, "bytes=39000-", 39000, jpeg.len - 1);
	check_206(2, "bytes=-500", jpeg.len - 500, jpeg.len - 1);
	check_206(0, "bytes=100-999999", 100, jpeg.len - 1);
	snprintf(path, sizeof(path), "/%s", jpeg.hex);
	snprintf(cr, sizeof(cr), "bytes */%zu", jpeg.len);
	const char *past[] = { "Range: bytes=40000-", NULL };
	req("GET", 0, path, past, &r);
	CHECK_EQ(r.status, 416);
	CHECK(strcmp(hdr(&r, "Content-Range"), cr) == 0);
	test_http_free(&r);
	/* Several ranges: the whole photo (RFC 9110 allows it). */
	const char *several[] = { "Range: bytes=0-1,5-6", NULL };
	req("GET", 0, path, several, &r);
	CHECK(is_photo_answer(&r, &jpeg, "image/jpeg"));
	CHECK(r.len == jpeg.len && memcmp(r.body, jpeg.data, jpeg.len) == 0);
	test_http_free(&r);
}

static void
test_bad_unknown_and_wrong_cookie_ids(void)
{
	char path[64];
	const char *bad[] = { "/", "/abc", "/0123456789abcdef0123456",
		"/0123456789abcdef0123456g", "/0123456789abcdef01234567x",
		"/0123456789abcdef01234567.", "/0123456789abcdef01234567.j/g",
		"/0123456789abcdef01234567.jpeg.jpg" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(status_of(0, bad[i]) == 400, "%s: %d", bad[i],
		    status_of(0, bad[i]));
	/* A key nobody wrote, and a real key with another cookie. */
	CHECK_EQ(status_of(0, "/7fffffffffff0001deadbeef"), 404);
	hs_photo_id wrong = { jpeg.id.key, jpeg.id.cookie ^ 1 };
	path[0] = '/';
	hs_id_format(wrong, path + 1);
	for (int s = 0; s < NSTORES; s++)
		CHECK_EQ(status_of(s, path), 404);
}

/* A store Delete of kind for p at store index s, as the directory. */
static void
store_delete(int s, const struct photo *p, Hs__DeleteKind kind)
{
	Hs__StoreDeleteRequest q = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	ProtobufCMessage *m = NULL;
	char who[600];
	id.key = p->id.key;
	id.cookie = p->id.cookie;
	q.id = &id;
	q.kind = kind;
	test_identity(who, sizeof(who), tc.keyfile, RT_DIRECTORY_PRINCIPAL);
	CHECK_EQ(test_rpc_call(tc.p_store[s], who, &hs__store__descriptor,
		     "Delete", &q.base, &m, 5000, NULL),
	    HS_OK);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void
test_deleted_is_410_everywhere_trimmed_404_there_only(void)
{
	struct photo del, trim;
	char path[64], wrong[64];
	hs_error e;
	upload(&del, 3, 2000, jpeg_magic, sizeof(jpeg_magic));
	upload(&trim, 4, 2000, jpeg_magic, sizeof(jpeg_magic));
	CHECK_STATUS(hs_delete(cl, del.id, 10000, &e), HS_OK, e.message);
	snprintf(path, sizeof(path), "/%s.jpg", del.hex);
	for (int s = 0; s < NSTORES; s++)
		CHECK_MSG(CHECK_WAIT_UNTIL(status_of(s, path) == 410, 5000),
		    "store %d: %d", s + 1, status_of(s, path));
	/* Gone is said only to whoever knows the cookie. */
	hs_photo_id w = { del.id.key, del.id.cookie + 1 };
	wrong[0] = '/';
	hs_id_format(w, wrong + 1);
	CHECK_EQ(status_of(0, wrong), 404);
	/* A trimmed copy: the photo lives on elsewhere. */
	store_delete(1, &trim, HS__DELETE_KIND__DELETE_KIND_TRIM);
	snprintf(path, sizeof(path), "/%s", trim.hex);
	CHECK_EQ(status_of(1, path), 404);
	CHECK_EQ(status_of(0, path), 200);
	CHECK_EQ(status_of(2, path), 200);
	free(del.data);
	free(trim.data);
}

/* The store's count of corrupt needles (Stats). */
static uint64_t
corrupt_at(int s)
{
	Hs__StoreStatsRequest q = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	uint64_t n = 0;
	if (test_rpc_call(tc.p_store[s], tc.keyfile, &hs__store__descriptor,
		"Stats", &q.base, &m, 2000, NULL) == HS_OK)
		n = ((Hs__StoreStatsReply *)m)->corrupt;
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return n;
}

static void
test_a_flipped_byte_is_a_500_never_the_bytes(void)
{
	struct photo bad;
	struct test_http_resp r;
	char path[64];
	upload(&bad, 5, 5000, png_magic, sizeof(png_magic));
	uint64_t before = corrupt_at(0);
	struct tphoto tp = { .data = bad.data, .len = bad.len };
	CHECK(tr_corrupt(&tc, &tp, 1) == 0); /* store index 0 */
	snprintf(path, sizeof(path), "/%s", bad.hex);
	req("GET", 0, path, NULL, &r);
	CHECK_EQ(r.status, 500);
	CHECK(r.len < 1000 && strstr(r.body, "checksum") != NULL);
	test_http_free(&r);
	const char *range[] = { "Range: bytes=0-9", NULL };
	req("GET", 0, path, range, &r);
	CHECK_EQ(r.status, 500);
	test_http_free(&r);
	CHECK(corrupt_at(0) > before);
	/* The store goes on serving its other photos; the other copies of
	 * this one are intact. */
	snprintf(path, sizeof(path), "/%s", jpeg.hex);
	CHECK_EQ(status_of(0, path), 200);
	snprintf(path, sizeof(path), "/%s", bad.hex);
	CHECK_EQ(status_of(1, path), 200);
	free(bad.data);
}

static void
test_connections_are_kept_alive(void)
{
	char cmd[600], line[512];
	snprintf(cmd, sizeof(cmd),
	    "curl -sv -o /dev/null -o /dev/null http://127.0.0.1:%d/%s "
	    "http://127.0.0.1:%d/%s.png 2>&1",
	    tc.p_storehttp[0], jpeg.hex, tc.p_storehttp[0], png.hex);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	int reused = 0, oks = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		reused |= strstr(line, "Re-using existing connection") != NULL;
		oks += strncmp(line, "< HTTP/1.1 200", 14) == 0;
	}
	pclose(f);
	printf("  %d answers, connection re-used: %d\n", oks, reused);
	CHECK_EQ(oks, 2);
	CHECK(reused);
}

/* A malloc'd string of len characters: prefix, then fill. */
static char *
filled(const char *prefix, char fill, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	memset(s, fill, len);
	memcpy(s, prefix, strlen(prefix));
	s[len] = '\0';
	return s;
}

static void
test_hostile_requests_get_errors_not_a_crash(void)
{
	struct test_http_resp r;
	char path[64];
	snprintf(path, sizeof(path), "/%s", jpeg.hex);
	/* Numbers past 64 bits, and a 10 KB Range of them. */
	const char *huge[] = { "Range: bytes=99999999999999999999999999-",
		NULL };
	req("GET", 0, path, huge, &r);
	CHECK_EQ(r.status, 416);
	test_http_free(&r);
	char *big = filled("Range: bytes=", '9', 10 * 1024);
	big[10 * 1024 - 1] = '-';
	const char *ten[] = { big, NULL };
	req("GET", 0, path, ten, &r);
	CHECK_EQ(r.status, 416);
	test_http_free(&r);
	/* A header past the server's memory for one request. */
	char *huge_hdr = filled("X-Big: ", 'a', 100 * 1024);
	const char *hx[] = { huge_hdr, NULL };
	req("GET", 0, path, hx, &r);
	int st = r.status;
	test_http_free(&r);
	/* A 10 KB path. */
	char *lp = filled("/", 'a', 10 * 1024);
	int lst = status_of(0, lp);
	free(big);
	free(huge_hdr);
	free(lp);
	printf("  100 KB header: %d, 10 KB path: %d\n", st, lst);
	CHECK(st == 0 || st >= 400);
	CHECK(lst == 400 || lst == 414 || lst == 431);
	CHECK(test_proc_alive(&tc.stores[0]));
	CHECK_EQ(status_of(0, path), 200);
}

/* Last: it stops the directory. */
static void
test_a_store_not_caught_up_on_deletes_answers_503(void)
{
	struct test_http_resp r;
	char path[64];
	snprintf(path, sizeof(path), "/%s", png.hex);
	test_proc_stop(&tc.dirs[0]);
	/* No heartbeat answered within the lease: no word of new deletes. */
	int got = CHECK_WAIT_UNTIL(status_of(0, path) == 503, 5000);
	req("GET", 0, path, NULL, &r);
	test_proc_cont(&tc.dirs[0]);
	CHECK(got);
	CHECK_EQ(r.status, 503);
	CHECK(strcmp(hdr(&r, "Retry-After"), "1") == 0);
	CHECK(r.len > 0 && r.len < 1000);
	test_http_free(&r);
	CHECK(CHECK_WAIT_UNTIL(status_of(0, path) == 200, 5000));
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "photos are served whole with their headers",
		    test_photos_are_served_whole_with_their_headers },
		{ "If-None-Match is a 304 without a body",
		    test_if_none_match_is_a_304_without_a_body },
		{ "ranges are 206 and past the end 416",
		    test_ranges_are_206_and_past_the_end_416 },
		{ "bad, unknown and wrong-cookie ids",
		    test_bad_unknown_and_wrong_cookie_ids },
		{ "deleted is 410 everywhere, trimmed 404 there only",
		    test_deleted_is_410_everywhere_trimmed_404_there_only },
		{ "a flipped byte is a 500, never the bytes",
		    test_a_flipped_byte_is_a_500_never_the_bytes },
		{ "connections are kept alive",
		    test_connections_are_kept_alive },
		{ "hostile requests get errors, not a crash",
		    test_hostile_requests_get_errors_not_a_crash },
		{ "a store not caught up on deletes answers 503",
		    test_a_store_not_caught_up_on_deletes_answers_503 },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .ndirs = 1, .nstores = NSTORES };
	rt_log_init("http_photo_test", 'T');
	if (test_cluster_up(&tc, &o, &cl) != 0)
		return 1;
	int rc = test_cluster_run(&tc, cl, cases, argc, argv);
	free(jpeg.data);
	free(png.data);
	return rc;
}
