/* The RPC server's counters and their page (rpc_server_metrics.h). Labels
 * come from the service descriptors only, never from a request, so a
 * caller cannot add series. */
#include "rpc_server_metrics.h"

#include "clock.h"
#include "rpc_server_impl.h"

void
rpc_server_count(struct rpc_call *c, hs_status code)
{
	unsigned i = (unsigned)code <= HS_STATUS_MAX ? (unsigned)code :
						       HS_UNKNOWN;
	if (c->stats == NULL) {
		atomic_fetch_add_explicit(&c->srv->rejected[i], 1,
		    memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&c->stats->codes[i], 1, memory_order_relaxed);
	rt_hist_observe_ns(&c->stats->latency, rt_mono_ns() - c->start_ns);
	c->stats = NULL;
}

/* Every served method's OK count (0 included, so a rate starts from the
 * first scrape), and other codes once they happened. */
static void
requests(rpc_server *s, struct rt_metrics *m)
{
	rt_metrics_family(m, "hs_rpc_requests_total", RT_COUNTER,
	    "RPC requests answered, by service, method and status code.");
	for (int i = 0; i < s->nservices; i++) {
		const struct service *sv = &s->services[i];
		for (unsigned j = 0; j < sv->desc->n_methods; j++) {
			if (sv->handlers[j] == NULL)
				continue;
			for (int k = 0; k <= HS_STATUS_MAX; k++) {
				uint64_t n =
				    atomic_load_explicit(&sv->stats[j].codes[k],
					memory_order_relaxed);
				if (n != 0 || k == HS_OK)
					rt_metrics_u64(m, n, "service",
					    sv->desc->name, "method",
					    sv->desc->methods[j].name, "code",
					    hs_status_str(k), NULL);
			}
		}
	}
}

static int
called(const struct rt_hist *h)
{
	for (int i = 0; i <= RT_HIST_BOUNDS; i++)
		if (atomic_load_explicit(&h->bucket[i], memory_order_relaxed))
			return 1;
	return 0;
}

void
rpc_server_metrics(rpc_server *s, struct rt_metrics *m)
{
	if (s == NULL)
		return;
	requests(s, m);
	rt_metrics_family(m, "hs_rpc_request_duration_seconds", RT_HISTOGRAM,
	    "RPC latency from a request's arrival to its answer, by service "
	    "and method (methods called at least once).");
	for (int i = 0; i < s->nservices; i++) {
		const struct service *sv = &s->services[i];
		for (unsigned j = 0; j < sv->desc->n_methods; j++)
			if (sv->handlers[j] != NULL &&
			    called(&sv->stats[j].latency))
				rt_metrics_hist(m, &sv->stats[j].latency,
				    "service", sv->desc->name, "method",
				    sv->desc->methods[j].name, NULL);
	}
	rt_metrics_family(m, "hs_rpc_rejected_total", RT_COUNTER,
	    "RPC requests refused before a method was known (malformed, "
	    "unauthenticated, unknown service or method), by status code; "
	    "a client learning a server's name sends one unauthenticated "
	    "request, counted here too.");
	for (int k = 0; k <= HS_STATUS_MAX; k++) {
		uint64_t n = atomic_load_explicit(&s->rejected[k],
		    memory_order_relaxed);
		if (n != 0 || k == HS_UNAUTHENTICATED)
			rt_metrics_u64(m, n, "code", hs_status_str(k), NULL);
	}
}
