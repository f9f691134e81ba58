/* runtime/metrics: the text exposition as Prometheus reads it (HELP and
 * TYPE once a family, label values escaped, cumulative histogram buckets
 * with an inclusive `le`), collectors' mistakes left out of the page
 * rather than breaking it, every page accepted by Debian's `promtool check
 * metrics`, and the page served with its content type through the real
 * curl. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "curl.h"
#include "env.h"
#include "http.h"
#include "metrics.h"
#include "promtool.h"

static struct rt_hist lat;

static void
collect(void *arg, struct rt_metrics *m)
{
	(void)arg;
	rt_metrics_family(m, "hs_test_requests_total", RT_COUNTER,
	    "Requests by method.\nSecond line \\ with a backslash.");
	rt_metrics_u64(m, 3, "method", "Write", "code", "OK", NULL);
	rt_metrics_u64(m, 1, "method", "odd \"quoted\"\\path\nline", NULL);
	rt_metrics_family(m, "hs_test_open_volumes", RT_GAUGE, "Volumes open.");
	rt_metrics_f64(m, 2.5, NULL);
	rt_metrics_family(m, "hs_test_latency_seconds", RT_HISTOGRAM,
	    "Latency.");
	rt_metrics_hist(m, &lat, "method", "Read", NULL);
	rt_metrics_single(m, "hs_test_up", RT_GAUGE, "Up.", 1);
}

static char page[65536];

static void
render(void (*fn)(void *, struct rt_metrics *))
{
	struct rt_metrics m = { .family = NULL };
	fn(NULL, &m);
	snprintf(page, sizeof(page), "%s", m.out.buf ? m.out.buf : "");
	rt_sbuf_free(&m.out);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_format(void)
{
	memset(&lat, 0, sizeof(lat));
	rt_hist_observe_ns(&lat, 50000);       /* exactly 50 us: le 0.00005 */
	rt_hist_observe_ns(&lat, 50001);       /* just above: le 0.0001 */
	rt_hist_observe_ns(&lat, 3000000);     /* 3 ms */
	rt_hist_observe_ns(&lat, 60000000000); /* 60 s: only +Inf */
	render(collect);
	CHECK(strstr(page,
		  "# HELP hs_test_requests_total Requests by "
		  "method.\\nSecond line \\\\ with a backslash.\n"
		  "# TYPE hs_test_requests_total counter\n"
		  "hs_test_requests_total{method=\"Write\",code=\"OK\"}"
		  " 3\n") == page);
	CHECK(strstr(page,
		  "hs_test_requests_total{method=\"odd "
		  "\\\"quoted\\\"\\\\path\\nline\"} 1\n") != NULL);
	CHECK(strstr(page,
		  "# TYPE hs_test_open_volumes gauge\n"
		  "hs_test_open_volumes 2.5\n") != NULL);
	CHECK(
	    strstr(page, "# TYPE hs_test_latency_seconds histogram\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"0.00005\"} 1\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"0.0001\"} 2\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"0.0025\"} 2\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"0.005\"} 3\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"10\"} 3\n") != NULL);
	CHECK(strstr(page, "{method=\"Read\",le=\"+Inf\"} 4\n") != NULL);
	CHECK(strstr(page,
		  "hs_test_latency_seconds_sum{method=\"Read\"} "
		  "60.003100001\n") != NULL);
	CHECK(strstr(page,
		  "hs_test_latency_seconds_count{method=\"Read\"} "
		  "4\n") != NULL);
	CHECK(strstr(page,
		  "# HELP hs_test_up Up.\n# TYPE hs_test_up gauge\n"
		  "hs_test_up 1\n") != NULL);
	CHECK_EQ(count(page, "_bucket{"), 18);
	CHECK_EQ(count(page, "# TYPE"), 4);
	CHECK_EQ(count(page, "# HELP"), 4);
}

/* Every mistake a collector can make, each left out of the page. */
static void
collect_wrong(void *arg, struct rt_metrics *m)
{
	collect(arg, m);
	/* declared again: its samples would split the family */
	rt_metrics_family(m, "hs_test_open_volumes", RT_GAUGE, "Again.");
	rt_metrics_f64(m, 7, NULL);
	/* a counter without _total, a gauge with it, a bad name */
	rt_metrics_family(m, "hs_test_writes", RT_COUNTER, "No suffix.");
	rt_metrics_u64(m, 8, NULL);
	rt_metrics_family(m, "hs_test_depth_total", RT_GAUGE, "Suffix.");
	rt_metrics_u64(m, 9, NULL);
	rt_metrics_family(m, "hs-test", RT_GAUGE, "Dash.");
	rt_metrics_u64(m, 10, NULL);
	/* a good family with bad samples: label names, le on a histogram,
	 * a plain sample in a histogram family */
	rt_metrics_family(m, "hs_test_ok", RT_GAUGE, "Fine.");
	rt_metrics_u64(m, 11, "bad-label", "x", NULL);
	rt_metrics_u64(m, 12, "__reserved", "x", NULL);
	rt_metrics_u64(m, 13, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5",
	    NULL);
	rt_metrics_u64(m, 14, "fine", "yes", NULL);
	rt_metrics_family(m, "hs_test_more_seconds", RT_HISTOGRAM, "Hist.");
	rt_metrics_hist(m, &lat, "le", "1", NULL);
	rt_metrics_u64(m, 15, NULL);
}

static void
test_mistakes_left_out(void)
{
	render(collect_wrong);
	CHECK_EQ(count(page, "\nhs_test_open_volumes "), 1);
	CHECK_EQ(count(page, "# TYPE hs_test_open_volumes"), 1);
	CHECK(strstr(page, "Again") == NULL);
	CHECK(strstr(page, "hs_test_writes") == NULL);
	CHECK(strstr(page, "hs_test_depth_total") == NULL);
	CHECK(strstr(page, "hs-test") == NULL);
	for (int v = 7; v <= 15; v++) {
		char line[32];
		snprintf(line, sizeof(line), "} %d\n", v);
		CHECK_MSG(v == 14 || strstr(page, line) == NULL,
		    "sample %d should be left out:\n%s", v, page);
	}
	CHECK(strstr(page, "hs_test_ok{fine=\"yes\"} 14\n") != NULL);
	CHECK(strstr(page, "hs_test_more_seconds_bucket") == NULL);
}

/* Prometheus' own parser and linter agree with the page, also the one a
 * collector got wrong (what is left of it). */
static void
test_promtool_accepts(void)
{
	char dir[512], why[4096];
	CHECK(test_temp_dir(dir, sizeof(dir), "metrics") == 0);
	render(collect);
	int rc = test_promtool_check(page, strlen(page), dir, why, sizeof(why));
	CHECK_MSG(rc == 0, "promtool exit %d: %s\n%s", rc, why, page);
	render(collect_wrong);
	rc = test_promtool_check(page, strlen(page), dir, why, sizeof(why));
	CHECK_MSG(rc == 0, "promtool exit %d: %s\n%s", rc, why, page);
	/* and it does find what we refuse, so the two checks agree */
	static const char bad[] = "# HELP hs_x_writes Writes.\n"
				  "# TYPE hs_x_writes counter\n"
				  "hs_x_writes 1\n";
	rc = test_promtool_check(bad, sizeof(bad) - 1, dir, why, sizeof(why));
	CHECK_MSG(rc != 0 && strstr(why, "_total") != NULL,
	    "promtool exit %d: %s", rc, why);
}

static struct rt_http *served;

static void
collect_served(void *arg, struct rt_metrics *m)
{
	collect(arg, m);
	rt_metrics_http(m, served);
}

static void
metrics_route(void *arg, struct rt_http_req *req)
{
	rt_metrics_reply(req, collect_served, arg);
}

/* GET base + path: its status; the body in page. */
static int
get(const char *base, const char *path, char *ct, size_t ctlen)
{
	char url[160];
	struct test_http_resp r;
	snprintf(url, sizeof(url), "%s%s", base, path);
	if (test_http("GET", url, NULL, &r) != 0)
		return 0;
	snprintf(page, sizeof(page), "%s", r.body);
	if (test_http_header(&r, "Content-Type", ct, ctlen) == NULL)
		ct[0] = '\0';
	int status = r.status;
	test_http_free(&r);
	return status;
}

/* The page with its content type, and the server's own answers counted
 * by route and status on it. */
static void
test_served(void)
{
	static const struct rt_http_route routes[] = {
		{ "/metrics", metrics_route, NULL },
	};
	char listen[64], base[96], err[256], ct[128];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", test_free_port());
	struct rt_http_opts o = { .listen = listen,
		.routes = routes,
		.nroutes = 1,
		.name = "test" };
	served = rt_http_start(&o, err, sizeof(err));
	CHECK_MSG(served != NULL, "%s", err);
	snprintf(base, sizeof(base), "http://%s", listen);
	int first = get(base, "/metrics", ct, sizeof(ct));
	int nope = get(base, "/nope", ct, sizeof(ct));
	int second = get(base, "/metrics", ct, sizeof(ct));
	rt_http_stop(served);
	served = NULL;
	CHECK_EQ(first, 200);
	CHECK_EQ(nope, 404);
	CHECK_EQ(second, 200);
	CHECK_MSG(strcmp(ct, RT_METRICS_CONTENT_TYPE) == 0, "%s", ct);
	CHECK(strstr(page, "# TYPE hs_test_requests_total counter\n") != NULL);
	CHECK_MSG(strstr(page,
		      "hs_http_responses_total{route=\"/metrics\","
		      "code=\"200\"} 1\n") != NULL &&
		strstr(page,
		    "hs_http_responses_total{route=\"(none)\","
		    "code=\"404\"} 1\n") != NULL,
	    "%s", page);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "format: HELP/TYPE once, escaping, cumulative buckets",
		    test_format },
		{ "a collector's mistakes are left out, the page stays valid",
		    test_mistakes_left_out },
		{ "promtool check metrics accepts our pages",
		    test_promtool_accepts },
		{ "served with the 0.0.4 content type; answers counted",
		    test_served },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
