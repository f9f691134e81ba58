/* stored's HTTP routes (store_http.h). */
#include "store_http.h"

#include "http.h"
#include "http_photo.h"
#include "store_metrics.h"

/* 200 while the store takes writes, 503 once an I/O failure made it
 * read-only: what a load balancer's health check wants. */
static void
health(void *arg, struct rt_http_req *req)
{
	struct store_service *svc = arg;
	if (atomic_load(&svc->readonly))
		rt_http_reply_text(req, 503,
		    "read-only %s: an I/O error "
		    "stopped writes (see its log)",
		    svc->name);
	else
		rt_http_reply_text(req, 200, "ok %s", svc->name);
}

int
store_http_start(struct store_service *svc, char *err, size_t errlen)
{
	if (svc->cfg.http[0] == '\0')
		return 0;
	const struct rt_http_route routes[] = {
		{ "/health", health, svc },
		{ "/metrics", store_http_metrics, svc },
		{ "/*", store_http_photo, svc },
	};
	struct rt_http_opts o = { .listen = svc->cfg.http,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		/* A GET holds its thread for one pread: photos not in the page
		 * cache need reads in flight (tools/web_bench.sh, cold 64 KB:
		 * 1.8x plain nginx with 8, 1.1x with 4). */
		.threads = 8,
		.max_conns = (int)svc->cfg.max_conns,
		.cert = svc->cfg.tls_cert,
		.name = svc->name };
	svc->http = rt_http_start(&o, err, errlen);
	return svc->http != NULL ? 0 : -1;
}

void
store_http_stop(struct store_service *svc)
{
	rt_http_stop(svc->http);
	svc->http = NULL;
}
