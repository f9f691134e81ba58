/* /metrics on every service, as monitoring sees it (issue 13 §4), on one
 * cluster of real processes (Redis x2, directoryd x2, stored x3,
 * replicatord): each page passes Debian's `promtool check metrics` and
 * says what the service is (one leader, the active replicator); Debian's
 * real `prometheus` scrapes every service, finds each one up through its
 * HTTP query API, and sees an upload move the stores' Write counter and
 * the fdatasync histogram. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster_run.h"
#include "curl.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "promtool.h"

#define NDIRS 2
#define NSTORES 3
#define NTARGETS (NDIRS + NSTORES + 1)
#define PROM_WAIT_MS 30000

static struct test_cluster tc;
static hs_client *cl;
static struct test_proc prom;
static int p_prom;

/* Every service's HTTP port, directories first, then stores, then the
 * replicator. */
static int
target_port(int i)
{
	if (i < NDIRS)
		return tc.p_dirhttp[i];
	if (i < NDIRS + NSTORES)
		return tc.p_storehttp[i - NDIRS];
	return tc.p_replhttp;
}

/* GET /metrics of target i: 1 when 200 (out filled, to free). */
static int
scrape(int i, struct test_http_resp *out)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics",
	    target_port(i));
	if (test_http("GET", url, NULL, out) != 0)
		return 0;
	if (out->status == 200)
		return 1;
	test_http_free(out);
	return 0;
}

/* The value of the first sample of name (with its labels, exactly as
 * written, e.g. "hs_directory_leader "), or -1. */
static double
sample(const char *page, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = page; (p = strstr(p, series)) != NULL; p += n)
		if (p == page || p[-1] == '\n')
			return strtod(p + n, NULL);
	return -1;
}

/* A sample's value on target i's page now, or -1. */
static double
page_value(int i, const char *series)
{
	struct test_http_resp r;
	if (!scrape(i, &r))
		return -1;
	double v = sample(r.body, series);
	test_http_free(&r);
	return v;
}

static void
test_every_page_passes_promtool(void)
{
	char why[4096];
	int leaders = 0;
	/* the replicator takes its lease a moment after it starts */
	CHECK(CHECK_WAIT_UNTIL(page_value(NTARGETS - 1,
				   "hs_replicator_active ") == 1,
	    10000));
	for (int i = 0; i < NTARGETS; i++) {
		struct test_http_resp r;
		char ct[128];
		CHECK_MSG(scrape(i, &r), "target %d: no /metrics", i);
		int rc = test_promtool_check(r.body, r.len, tc.dir, why,
		    sizeof(why));
		int typed = test_http_header(&r, "Content-Type", ct,
				sizeof(ct)) != NULL &&
		    strcmp(ct, "text/plain; version=0.0.4; charset=utf-8") == 0;
		int rpc = strstr(r.body,
			      "# TYPE hs_rpc_requests_total "
			      "counter\n") != NULL;
		if (i < NDIRS)
			leaders += sample(r.body, "hs_directory_leader ") == 1;
		double active = i == NTARGETS - 1 ?
		    sample(r.body, "hs_replicator_active ") :
		    1;
		test_http_free(&r);
		CHECK_MSG(rc == 0, "target %d: promtool exit %d: %s", i, rc,
		    why);
		CHECK_MSG(typed, "target %d: content type %s", i, ct);
		CHECK_MSG(rpc, "target %d: no RPC counts", i);
		CHECK_MSG(active == 1, "the replicator is not active");
	}
	CHECK_EQ(leaders, 1);
}

/* One instant query's first value, or -1 when it has none (yet). q is
 * URL-encoded. */
static double
prom_query(const char *q)
{
	char url[512];
	struct test_http_resp r;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s",
	    p_prom, q);
	double v = -1;
	if (test_http("GET", url, NULL, &r) != 0)
		return -1;
	/* {"status":"success","data":{...,"result":[{...,"value":[T,"V"]}]}}
	 * from our own Prometheus: the one field read, no parser needed. */
	const char *p = r.status == 200 ? strstr(r.body, "\"value\":[") : NULL;
	if (p != NULL && (p = strstr(p, ",\"")) != NULL)
		v = strtod(p + 2, NULL);
	test_http_free(&r);
	return v;
}

static int
start_prometheus(void)
{
	char cfg[700], data[700], listen[64], targets[1024] = "";
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", tc.dir);
	snprintf(data, sizeof(data), "%s/prometheus-data", tc.dir);
	for (int i = 0; i < NTARGETS; i++)
		snprintf(targets + strlen(targets),
		    sizeof(targets) - strlen(targets), "%s'127.0.0.1:%d'",
		    i ? ", " : "", target_port(i));
	FILE *f = fopen(cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	    "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
	    "scrape_configs:\n  - job_name: haystack\n"
	    "    static_configs:\n      - targets: [%s]\n",
	    targets);
	fclose(f);
	p_prom = test_free_port();
	char a_cfg[760], a_data[760];
	snprintf(a_cfg, sizeof(a_cfg), "--config.file=%s", cfg);
	snprintf(a_data, sizeof(a_data), "--storage.tsdb.path=%s", data);
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d",
	    p_prom);
	char *argv[] = { "/usr/bin/prometheus", a_cfg, a_data, listen,
		"--log.level=warn", NULL };
	return test_proc_start(&prom, "prometheus", tc.dir, argv);
}

static void
test_prometheus_sees_every_service_up(void)
{
	CHECK(start_prometheus() == 0);
	/* sum(up): 1 a target scraped without error */
	int up = CHECK_WAIT_UNTIL(prom_query("sum%28up%29") == NTARGETS,
	    PROM_WAIT_MS);
	if (!up)
		test_proc_dump_log(&prom);
	CHECK_MSG(up, "sum(up) = %g, want %d", prom_query("sum%28up%29"),
	    NTARGETS);
}

/* sum(hs_rpc_requests_total{method="Write"}) */
#define Q_WRITES "sum%28hs_rpc_requests_total%7Bmethod%3D%22Write%22%7D%29"
/* sum(hs_store_fdatasync_duration_seconds_count) */
#define Q_SYNCS "sum%28hs_store_fdatasync_duration_seconds_count%29"
#define Q_HITS "max%28hs_cache_hits_total%29"

static void
test_an_upload_moves_the_counters(void)
{
	CHECK(prom.pid != 0);
	/* Write's series exist from the first scrape (0), so the upload is
	 * seen as an increase, not as a new series. */
	CHECK(CHECK_WAIT_UNTIL(prom_query(Q_WRITES) >= 0, PROM_WAIT_MS));
	double writes = prom_query(Q_WRITES), syncs = prom_query(Q_SYNCS);
	uint8_t *b = test_bytes(3000, 13);
	hs_photo_id id;
	hs_error e;
	hs_status st = hs_upload(cl, b, 3000, NSTORES, 30000, &id, &e);
	free(b);
	CHECK_STATUS(st, HS_OK, e.message);
	int moved = CHECK_WAIT_UNTIL(prom_query(Q_WRITES) > writes,
	    PROM_WAIT_MS);
	CHECK_MSG(moved, "Write requests stayed at %g", writes);
	CHECK_MSG(CHECK_WAIT_UNTIL(prom_query(Q_SYNCS) > syncs, PROM_WAIT_MS),
	    "fdatasyncs stayed at %g", syncs);
	/* Reads of a photo the stores pushed into the cache are its hits. */
	double hits = prom_query(Q_HITS);
	for (int i = 0; i < 2; i++) {
		void *data = NULL;
		size_t len = 0;
		st = hs_download(cl, id, 30000, &data, &len, &e);
		free(data);
		CHECK_STATUS(st, HS_OK, e.message);
	}
	CHECK_MSG(CHECK_WAIT_UNTIL(prom_query(Q_HITS) > hits, PROM_WAIT_MS),
	    "the photo cache's hits stayed at %g", hits);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "every service's /metrics passes promtool",
		    test_every_page_passes_promtool },
		{ "prometheus finds every service up",
		    test_prometheus_sees_every_service_up },
		{ "an upload moves the counters Prometheus sees",
		    test_an_upload_moves_the_counters },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .ndirs = NDIRS,
		.nstores = NSTORES,
		.replicator = 1 };
	rt_log_init("prometheus_test", 'T');
	if (test_cluster_up(&tc, &o, &cl) != 0)
		return 1;
	int rc = test_cluster_run(&tc, cl, cases, argc, argv);
	if (prom.pid != 0) {
		if (rc != 0)
			test_proc_dump_log(&prom);
		test_proc_term(&prom);
		test_proc_free(&prom);
	}
	return rc;
}
