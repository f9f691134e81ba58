/* Prometheus metrics for every service (docs/web.md, "Metrics"): latency
 * histograms kept on hot paths with relaxed atomics (no lock and no
 * allocation per observation), and the text exposition format 0.0.4 that
 * a service's collectors write at scrape time, reading the counters and
 * tables the service keeps anyway. A service's /metrics handler is
 * rt_metrics_reply with the one function that calls its collectors.
 *
 * Names follow Prometheus' conventions: hs_<subsystem>_<name>_<unit>,
 * counters end in _total, time in seconds, sizes in bytes. A family is
 * declared once a page (HELP and TYPE), then its samples follow. */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sbuf.h"

#define RT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Latency buckets' upper bounds: 50 us to 10 s, about three a decade. */
#define RT_HIST_BOUNDS 17

/* A latency histogram: observations count into their bucket, not into
 * every bucket above (the page sums them), so an observation is one
 * relaxed add to a bucket and one to the sum. Zero-initialise. */
struct rt_hist {
	_Atomic uint64_t bucket[RT_HIST_BOUNDS + 1]; /* the last one: +Inf */
	_Atomic uint64_t sum_ns;
};

void rt_hist_observe_ns(struct rt_hist *h, uint64_t ns);

enum rt_metric_type { RT_COUNTER, RT_GAUGE, RT_HISTOGRAM };

#define RT_METRICS_MAX_FAMILIES 128

/* A page being written. Every call is a no-op once something failed, and
 * a programming error (a bad or repeated name, an unpaired label) is
 * logged and drops the samples it concerns, never the page. */
struct rt_metrics {
	struct rt_sbuf out;
	const char *family; /* the family samples go to; NULL = dropped */
	enum rt_metric_type type;
	const char *seen[RT_METRICS_MAX_FAMILIES];
	int nseen;
};

/* Declares a family: its HELP and TYPE lines; the samples after it are
 * its own. name must live until the page is sent (a literal). */
void rt_metrics_family(struct rt_metrics *m, const char *name,
    enum rt_metric_type type, const char *help);

/* A sample of the current counter or gauge family. The labels are name,
 * value pairs ended by NULL (at most 4 pairs); values are escaped. */
void rt_metrics_u64(struct rt_metrics *m, uint64_t v, ...)
    __attribute__((sentinel));
void rt_metrics_f64(struct rt_metrics *m, double v, ...)
    __attribute__((sentinel));
/* A family of one unlabelled sample: the counters and gauges a service
 * keeps anyway. */
void rt_metrics_single(struct rt_metrics *m, const char *name,
    enum rt_metric_type type, const char *help, uint64_t v);
/* A histogram family's series: _bucket{le=...} (cumulative), _sum in
 * seconds and _count, with the labels as above. */
void rt_metrics_hist(struct rt_metrics *m, const struct rt_hist *h, ...)
    __attribute__((sentinel));

struct rt_http;
struct rt_http_req;

/* hs_http_responses_total of server h (runtime/http.h) by route and
 * status code; NULL h: the family with no samples. */
void rt_metrics_http(struct rt_metrics *m, struct rt_http *h);

/* Writes a page with collect(arg, m) and answers req with it (zero-copy),
 * or 500 when memory ran out. */
void rt_metrics_reply(struct rt_http_req *req,
    void (*collect)(void *arg, struct rt_metrics *m), void *arg);

#endif
