/* stored: the store service. Wires the needle engine to the Store RPC
 * surface, the event feed, the cache pusher, heartbeats and maintenance;
 * shuts down in the order that lets every accepted write finish. */
#include <pthread.h>
#include <stdio.h>

#include "access_stats.h"
#include "background.h"
#include "cache_push.h"
#include "cfg.h"
#include "delete_follow.h"
#include "gone_keys.h"
#include "log.h"
#include "registrar.h"
#include "stop.h"
#include "store.h"
#include "store_forward.h"
#include "store_http.h"
#include "store_metrics.h"

#define GONE_KEEP_MS (10 * 60 * 1000)

/* Threads storing peers' copies (Replicate). A batch of many needles takes
 * one, and a few cover the peers of a store and the replicator's repairs. */
#define COPY_WORKERS 4

static int
open_engine(struct store_service *svc)
{
	struct store_options o;
	store_options_default(&o);
	o.max_volume_size = (uint64_t)svc->cfg.max_volume_size;
	o.compaction_threshold = svc->cfg.compaction_threshold;
	o.delete_retention_ms = svc->cfg.delete_retention_ms;
	o.on_sync = store_metrics_on_sync;
	int rc = store_engine_open(svc->cfg.data_dir, &o, &svc->engine);
	if (rc == STORE_E_LOCKED)
		rt_log_error("data dir %s is in use by another stored; stop "
			     "it first or choose another --data-dir",
		    svc->cfg.data_dir);
	else if (rc != 0)
		rt_log_error("cannot open data dir %s: %s", svc->cfg.data_dir,
		    store_strerror(rc));
	return rc;
}

static int
start_rpc(struct store_service *svc, char *err, size_t errlen)
{
	struct rpc_server_opts so = { .name = svc->name,
		.ident = svc->ident,
		.max_msg = (size_t)svc->cfg.max_msg,
		.contexts = 128,
		.max_conns = (int)svc->cfg.max_conns,
		.idle_ms = svc->cfg.conn_idle_ms,
		.max_call_ms = svc->cfg.max_call_ms };
	struct rpc_client_opts co = { .ident = svc->ident,
		.max_msg = (size_t)svc->cfg.max_msg };
	if (rpc_pool_open(&svc->peers, &co) != 0 ||
	    rt_workq_open(&svc->slow, (int)svc->cfg.workers, "store") != 0 ||
	    rt_workq_open(&svc->copies, COPY_WORKERS, "copies") != 0 ||
	    rpc_server_open(&svc->rpc, &so) != 0 || store_rpc_add(svc) != 0 ||
	    rpc_server_listen(svc->rpc, svc->cfg.listen, NULL, 0) != 0) {
		snprintf(err, errlen,
		    "cannot serve RPC on %s (is the port "
		    "free?)",
		    svc->cfg.listen);
		return -1;
	}
	if (svc->cfg.pub[0] != '\0' &&
	    rt_pub_open(&svc->pub, svc->cfg.pub, svc->name, svc->ident) != 0) {
		snprintf(err, errlen,
		    "cannot publish events on %s (is the "
		    "port free?)",
		    svc->cfg.pub);
		return -1;
	}
	svc->cache = cache_push_open(&svc->cfg.cache_redis,
	    svc->cfg.cache_ttl_ms, (size_t)svc->cfg.cache_max_bytes,
	    256u << 20);
	svc->access = access_stats_open();
	svc->fwd = forwarder_open(svc);
	if (svc->cache == NULL || svc->access == NULL || svc->fwd == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((svc->reg = registrar_open(svc, err, errlen)) == NULL)
		return -1;
	if (rpc_server_start(svc->rpc) != 0) {
		snprintf(err, errlen, "cannot start the RPC server");
		return -1;
	}
	return store_http_start(svc, err, errlen);
}

/* Drain accepted writes (they answer through the still-open server; later
 * ones are refused) and the peers' copies, stop the threads that use the server (the heartbeat
 * raises its fencing floor) and the registrar, then close the server, then
 * what the handlers and threads used. The forwarder and the registrar are
 * freed after the peer clients: a peer's late answer still reaches both
 * (the stopped registrar drops it). */
static void
shutdown_service(struct store_service *svc, struct background *bg)
{
	store_http_stop(svc);
	rt_workq_drain(svc->slow);
	rt_workq_drain(svc->copies);
	registrar_stop(svc->reg);
	background_stop(bg);
	rpc_server_close(svc->rpc);
	rt_workq_close(svc->slow);
	rt_workq_close(svc->copies);
	delete_follow_close(svc->follow);
	gone_keys_close(svc->gone);
	rpc_pool_close(svc->peers);
	registrar_free(svc->reg);
	forwarder_close(svc->fwd);
	cache_push_close(svc->cache);
	access_stats_close(svc->access);
	rt_pub_close(svc->pub);
	if (svc->engine != NULL)
		store_engine_close(svc->engine);
}

int
main(int argc, char **argv)
{
	static struct store_service svc;
	char err[512];
	/* First, so a SIGTERM while the volumes load is an orderly stop
	 * once serving, not death by the default action. */
	rt_stop_block();
	int rc = store_config_load(&svc.cfg, argc, argv, err, sizeof(err));
	if (rc != 0)
		return rt_cfg_exit("stored", rc, err);
	snprintf(svc.name, sizeof(svc.name), "store-%lld",
	    (long long)svc.cfg.id);
	rt_log_init(svc.name, 'S');
	if (rt_ident_load_server(&svc.ident, svc.cfg.key_file, svc.name,
		RT_ROLE_STORE, &svc.key, err, sizeof(err)) != 0) {
		rt_log_error("%s", err);
		return 1;
	}
	if (open_engine(&svc) != 0)
		return 1;
	/* Longer than any copy stays in flight: a forward ends with its
	 * write's deadline, a repair's Push with its call. */
	if ((svc.gone = gone_keys_open(GONE_KEEP_MS)) == NULL) {
		rt_log_error("out of memory");
		return 1;
	}
	if ((svc.follow = delete_follow_open(&svc, err, sizeof(err))) == NULL) {
		rt_log_error("%s", err);
		return 1;
	}
	pthread_mutex_init(&svc.repl_mu, NULL);
	snprintf(svc.repl_addr, sizeof(svc.repl_addr), "%s",
	    svc.cfg.replicator);
	struct background *bg = NULL;
	if (start_rpc(&svc, err, sizeof(err)) != 0 ||
	    (bg = background_start(&svc, err, sizeof(err))) == NULL) {
		rt_log_error("cannot start: %s", err);
		shutdown_service(&svc, bg);
		return 1;
	}
	rt_log_info("serving on %s (data %s, zone '%s')", svc.cfg.advertise,
	    svc.cfg.data_dir, svc.cfg.zone);
	rt_stop_wait(-1);
	rt_log_info("stopping");
	shutdown_service(&svc, bg);
	return 0;
}
