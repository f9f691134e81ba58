/* A directory's HTTP routes (dir_http.h). */
#include "dir_http.h"

#include "dir_metrics.h"
#include "http.h"
#include "http_redirect.h"
#include "http_status.h"
#include "log.h"

/* Which role this directory plays now, for people and health checks. */
static void
health(void *arg, struct rt_http_req *req)
{
	struct dir *d = arg;
	uint64_t epoch = 0;
	if (dir_is_leader(d, NULL, 0, &epoch))
		rt_http_reply_text(req, 200, "ok %s leader epoch %llu",
		    d->cfg.id, (unsigned long long)epoch);
	else
		rt_http_reply_text(req, 200, "ok %s follower", d->cfg.id);
}

int
dir_http_start(struct dir *d)
{
	if (d->cfg.http[0] == '\0')
		return 0;
	const struct rt_http_route routes[] = {
		{ "/health", health, d },
		{ "/metrics", dir_http_metrics, d },
		{ "/", dir_http_status_page, d },
		{ "/status.json", dir_http_status_json, d },
		{ "/*", dir_http_redirect, d },
	};
	char err[256];
	/* The cache's misses wait on redirects: a few threads, so a slow
	 * /status.json (it asks the replicator) never holds them all. */
	struct rt_http_opts o = { .listen = d->cfg.http,
		.threads = 4,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.cert = d->cfg.tls_cert,
		.name = d->cfg.id };
	if ((d->http = rt_http_start(&o, err, sizeof(err))) == NULL) {
		rt_log_error("%s", err);
		return -1;
	}
	return 0;
}

void
dir_http_stop(struct dir *d)
{
	rt_http_stop(d->http);
	d->http = NULL;
}
