/* Why the web face runs on libmicrohttpd: the two Debian-packaged HTTP
 * server libraries we could embed, measured in one run. Each serves the
 * same 4 KB body from memory (no disk, no checksum: the library alone) on
 * loopback, and wrk (Debian's) drives it with keep-alive connections:
 *   bazel run //tools:http_lib_bench -- [--seconds 5] [--conns 16]
 *       [--threads 2]   (libmicrohttpd's pool; nng sizes its own)
 * Prints requests/s for each and the ratio (docs/web.md). */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

static char body[4096];

static void
serve_body(void *arg, struct rt_http_req *req)
{
	(void)arg;
	rt_http_reply(req, 200, "application/octet-stream", body, sizeof(body),
	    NULL, NULL);
}

/* wrk's requests/s against url, or -1. */
static double
run_wrk(const char *url, int seconds, int conns)
{
	char cmd[512], line[512];
	double rps = -1;
	snprintf(cmd, sizeof(cmd), "wrk -t2 -c%d -d%ds %s 2>&1", conns, seconds,
	    url);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL)
		if (sscanf(line, "Requests/sec: %lf", &rps) == 1)
			break;
	pclose(p);
	return rps;
}

static double
bench_mhd(int port, int seconds, int conns, int threads)
{
	char listen[64], url[96], err[256];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "http://%s/p", listen);
	const struct rt_http_route routes[] = { { "/p", serve_body, NULL } };
	struct rt_http_opts o = { .listen = listen,
		.routes = routes,
		.nroutes = 1,
		.threads = threads };
	struct rt_http *h = rt_http_start(&o, err, sizeof(err));
	if (h == NULL) {
		fprintf(stderr, "http_lib_bench: %s\n", err);
		return -1;
	}
	double rps = run_wrk(url, seconds, conns);
	rt_http_stop(h);
	return rps;
}

static double
bench_nng(int port, int seconds, int conns)
{
	char addr[96];
	nng_url *u = NULL;
	nng_http_server *s = NULL;
	nng_http_handler *hd = NULL;
	snprintf(addr, sizeof(addr), "http://127.0.0.1:%d/p", port);
	if (nng_url_parse(&u, addr) != 0 || nng_http_server_hold(&s, u) != 0 ||
	    nng_http_handler_alloc_static(&hd, "/p", body, sizeof(body),
		"application/octet-stream") != 0 ||
	    nng_http_server_add_handler(s, hd) != 0 ||
	    nng_http_server_start(s) != 0) {
		fprintf(stderr,
		    "http_lib_bench: nng's HTTP server did not "
		    "start\n");
		return -1;
	}
	double rps = run_wrk(addr, seconds, conns);
	nng_http_server_stop(s);
	nng_http_server_release(s);
	nng_url_free(u);
	return rps;
}

int
main(int argc, char **argv)
{
	int seconds = 5, conns = 16, threads = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--conns") == 0)
			conns = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	rt_log_init("http_lib_bench", 'B');
	memset(body, 'x', sizeof(body));
	double mhd = bench_mhd(18931, seconds, conns, threads);
	double nng = bench_nng(18932, seconds, conns);
	printf("4 KB from memory, %d connections, %d s each (wrk -t2):\n",
	    conns, seconds);
	printf("  libmicrohttpd 0.9.75 (%d threads, epoll):   %8.0f req/s\n",
	    threads, mhd);
	printf("  nng 1.5.2 http server:                     %8.0f req/s\n",
	    nng);
	if (mhd > 0 && nng > 0)
		printf("  ratio libmicrohttpd / nng: %.2fx\n", mhd / nng);
	return mhd > 0 && nng > 0 ? 0 : 1;
}
