/* Histograms and the text exposition (metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

#define MAX_PAIRS 4

static const uint64_t bound_ns[RT_HIST_BOUNDS] = { 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000u, 5000000000u,
	10000000000u };

/* The same bounds as `le` values, in seconds, written as people would. */
static const char *const bound_le[RT_HIST_BOUNDS + 1] = { "0.00005", "0.0001",
	"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf" };

void
rt_hist_observe_ns(struct rt_hist *h, uint64_t ns)
{
	int i = 0;
	while (i < RT_HIST_BOUNDS && ns > bound_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (colon only in metric names). */
static int
valid_name(const char *s, int colon)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_' ||
			(colon && *s == ':')))
			return 0;
	return 1;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Why a family may not be declared, or NULL. */
static const char *
family_problem(const struct rt_metrics *m, const char *name,
    enum rt_metric_type type)
{
	if (!valid_name(name, 1))
		return "is not a valid metric name";
	if ((type == RT_COUNTER) != ends_with(name, "_total"))
		return "breaks the rule that counters, and only they, end in "
		       "_total";
	for (int i = 0; i < m->nseen; i++)
		if (strcmp(m->seen[i], name) == 0)
			return "is declared twice in one page";
	if (m->nseen == RT_METRICS_MAX_FAMILIES)
		return "is one family too many for a page";
	return NULL;
}

/* HELP text: backslash and newline escaped. */
static void
put_help(struct rt_sbuf *b, const char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			rt_sbuf_append(b, "\\\\", 2);
		else if (*s == '\n')
			rt_sbuf_append(b, "\\n", 2);
		else
			rt_sbuf_append(b, s, 1);
}

void
rt_metrics_family(struct rt_metrics *m, const char *name,
    enum rt_metric_type type, const char *help)
{
	static const char *const tname[] = { "counter", "gauge", "histogram" };
	const char *why = family_problem(m, name, type);
	m->family = NULL;
	if (why != NULL) {
		rt_log_error("metrics: family '%s' %s: its samples are left "
			     "out (a bug: fix the collector)",
		    name ? name : "(null)", why);
		return;
	}
	m->seen[m->nseen++] = name;
	m->family = name;
	m->type = type;
	rt_sbuf_printf(&m->out, "# HELP %s ", name);
	put_help(&m->out, help ? help : "");
	rt_sbuf_printf(&m->out, "\n# TYPE %s %s\n", name, tname[type]);
}

/* Label value: backslash, double quote and newline escaped. */
static void
put_value(struct rt_sbuf *b, const char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			rt_sbuf_append(b, "\\\\", 2);
		else if (*s == '"')
			rt_sbuf_append(b, "\\\"", 2);
		else if (*s == '\n')
			rt_sbuf_append(b, "\\n", 2);
		else
			rt_sbuf_append(b, s, 1);
}

struct labels {
	const char *kv[2 * MAX_PAIRS];
	int n; /* pairs */
};

/* The NULL-ended pairs of ap into l; 0, or -1 logged (the sample is
 * dropped). */
static int
take_labels(const struct rt_metrics *m, va_list ap, struct labels *l)
{
	const char *k;
	l->n = 0;
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (l->n == MAX_PAIRS || !valid_name(k, 0) || v == NULL ||
		    strncmp(k, "__", 2) == 0 ||
		    (m->type == RT_HISTOGRAM && strcmp(k, "le") == 0)) {
			rt_log_error("metrics: %s: label '%s' is invalid, "
				     "unpaired or one too many: sample left "
				     "out (a bug: fix the collector)",
			    m->family, k);
			return -1;
		}
		l->kv[2 * l->n] = k;
		l->kv[2 * l->n + 1] = v;
		l->n++;
	}
	return 0;
}

/* name{labels[,le="le"]} and a space. */
static void
put_series(struct rt_sbuf *b, const char *name, const char *suffix,
    const struct labels *l, const char *le)
{
	rt_sbuf_printf(b, "%s%s", name, suffix);
	if (l->n == 0 && le == NULL) {
		rt_sbuf_append(b, " ", 1);
		return;
	}
	rt_sbuf_append(b, "{", 1);
	for (int i = 0; i < l->n; i++) {
		rt_sbuf_printf(b, "%s%s=\"", i ? "," : "", l->kv[2 * i]);
		put_value(b, l->kv[2 * i + 1]);
		rt_sbuf_append(b, "\"", 1);
	}
	if (le != NULL)
		rt_sbuf_printf(b, "%sle=\"%s\"", l->n ? "," : "", le);
	rt_sbuf_append(b, "} ", 2);
}

/* The current family if a sample of this kind may go to it. */
static int
sample_ok(const struct rt_metrics *m, int hist)
{
	if (m->family == NULL)
		return 0;
	if ((m->type == RT_HISTOGRAM) != hist) {
		rt_log_error("metrics: %s: a %s sample in a %s family (a bug)",
		    m->family, hist ? "histogram" : "plain",
		    hist ? "plain" : "histogram");
		return 0;
	}
	return 1;
}

/* The labels of a sample of this kind (the NULL-ended pairs of ap) into
 * l: 0, or -1 when the sample is left out (logged). */
static int
open_sample(const struct rt_metrics *m, int hist, va_list ap, struct labels *l)
{
	if (!sample_ok(m, hist))
		return -1;
	return take_labels(m, ap, l);
}

/* A plain sample whose value is already text. */
static void
put_plain(struct rt_metrics *m, const char *value, va_list ap)
{
	struct labels l;
	if (open_sample(m, 0, ap, &l) != 0)
		return;
	put_series(&m->out, m->family, "", &l, NULL);
	rt_sbuf_printf(&m->out, "%s\n", value);
}

void
rt_metrics_u64(struct rt_metrics *m, uint64_t v, ...)
{
	char text[24];
	va_list ap;
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	va_start(ap, v);
	put_plain(m, text, ap);
	va_end(ap);
}

void
rt_metrics_f64(struct rt_metrics *m, double v, ...)
{
	char text[32];
	va_list ap;
	if (isnan(v))
		snprintf(text, sizeof(text), "NaN");
	else if (isinf(v))
		snprintf(text, sizeof(text), "%sInf", v > 0 ? "+" : "-");
	else
		snprintf(text, sizeof(text), "%.17g", v);
	va_start(ap, v);
	put_plain(m, text, ap);
	va_end(ap);
}

void
rt_metrics_single(struct rt_metrics *m, const char *name,
    enum rt_metric_type type, const char *help, uint64_t v)
{
	rt_metrics_family(m, name, type, help);
	rt_metrics_u64(m, v, NULL);
}

void
rt_metrics_hist(struct rt_metrics *m, const struct rt_hist *h, ...)
{
	struct labels l;
	va_list ap;
	va_start(ap, h);
	int rc = open_sample(m, 1, ap, &l);
	va_end(ap);
	if (rc != 0)
		return;
	/* Each bucket read once: the cumulative counts never go down and
	 * the +Inf bucket is the count, even while observations land. */
	uint64_t cum = 0;
	for (int i = 0; i <= RT_HIST_BOUNDS; i++) {
		cum += atomic_load_explicit(&h->bucket[i],
		    memory_order_relaxed);
		put_series(&m->out, m->family, "_bucket", &l, bound_le[i]);
		rt_sbuf_printf(&m->out, "%llu\n", (unsigned long long)cum);
	}
	uint64_t sum = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	put_series(&m->out, m->family, "_sum", &l, NULL);
	rt_sbuf_printf(&m->out, "%llu.%09llu\n",
	    (unsigned long long)(sum / 1000000000u),
	    (unsigned long long)(sum % 1000000000u));
	put_series(&m->out, m->family, "_count", &l, NULL);
	rt_sbuf_printf(&m->out, "%llu\n", (unsigned long long)cum);
}

static void
http_count(void *arg, const char *route, int status, uint64_t n)
{
	char code[16];
	snprintf(code, sizeof(code), "%d", status);
	rt_metrics_u64(arg, n, "route", route[0] ? route : "(none)", "code",
	    status ? code : "other", NULL);
}

void
rt_metrics_http(struct rt_metrics *m, struct rt_http *h)
{
	rt_metrics_family(m, "hs_http_responses_total", RT_COUNTER,
	    "HTTP answers sent, by route (the path pattern that matched; "
	    "(none): no route did) and status code.");
	rt_http_each_count(h, http_count, m);
}

void
rt_metrics_reply(struct rt_http_req *req,
    void (*collect)(void *arg, struct rt_metrics *m), void *arg)
{
	struct rt_metrics m = { .family = NULL };
	collect(arg, &m);
	if (m.out.failed || m.out.buf == NULL) {
		rt_sbuf_free(&m.out);
		rt_http_reply_text(req, 500,
		    "out of memory while writing the metrics page");
		return;
	}
	rt_http_reply(req, 200, RT_METRICS_CONTENT_TYPE, m.out.buf, m.out.len,
	    free, m.out.buf);
}
