/* replicatord: keeps every photo at its replica target. Wires the config,
 * the lease, the queue and workers, the audit, the event feed and the RPC
 * surface; shuts down so that every call in progress is answered. */
#include <stdio.h>
#include <stdlib.h>

#include "repl_http.h"
#include "cfg.h"
#include "log.h"
#include "repl.h"
#include "stop.h"
#include "storelink.h"

static int
open_parts(struct repl *r)
{
	struct rpc_server_opts so = { .name = r->name, .ident = r->ident };
	struct rpc_client_opts co = { .ident = r->ident };
	r->pol.min = (uint32_t)r->cfg.min;
	r->pol.def = (uint32_t)r->cfg.def;
	r->pol.max = (uint32_t)r->cfg.max;
	r->pol.threshold = r->cfg.threshold;
	r->pol.grace_ms = r->cfg.grace_ms;
	r->queue = repl_queue_open((size_t)r->cfg.queue_max);
	r->rates = repl_rates_open((size_t)r->cfg.rates_max,
	    r->cfg.half_life_ms);
	r->stores = repl_stores_open();
	if (!r->queue || !r->rates || !r->stores ||
	    rpc_pool_open(&r->pool, &co) != 0) {
		rt_log_error("out of memory");
		return -1;
	}
	if (r->cfg.pub[0] &&
	    rt_pub_open(&r->pub, r->cfg.pub, "replicator", r->ident) != 0) {
		rt_log_error("cannot listen for events on %s", r->cfg.pub);
		return -1;
	}
	if (rpc_server_open(&r->rpc, &so) != 0 || repl_rpc_add(r) != 0 ||
	    rpc_server_listen(r->rpc, r->cfg.listen, NULL, 0) != 0 ||
	    rpc_server_start(r->rpc) != 0) {
		rt_log_error("cannot serve RPCs on %s", r->cfg.listen);
		return -1;
	}
	return repl_http_start(r);
}

static int
start_threads(struct repl *r)
{
	r->worker_thr = calloc((size_t)r->cfg.workers, sizeof(pthread_t));
	if (r->worker_thr == NULL ||
	    pthread_create(&r->audit_thr, NULL, repl_audit_main, r) != 0 ||
	    pthread_create(&r->feed_thr, NULL, repl_feed_main, r) != 0 ||
	    pthread_create(&r->tick_thr, NULL, repl_tick_main, r) != 0 ||
	    pthread_create(&r->lease_thr, NULL, repl_lease_main, r) != 0)
		return -1;
	for (int64_t i = 0; i < r->cfg.workers; i++)
		if (pthread_create(&r->worker_thr[i], NULL, repl_worker_main,
			r) != 0)
			return -1;
	return 0;
}

/* Threads first (the audit thread answers its waiters), then the server
 * (no handler is left waiting), then what they used. */
static void
shutdown_all(struct repl *r)
{
	atomic_store(&r->stop, 1);
	repl_queue_wake(r->queue);
	pthread_mutex_lock(&r->audit_mu);
	pthread_cond_broadcast(&r->audit_cv);
	pthread_mutex_unlock(&r->audit_mu);
	pthread_join(r->lease_thr, NULL);
	pthread_join(r->tick_thr, NULL);
	pthread_join(r->feed_thr, NULL);
	for (int64_t i = 0; i < r->cfg.workers; i++)
		pthread_join(r->worker_thr[i], NULL);
	pthread_join(r->audit_thr, NULL);
	repl_http_stop(r);
	rpc_server_close(r->rpc);
	rpc_pool_close(r->pool);
	rt_pub_close(r->pub);
	repl_queue_close(r->queue);
	repl_rates_close(r->rates);
	repl_stores_close(r->stores);
	free(r->worker_thr);
}

int
main(int argc, char **argv)
{
	static struct repl r;
	char err[512];
	int rc = repl_config_load(&r.cfg, argc, argv, err, sizeof(err));
	if (rc != 0)
		return rt_cfg_exit("replicatord", rc, err);
	snprintf(r.name, sizeof(r.name), "%s", r.cfg.id);
	rt_log_init(r.name, 'r'); /* 'R' once active */
	if (rt_ident_load_server(&r.ident, r.cfg.key_file, "replicator",
		RT_ROLE_REPLICATOR, &r.key, err, sizeof(err)) != 0) {
		rt_log_error("%s", err);
		return 1;
	}
	pthread_mutex_init(&r.leader_mu, NULL);
	pthread_mutex_init(&r.audit_mu, NULL);
	pthread_cond_init(&r.audit_cv, NULL);
	rt_stop_block();
	if (open_parts(&r) != 0 || start_threads(&r) != 0) {
		rt_log_error("cannot start; see above");
		return 1;
	}
	rt_log_info("serving on %s (standby until the lease is ours)",
	    r.cfg.advertise);
	rt_stop_wait(-1);
	rt_log_info("stopping");
	shutdown_all(&r);
	return 0;
}
