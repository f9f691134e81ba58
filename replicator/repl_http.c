/* The replicator's HTTP routes (repl_http.h). */
#include "repl_http.h"

#include "http.h"
#include "log.h"
#include "repl_metrics.h"

/* Active (holding the lease) or standby, for people and health checks. */
static void
health(void *arg, struct rt_http_req *req)
{
	struct repl *r = arg;
	if (atomic_load(&r->active))
		rt_http_reply_text(req, 200, "ok %s active epoch %llu", r->name,
		    (unsigned long long)atomic_load(&r->epoch));
	else
		rt_http_reply_text(req, 200, "ok %s standby", r->name);
}

int
repl_http_start(struct repl *r)
{
	if (r->cfg.http[0] == '\0')
		return 0;
	const struct rt_http_route routes[] = {
		{ "/health", health, r },
		{ "/metrics", repl_http_metrics, r },
	};
	char err[256];
	struct rt_http_opts o = { .listen = r->cfg.http,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.cert = r->cfg.tls_cert,
		.name = r->name };
	if ((r->http = rt_http_start(&o, err, sizeof(err))) == NULL) {
		rt_log_error("%s", err);
		return -1;
	}
	return 0;
}

void
repl_http_stop(struct repl *r)
{
	rt_http_stop(r->http);
	r->http = NULL;
}
