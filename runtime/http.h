/* HTTP/1.1 for every service's web face (photos, redirects, /metrics, the
 * status page) on Debian's libmicrohttpd: it parses requests and keeps
 * connections alive; this file routes a request to a handler by its path
 * and gives handlers a small way to answer. Handlers run on the server's
 * own threads (a few, set at start) and may block briefly (one disk read).
 * With a certificate the server speaks https only (docs/web.md). */
#ifndef RT_HTTP_H
#define RT_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* The option-table row every service has (runtime/cfg.h): the field http
 * (const char *) of its config struct. */
#define RT_HTTP_CFG_ROW                                                        \
	RT_CFG_FIELD(NULL, "http", RT_CFG_STRING, http, 0, 0, "",              \
	    "web face address HOST:PORT (/health, /metrics, ...; https "       \
	    "with --tls-cert; empty: none)")

struct rt_http;	    /* a running server */
struct rt_http_req; /* one request, valid during its handler's call only */

/* Answers req: exactly one rt_http_reply* call per request. */
typedef void (*rt_http_handler)(void *arg, struct rt_http_req *req);

struct rt_http_route {
	/* "/metrics" matches that path only; a path ending in a star
	 * matches every path that starts with what comes before the star
	 * (so "/" and a star: every path). First match wins. */
	const char *path;
	rt_http_handler fn;
	void *arg;
};

struct rt_http_opts {
	const char *listen; /* "HOST:PORT" (HOST a name or IPv4 address) */
	const struct rt_http_route *routes; /* copied */
	size_t nroutes;
	int threads;	  /* 0 = 2 */
	int max_conns;	  /* 0 = 1024 */
	int idle_s;	  /* an idle connection is closed after; 0 = 60 */
	const char *cert; /* PEM certificate and key (HS_TLS_CERT): https */
	const char *name; /* for log lines, e.g. "store-1" */
};

/* Binds and starts serving. NULL with a message for people in err (the
 * port in use, a bad address, an unreadable certificate). */
struct rt_http *rt_http_start(const struct rt_http_opts *o, char *err,
    size_t errlen);
/* Stops accepting, ends every connection and waits for the threads;
 * handlers in flight finish first. NULL is fine. */
void rt_http_stop(struct rt_http *h);

/* The request. */
const char *rt_http_method(const struct rt_http_req *req); /* "GET" */
const char *rt_http_path(const struct rt_http_req *req);   /* "/abc.jpg" */
int rt_http_is_head(const struct rt_http_req *req);
/* A request header's value (case-insensitive name), or NULL. */
const char *rt_http_header(const struct rt_http_req *req, const char *name);
/* A query argument's value, or NULL. */
const char *rt_http_query(const struct rt_http_req *req, const char *name);

/* Adds a header to the answer (both strings copied); before the reply.
 * At most 16 headers a reply; more are dropped with a log line. */
void rt_http_add_header(struct rt_http_req *req, const char *name,
    const char *value);

/* Answers with body[0..len) (no body is sent for HEAD, but its length
 * is). The body is not copied: done(done_arg) is called once the server
 * no longer needs it, also when the reply cannot be sent (done may be
 * NULL for static bytes). */
void rt_http_reply(struct rt_http_req *req, int status,
    const char *content_type, const void *body, size_t len,
    void (*done)(void *), void *done_arg);
/* Answers with a text/plain body made from fmt: errors and small answers,
 * always ending in a newline. */
void rt_http_reply_text(struct rt_http_req *req, int status, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* The answers sent so far, for /metrics (rt_metrics_http): fn is called
 * for each route (its path; "" for requests no route matched) and status
 * with a count above 0. Statuses other than the usual ones (2xx to 5xx a
 * web face sends) are summed as status 0. NULL h: no calls. */
void rt_http_each_count(struct rt_http *h,
    void (*fn)(void *arg, const char *route, int status, uint64_t n),
    void *arg);

#endif
