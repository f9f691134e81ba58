/* stored: the store service. Wires the needle engine to the Store RPC
 * surface, the event feed, the cache pusher, heartbeats and maintenance;
 * shuts down in the order that lets every accepted write finish. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_stats.h"
#include "background.h"
#include "cache_push.h"
#include "cfg.h"
#include "log.h"
#include "service.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

#define OPT(env, flag, type, field, lo, hi, def, help)                         \
	{ env, flag, type, &cfg->field, lo, hi, def, help }

static int
parse_config(struct store_config *cfg, int argc, char **argv)
{
	const struct rt_cfg_opt opts[] = {
		OPT(NULL, "listen", RT_CFG_STRING, listen, 0, 0,
		    "tcp://127.0.0.1:7200", "RPC address to bind"),
		OPT(NULL, "advertise", RT_CFG_STRING, advertise, 0, 0, "",
		    "RPC address others dial (default: --listen)"),
		OPT(NULL, "pub", RT_CFG_STRING, pub, 0, 0, "",
		    "PUB address for events (empty: none)"),
		OPT(NULL, "data-dir", RT_CFG_STRING, data_dir, 0, 0, NULL,
		    "folder of volume files (must exist)"),
		OPT("STORE_ID", "id", RT_CFG_INT, id, 1, 2147483647, NULL,
		    "this store's id, unique in the cluster"),
		OPT("STORE_ZONE", "zone", RT_CFG_STRING, zone, 0, 0, "",
		    "failure-domain label"),
		OPT("HS_DIRECTORIES", "directories", RT_CFG_STRING, directories,
		    0, 0, "", "comma-separated directory addresses"),
		OPT("HS_REDIS", "redis", RT_CFG_STRING, redis, 0, 0, "",
		    "metadata Redis host:port, to find the directory leader"),
		OPT("HS_REPLICATOR", "replicator", RT_CFG_STRING, replicator, 0,
		    0, "", "replicator address (empty: no reports)"),
		OPT("HS_CACHE_REDIS", "cache-redis", RT_CFG_STRING, cache_redis,
		    0, 0, "", "cache Redis host:port (empty: no push-on-write)"),
		OPT("HS_KEY_FILE", "key-file", RT_CFG_STRING, key_file, 0, 0,
		    NULL, "cluster key file"),
		OPT("MAX_VOLUME_SIZE", "max-volume-size", RT_CFG_BYTES,
		    max_volume_size, 1 << 20, 16LL << 30, "4GiB",
		    "roll over to a new volume beyond this size"),
		OPT("COMPACTION_EFFICIENCY_THRESHOLD", "compaction-threshold",
		    RT_CFG_DOUBLE, compaction_threshold, 0, 1, "0.5",
		    "compact a sealed volume whose live fraction is below this"),
		OPT("HEARTBEAT_INTERVAL", "heartbeat-interval", RT_CFG_MS,
		    heartbeat_ms, 50, 600000, "1s", "heartbeat period"),
		OPT("STATS_REPORT_INTERVAL", "stats-report-interval", RT_CFG_MS,
		    stats_report_ms, 100, 3600000, "60s",
		    "access report period"),
		OPT("MIN_REPLICA_COUNT", "min-replicas", RT_CFG_INT, min_replicas,
		    1, 16, "2", "durable copies before a write is acknowledged"),
		OPT("CACHE_TTL", "cache-ttl", RT_CFG_MS, cache_ttl_ms, 1000,
		    30LL * 24 * 3600 * 1000, "1h", "cache entry lifetime"),
		OPT("CACHE_MAX_PHOTO", "cache-max-photo", RT_CFG_BYTES,
		    cache_max_bytes, 0, 64 << 20, "1MiB",
		    "largest photo pushed into the cache"),
		OPT("SCRUB_RATE", "scrub-rate", RT_CFG_INT, scrub_per_sec, 0,
		    1000000, "1000", "needles re-verified per second (0: off)"),
		OPT("STORE_WORKERS", "workers", RT_CFG_INT, workers, 1, 256, "16",
		    "threads for writes, deletes and compaction"),
		OPT("HS_MAX_MSG", "max-msg", RT_CFG_BYTES, max_msg, 1 << 20,
		    1LL << 30, "72MiB", "largest request accepted"),
	};
	size_t n = sizeof(opts) / sizeof(opts[0]);
	char err[512];
	int rc = rt_cfg_parse(opts, n, argc, argv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "stored: %s\n", err);
		return 64;
	}
	if (rc > 0)
		return 0;
	if (cfg->advertise[0] == '\0')
		cfg->advertise = cfg->listen;
	rt_cfg_log(opts, n);
	return -1; /* go on */
}

static int
open_engine(struct store_service *svc)
{
	struct store_options o;
	store_options_default(&o);
	o.max_volume_size = (uint64_t)svc->cfg.max_volume_size;
	o.compaction_threshold = svc->cfg.compaction_threshold;
	int rc = store_engine_open(svc->cfg.data_dir, &o, &svc->engine);
	if (rc == STORE_E_LOCKED)
		rt_log_error("data dir %s is in use by another stored; stop it first "
		    "or choose another --data-dir", svc->cfg.data_dir);
	else if (rc != 0)
		rt_log_error("cannot open data dir %s: %s", svc->cfg.data_dir,
		    store_strerror(rc));
	return rc;
}

static int
start_rpc(struct store_service *svc)
{
	struct rpc_server_opts so = { .name = svc->name, .key = svc->key,
		.max_msg = (size_t)svc->cfg.max_msg, .contexts = 128 };
	struct rpc_client_opts co = { .key = svc->key,
		.max_msg = (size_t)svc->cfg.max_msg };
	if (rpc_pool_open(&svc->peers, &co) != 0 ||
	    rt_workq_open(&svc->slow, (int)svc->cfg.workers, "store") != 0 ||
	    rpc_server_open(&svc->rpc, &so) != 0 || store_rpc_add(svc) != 0 ||
	    rpc_server_listen(svc->rpc, svc->cfg.listen, NULL, 0) != 0)
		return -1;
	if (svc->cfg.pub[0] != '\0' &&
	    rt_pub_open(&svc->pub, svc->cfg.pub, svc->name) != 0)
		return -1;
	svc->cache = cache_push_open(svc->cfg.cache_redis, svc->cfg.cache_ttl_ms,
	    (size_t)svc->cfg.cache_max_bytes, 256u << 20);
	svc->access = access_stats_open();
	if (svc->cache == NULL || svc->access == NULL)
		return -1;
	return rpc_server_start(svc->rpc);
}

/* Drain accepted writes (they answer through the still-open server), then
 * close the server, then what the handlers and threads used. */
static void
shutdown_service(struct store_service *svc, struct background *bg)
{
	rt_workq_close(svc->slow);
	rpc_server_close(svc->rpc);
	background_stop(bg);
	rpc_pool_close(svc->peers);
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
	int rc = parse_config(&svc.cfg, argc, argv);
	if (rc >= 0)
		return rc;
	snprintf(svc.name, sizeof(svc.name), "store-%lld",
	    (long long)svc.cfg.id);
	rt_log_init(svc.name, 'S');
	if (rt_key_load(&svc.key, svc.cfg.key_file, err, sizeof(err)) != 0) {
		rt_log_error("%s", err);
		return 1;
	}
	if (open_engine(&svc) != 0)
		return 1;
	pthread_mutex_init(&svc.repl_mu, NULL);
	snprintf(svc.repl_addr, sizeof(svc.repl_addr), "%s",
	    svc.cfg.replicator);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct background *bg = NULL;
	if (start_rpc(&svc) != 0 ||
	    (bg = background_start(&svc, err, sizeof(err))) == NULL) {
		rt_log_error("cannot start: %s", bg == NULL ? err : "see above");
		shutdown_service(&svc, bg);
		return 1;
	}
	rt_log_info("serving on %s (data %s, zone '%s')", svc.cfg.advertise,
	    svc.cfg.data_dir, svc.cfg.zone);
	while (!stop_requested)
		pause();
	rt_log_info("stopping");
	shutdown_service(&svc, bg);
	return 0;
}
