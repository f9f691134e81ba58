/* runtime/http: routes, headers, HEAD, refused methods and bad addresses,
 * through the real curl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "curl.h"
#include "env.h"
#include "http.h"

static void
hello(void *arg, struct rt_http_req *req)
{
	const char *who = rt_http_query(req, "who");
	const char *tag = rt_http_header(req, "X-Tag");
	rt_http_add_header(req, "X-Echo", tag ? tag : "none");
	rt_http_reply_text(req, 200, "%s %s", (const char *)arg,
	    who ? who : "world");
}

static void
prefix(void *arg, struct rt_http_req *req)
{
	(void)arg;
	static const char body[] = "under";
	rt_http_reply(req, 200, "application/octet-stream", body,
	    sizeof(body) - 1, NULL, NULL);
}

static void
silent(void *arg, struct rt_http_req *req)
{
	(void)arg;
	(void)req;
}

static struct rt_http *
start(char *base, size_t len)
{
	static const struct rt_http_route routes[] = {
		{ "/hello", hello, "hi" },
		{ "/silent", silent, NULL },
		{ "/p/*", prefix, NULL },
	};
	char listen[64], err[256];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", test_free_port());
	struct rt_http_opts o = { .listen = listen,
		.routes = routes,
		.nroutes = 3,
		.name = "test" };
	struct rt_http *h = rt_http_start(&o, err, sizeof(err));
	if (h == NULL)
		fprintf(stderr, "%s\n", err);
	snprintf(base, len, "http://%s", listen);
	return h;
}

/* method on base + path through curl, with the extra headers hdr, into
 * *r: its status, 0 when curl reached nothing. */
static int
ask(const char *method, const char *base, const char *path,
    const char *const *hdr, struct test_http_resp *r)
{
	char url[256];
	snprintf(url, sizeof(url), "%s%s", base, path);
	return test_http(method, url, hdr, r) == 0 ? r->status : 0;
}

static void
test_routes(void)
{
	char base[96], v[64];
	struct rt_http *h = start(base, sizeof(base));
	CHECK(h != NULL);
	struct test_http_resp r;
	const char *hdr[] = { "X-Tag: seven", NULL };
	CHECK_EQ(ask("GET", base, "/hello?who=you", hdr, &r), 200);
	CHECK(strcmp(r.body, "hi you\n") == 0);
	CHECK(test_http_header(&r, "x-echo", v, sizeof(v)) != NULL);
	CHECK(strcmp(v, "seven") == 0);
	test_http_free(&r);

	CHECK_EQ(ask("HEAD", base, "/hello?who=you", NULL, &r), 200);
	CHECK_EQ(r.len, 0);
	CHECK(test_http_header(&r, "Content-Length", v, sizeof(v)) != NULL);
	CHECK(strcmp(v, "7") == 0);
	test_http_free(&r);

	CHECK_EQ(ask("GET", base, "/p/any/thing", NULL, &r), 200);
	CHECK(r.len == 5 && memcmp(r.body, "under", 5) == 0);
	test_http_free(&r);

	CHECK_EQ(ask("GET", base, "/nothing", NULL, &r), 404);
	test_http_free(&r);

	CHECK_EQ(ask("DELETE", base, "/hello", NULL, &r), 405);
	CHECK(test_http_header(&r, "Allow", v, sizeof(v)) != NULL);
	test_http_free(&r);

	/* A handler that forgets to answer still answers, and the server
	 * keeps serving. */
	CHECK_EQ(ask("GET", base, "/silent", NULL, &r), 500);
	test_http_free(&r);
	CHECK_EQ(ask("GET", base, "/hello", NULL, &r), 200);
	test_http_free(&r);
	rt_http_stop(h);
}

/* Two requests on one connection: answering before the (empty) body is
 * read made the server close every connection after one reply. */
static void
test_keep_alive(void)
{
	char base[96], cmd[512], line[512];
	struct rt_http *h = start(base, sizeof(base));
	CHECK(h != NULL);
	snprintf(cmd, sizeof(cmd),
	    "curl -sv -o /dev/null -o /dev/null %s/hello %s/hello 2>&1", base,
	    base);
	FILE *p = popen(cmd, "r");
	int reused = 0, closed = 0;
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		reused |= strstr(line, "Re-using existing connection") != NULL;
		closed |= strstr(line, "Connection: close") != NULL;
	}
	if (p != NULL)
		pclose(p);
	rt_http_stop(h);
	CHECK_MSG(reused && !closed,
	    "the second request did not reuse the "
	    "connection");
}

/* curl's status code for a request with a body; 0 when none came back
 * within 5 s. */
static int
with_body(const char *method, const char *url)
{
	char cmd[512], out[16] = "";
	snprintf(cmd, sizeof(cmd),
	    "curl -s -o /dev/null -w '%%{http_code}' --max-time 5 -X %s "
	    "-d some-body %s",
	    method, url);
	FILE *p = popen(cmd, "r");
	if (p != NULL && fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	if (p != NULL)
		pclose(p);
	return atoi(out);
}

/* A body is refused at once, whatever the method, and the server goes on
 * serving: a refusal queued while a body was still coming was dropped,
 * and the client waited out the idle timeout. */
static void
test_bodies_refused(void)
{
	char base[96], url[160];
	struct test_http_resp r;
	struct rt_http *h = start(base, sizeof(base));
	CHECK(h != NULL);
	snprintf(url, sizeof(url), "%s/hello", base);
	int post = with_body("POST", url), get = with_body("GET", url);
	int again = ask("GET", base, "/hello", NULL, &r);
	rt_http_stop(h);
	CHECK_EQ(post, 405);
	CHECK_EQ(get, 400);
	CHECK_EQ(again, 200);
	test_http_free(&r);
}

static void
test_bad_address(void)
{
	char err[256];
	struct rt_http_opts o = { .listen = "no-port-here" };
	CHECK(rt_http_start(&o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "HOST:PORT") != NULL);
	o.listen = "127.0.0.1:1";
	o.cert = "/nonexistent.pem";
	CHECK(rt_http_start(&o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent.pem") != NULL);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "routes, headers, HEAD, 404, 405, unanswered", test_routes },
		{ "keep-alive", test_keep_alive },
		{ "bodies refused at once", test_bodies_refused },
		{ "bad address or certificate", test_bad_address },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
