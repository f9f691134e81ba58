/* The web face's server (http.h) on libmicrohttpd: a thread pool of epoll
 * loops; a request is answered once its headers and its (empty: the
 * routes take no bodies) body are in, which keeps the connection alive. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostport.h"
#include "log.h"

#define MAX_HEADERS 16
#define MAX_ROUTES 16

/* The statuses answers are counted by (rt_http_each_count); others count
 * as 0, "other". */
static const int counted[] = { 0, 200, 206, 301, 302, 304, 400, 403, 404, 405,
	410, 416, 429, 500, 502, 503, 504 };
#define NCOUNTED (sizeof(counted) / sizeof(counted[0]))

struct rt_http {
	struct MHD_Daemon *d;
	struct rt_http_route routes[MAX_ROUTES];
	size_t nroutes;
	/* Answers by route (the last row: no route matched) and status. */
	_Atomic uint64_t answers[MAX_ROUTES + 1][NCOUNTED];
	char *cert_pem; /* owned; MHD keeps pointers into both */
	char name[64];
};

struct rt_http_req {
	struct MHD_Connection *conn;
	struct rt_http *h;
	size_t route; /* index of the route that matched, or MAX_ROUTES */
	const char *method, *path;
	int answered;
	int nheaders;
	char *headers[MAX_HEADERS][2]; /* owned copies until the reply */
};

const char *
rt_http_method(const struct rt_http_req *req)
{
	return req->method;
}

const char *
rt_http_path(const struct rt_http_req *req)
{
	return req->path;
}

int
rt_http_is_head(const struct rt_http_req *req)
{
	return strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0;
}

const char *
rt_http_header(const struct rt_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
rt_http_query(const struct rt_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

void
rt_http_add_header(struct rt_http_req *req, const char *name, const char *value)
{
	if (req->nheaders == MAX_HEADERS) {
		rt_log_warn("http: header %s dropped (more than %d)", name,
		    MAX_HEADERS);
		return;
	}
	char *n = strdup(name), *v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return;
	}
	req->headers[req->nheaders][0] = n;
	req->headers[req->nheaders][1] = v;
	req->nheaders++;
}

static void
free_headers(struct rt_http_req *req)
{
	for (int i = 0; i < req->nheaders; i++) {
		free(req->headers[i][0]);
		free(req->headers[i][1]);
	}
	req->nheaders = 0;
}

void
rt_http_reply(struct rt_http_req *req, int status, const char *content_type,
    const void *body, size_t len, void (*done)(void *), void *done_arg)
{
	if (req->answered) {
		rt_log_error("http: %s %s answered twice", req->method,
		    req->path);
		if (done != NULL)
			done(done_arg);
		return;
	}
	req->answered = 1;
	/* MHD only reads the body; done frees it once the reply is sent. */
	struct MHD_Response
	    *r = MHD_create_response_from_buffer_with_free_callback_cls(len,
		(void *)(uintptr_t)body, done, done_arg);
	if (r == NULL) {
		if (done != NULL)
			done(done_arg);
		free_headers(req);
		return;
	}
	if (content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    content_type);
	for (int i = 0; i < req->nheaders; i++)
		MHD_add_response_header(r, req->headers[i][0],
		    req->headers[i][1]);
	free_headers(req);
	enum MHD_Result queued = MHD_queue_response(req->conn, (unsigned)status,
	    r);
	MHD_destroy_response(r);
	if (queued != MHD_YES) {
		rt_log_debug("http: %s %s: the %d could not be queued",
		    req->method, req->path, status);
		return;
	}
	size_t i = NCOUNTED;
	while (--i > 0 && counted[i] != status)
		;
	atomic_fetch_add_explicit(&req->h->answers[req->route][i], 1,
	    memory_order_relaxed);
}

void
rt_http_each_count(struct rt_http *h,
    void (*fn)(void *arg, const char *route, int status, uint64_t n), void *arg)
{
	for (size_t r = 0; h != NULL && r <= h->nroutes; r++)
		for (size_t i = 0; i < NCOUNTED; i++) {
			size_t row = r < h->nroutes ? r : MAX_ROUTES;
			uint64_t n = atomic_load_explicit(&h->answers[row][i],
			    memory_order_relaxed);
			if (n != 0)
				fn(arg, r < h->nroutes ? h->routes[r].path : "",
				    counted[i], n);
		}
}

void
rt_http_reply_text(struct rt_http_req *req, int status, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		rt_http_reply(req, 500, "text/plain", "out of memory\n", 14,
		    NULL, NULL);
		return;
	}
	if (n == 0 || text[n - 1] != '\n') {
		char *t = realloc(text, (size_t)n + 2);
		if (t != NULL) {
			text = t;
			text[n++] = '\n';
			text[n] = '\0';
		}
	}
	rt_http_reply(req, status, "text/plain; charset=utf-8", text, (size_t)n,
	    free, text);
}

static const struct rt_http_route *
route_of(const struct rt_http *h, const char *path)
{
	for (size_t i = 0; i < h->nroutes; i++) {
		const char *p = h->routes[i].path;
		size_t n = strlen(p);
		if (n > 0 && p[n - 1] == '*') {
			if (strncmp(path, p, n - 1) == 0)
				return &h->routes[i];
		} else if (strcmp(path, p) == 0) {
			return &h->routes[i];
		}
	}
	return NULL;
}

/* Where a request stands between the access handler's calls. */
static char seen_headers, body_dropped;

/* One request's answer: its route's, or the refusal (405, 400) asked for. */
static void
answer(struct rt_http *h, struct MHD_Connection *conn, const char *method,
    const char *url, int refusal)
{
	struct rt_http_req req = { .conn = conn,
		.h = h,
		.route = MAX_ROUTES,
		.method = method,
		.path = url };
	const struct rt_http_route *r = refusal ? NULL : route_of(h, url);
	if (refusal == 405) {
		rt_http_add_header(&req, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		rt_http_reply_text(&req, 405,
		    "%s is not served here: only GET and HEAD", method);
	} else if (refusal == 400) {
		rt_http_reply_text(&req, 400, "a %s takes no body", method);
	} else if (r == NULL) {
		rt_http_reply_text(&req, 404, "no such page: %s", url);
	} else {
		req.route = (size_t)(r - h->routes);
		r->fn(r->arg, &req);
	}
	if (!req.answered) {
		rt_log_error("http: %s %s left unanswered", method, url);
		rt_http_reply_text(&req, 500, "internal error");
	}
}

/* libmicrohttpd calls this with the headers, then with each piece of a
 * body, then once more. A GET or HEAD is answered on that last call: an
 * answer queued earlier makes it close the connection, unsure whether a
 * body follows. Another method is refused at once (the connection then
 * closes, its body unread); a body sent with a GET is read and dropped,
 * then refused. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct rt_http *h = cls;
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (*con_cls == NULL && !get) {
		answer(h, conn, method, url, 405);
	} else if (*con_cls == NULL) {
		*con_cls = &seen_headers;
	} else if (*upload_size != 0) {
		*upload_size = 0;
		*con_cls = &body_dropped;
	} else {
		answer(h, conn, method, url,
		    *con_cls == &body_dropped ? 400 : 0);
	}
	return MHD_YES;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rt_http *h = cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	rt_log_debug("http %s: %s", h->name, line);
}

/* "HOST:PORT" to an IPv4 socket address. 0 or -1 with err. */
static int
parse_listen(const char *listen, struct sockaddr_in *sa, char *err,
    size_t errlen)
{
	char host[256], port[8];
	int p;
	if (rt_hostport_split(listen, host, sizeof(host), &p) != 0) {
		snprintf(err, errlen,
		    "bad HTTP address '%s': expected HOST:PORT, e.g. "
		    "127.0.0.1:8080",
		    listen);
		return -1;
	}
	snprintf(port, sizeof(port), "%d", p);
	struct addrinfo hints = { .ai_family = AF_INET,
		.ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		snprintf(err, errlen, "bad HTTP address '%s': %s", listen,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(sa, ai->ai_addr, sizeof(*sa));
	freeaddrinfo(ai);
	return 0;
}

/* The whole of a PEM file, which must be readable by its owner only (it
 * holds the key). NULL with err. */
static char *
read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "cannot read certificate %s: %s", path,
		    strerror(errno));
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	char *pem = NULL;
	if ((st.st_mode & 077) != 0)
		snprintf(err, errlen,
		    "%s holds a private key but others may read it: chmod "
		    "600 %s",
		    path, path);
	else if ((pem = calloc(1, (size_t)st.st_size + 1)) == NULL)
		snprintf(err, errlen, "out of memory");
	else if (fread(pem, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		snprintf(err, errlen, "cannot read certificate %s", path);
		free(pem);
		pem = NULL;
	}
	fclose(f);
	return pem;
}

static struct MHD_Daemon *
start_daemon(struct rt_http *h, const struct rt_http_opts *o,
    struct sockaddr_in *sa)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[3] = { { MHD_OPTION_END, 0, NULL } };
	if (h->cert_pem != NULL) {
		flags |= MHD_USE_TLS;
		/* One PEM holds both: GnuTLS takes the parts it needs. */
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
			h->cert_pem };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
			h->cert_pem };
	}
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)(o->threads ? o->threads : 2),
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(o->max_conns ? o->max_conns : 1024),
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)(o->idle_s ? o->idle_s : 60),
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, h, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

struct rt_http *
rt_http_start(const struct rt_http_opts *o, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	if (o->nroutes > MAX_ROUTES) {
		snprintf(err, errlen, "too many HTTP routes (%zu > %d)",
		    o->nroutes, MAX_ROUTES);
		return NULL;
	}
	if (parse_listen(o->listen, &sa, err, errlen) != 0)
		return NULL;
	struct rt_http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (o->nroutes > 0) /* routes may be NULL then */
		memcpy(h->routes, o->routes, o->nroutes * sizeof(*o->routes));
	h->nroutes = o->nroutes;
	snprintf(h->name, sizeof(h->name), "%s", o->name ? o->name : "");
	if (o->cert != NULL && o->cert[0] != '\0' &&
	    (h->cert_pem = read_pem(o->cert, err, errlen)) == NULL) {
		free(h);
		return NULL;
	}
	if ((h->d = start_daemon(h, o, &sa)) == NULL) {
		snprintf(err, errlen,
		    "cannot serve HTTP on %s (is the port free? is the "
		    "certificate a valid PEM with its key?)",
		    o->listen);
		free(h->cert_pem);
		free(h);
		return NULL;
	}
	return h;
}

void
rt_http_stop(struct rt_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h->cert_pem);
	free(h);
}
