/* stored's option table (store_config.h). */
#include "store_config.h"

#include <stdio.h>

#include "cfg.h"
#include "http.h"
#include "svc_cfg.h"
#include "tls.h"

/* After parsing: the checks that span options, then the values derived
 * from them. 0, or -1 with a message in err. */
static int
finish(void *arg, char *err, size_t errlen)
{
	struct store_config *cfg = arg;
	if (rt_svc_cfg_check(&cfg->redis, 1, &cfg->cache_redis, cfg->tls_ca,
		cfg->tls_cert, cfg->listen, &cfg->advertise, err, errlen) != 0)
		return -1;
	if (cfg->http_url[0] == '\0' && cfg->http[0] != '\0') {
		snprintf(cfg->http_url_buf, sizeof(cfg->http_url_buf),
		    "%s://%s", cfg->tls_cert[0] != '\0' ? "https" : "http",
		    cfg->http);
		cfg->http_url = cfg->http_url_buf;
	}
	if (cfg->hint_lease_ms == 0)
		cfg->hint_lease_ms = 3 * cfg->heartbeat_ms;
	return 0;
}

int
store_config_load(struct store_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	const struct rt_cfg_opt opts[] = {
		RT_RPC_CFG_ROWS("tcp://127.0.0.1:7200"),
		RT_HTTP_CFG_ROW,
		RT_CFG_FIELD(NULL, "http-url", RT_CFG_STRING, http_url, 0, 0,
		    "", "photos' base URL for browsers (default: from --http)"),
		RT_CFG_FIELD(NULL, "pub", RT_CFG_STRING, pub, 0, 0, "",
		    "PUB address for events (empty: none)"),
		RT_CFG_FIELD(NULL, "data-dir", RT_CFG_STRING, data_dir, 0, 0,
		    NULL, "folder of volume files (must exist)"),
		RT_CFG_FIELD("STORE_ID", "id", RT_CFG_INT, id, 1, 2147483647,
		    NULL, "this store's id, unique in the cluster"),
		RT_CFG_FIELD("STORE_ZONE", "zone", RT_CFG_STRING, zone, 0, 0,
		    "", "failure-domain label"),
		RT_CFG_FIELD("HS_DIRECTORIES", "directories", RT_CFG_STRING,
		    directories, 0, 0, "",
		    "comma-separated directory addresses"),
		RT_CFG_FIELD("HS_PEERS", "peers", RT_CFG_STRING, peers, 0, 0,
		    "", "stores to copy to as ID=URL,... without directories"),
		RT_REDIS_CFG_FIELDS("HS_REDIS", "redis", redis, "",
		    "metadata Redis, HOST:PORT or unix:/PATH, to find the leader"),
		RT_CFG_FIELD("HS_REPLICATOR", "replicator", RT_CFG_STRING,
		    replicator, 0, 0, "", "replicator address (empty: none)"),
		RT_REDIS_CFG_FIELDS("HS_CACHE_REDIS", "cache-redis",
		    cache_redis, "",
		    "cache Redis, HOST:PORT or unix:/PATH (empty: no push-on-write)"),
		RT_CFG_FIELD("HS_KEY_FILE", "key-file", RT_CFG_STRING, key_file,
		    0, 0, NULL, "this store's identity file (tools:keys)"),
		RT_TLS_CFG_ROWS,
		RT_CFG_FIELD("MAX_VOLUME_SIZE", "max-volume-size", RT_CFG_BYTES,
		    max_volume_size, 1 << 20, 16LL << 30, "4GiB",
		    "roll over to a new volume beyond this size"),
		RT_CFG_FIELD("COMPACTION_EFFICIENCY_THRESHOLD",
		    "compaction-threshold", RT_CFG_DOUBLE, compaction_threshold,
		    0, 1, "0.5",
		    "compact a sealed volume whose live fraction is below "
		    "this"),
		RT_CFG_FIELD("DELETE_RETENTION", "delete-retention", RT_CFG_MS,
		    delete_retention_ms, 0, 366LL * 24 * 3600 * 1000, "168h",
		    "compaction keeps a deleted needle's bytes this long after "
		    "its delete (for hs rebuild and operators)"),
		RT_HEARTBEAT_CFG_ROW(heartbeat_ms, "heartbeat period"),
		RT_CFG_FIELD("HINT_LEASE", "hint-lease", RT_CFG_MS,
		    hint_lease_ms, 0, 600000, "0",
		    "reads by hint are served this long after a heartbeat the "
		    "leader answered was sent (0: 3 heartbeat intervals)"),
		RT_CFG_FIELD("STATS_REPORT_INTERVAL", "stats-report-interval",
		    RT_CFG_MS, stats_report_ms, 100, 3600000, "60s",
		    "access report period"),
		RT_CFG_FIELD("MIN_REPLICA_COUNT", "min-replicas", RT_CFG_INT,
		    min_replicas, 1, 16, "2",
		    "durable copies before a write is acknowledged"),
		RT_CACHE_TTL_CFG_ROW(cache_ttl_ms, "cache entry lifetime"),
		RT_CFG_FIELD("CACHE_MAX_PHOTO", "cache-max-photo", RT_CFG_BYTES,
		    cache_max_bytes, 0, 64 << 20, "1MiB",
		    "largest photo pushed into the cache"),
		RT_CFG_FIELD("SCRUB_RATE", "scrub-rate", RT_CFG_INT,
		    scrub_per_sec, 0, 1000000, "1000",
		    "needles re-verified per second (0: off)"),
		RT_CFG_FIELD("STORE_WORKERS", "workers", RT_CFG_INT, workers, 1,
		    256, "16", "threads for writes, deletes and compaction"),
		RT_CFG_FIELD("HS_MAX_MSG", "max-msg", RT_CFG_BYTES, max_msg,
		    1 << 20, 1LL << 30, "72MiB", "largest request accepted"),
		RT_CFG_FIELD("HS_MAX_CONNS", "max-conns", RT_CFG_INT, max_conns,
		    4, 65536, "256", "RPC connections kept open at once"),
		RT_CFG_FIELD("HS_CONN_IDLE", "conn-idle", RT_CFG_MS,
		    conn_idle_ms, 100, 3600000, "60s",
		    "close an RPC connection idle (no whole request) this long"),
		RT_CFG_FIELD("HS_MAX_CALL", "max-call", RT_CFG_MS, max_call_ms,
		    100, 3600000, "60s",
		    "latest deadline honoured, from a request's arrival"),
	};
	return rt_cfg_load(opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
	    finish, cfg, err, errlen);
}
