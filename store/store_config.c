/* stored's option table (store_config.h). */
#include "store_config.h"

#include <stdio.h>

#include "cfg.h"

#define OPT(env, flag, type, field, lo, hi, def, help)                         \
	{ env, flag, type, &cfg->field, lo, hi, def, help }

int
store_config_parse(struct store_config *cfg, int argc, char **argv)
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
		    0, 0, "",
		    "cache Redis host:port (empty: no push-on-write)"),
		OPT("HS_KEY_FILE", "key-file", RT_CFG_STRING, key_file, 0, 0,
		    NULL, "cluster key file"),
		OPT("MAX_VOLUME_SIZE", "max-volume-size", RT_CFG_BYTES,
		    max_volume_size, 1 << 20, 16LL << 30, "4GiB",
		    "roll over to a new volume beyond this size"),
		OPT("COMPACTION_EFFICIENCY_THRESHOLD", "compaction-threshold",
		    RT_CFG_DOUBLE, compaction_threshold, 0, 1, "0.5",
		    "compact a sealed volume whose live fraction is below "
		    "this"),
		OPT("HEARTBEAT_INTERVAL", "heartbeat-interval", RT_CFG_MS,
		    heartbeat_ms, 50, 600000, "1s", "heartbeat period"),
		OPT("STATS_REPORT_INTERVAL", "stats-report-interval", RT_CFG_MS,
		    stats_report_ms, 100, 3600000, "60s",
		    "access report period"),
		OPT("MIN_REPLICA_COUNT", "min-replicas", RT_CFG_INT,
		    min_replicas, 1, 16, "2",
		    "durable copies before a write is acknowledged"),
		OPT("CACHE_TTL", "cache-ttl", RT_CFG_MS, cache_ttl_ms, 1000,
		    30LL * 24 * 3600 * 1000, "1h", "cache entry lifetime"),
		OPT("CACHE_MAX_PHOTO", "cache-max-photo", RT_CFG_BYTES,
		    cache_max_bytes, 0, 64 << 20, "1MiB",
		    "largest photo pushed into the cache"),
		OPT("SCRUB_RATE", "scrub-rate", RT_CFG_INT, scrub_per_sec, 0,
		    1000000, "1000", "needles re-verified per second (0: off)"),
		OPT("STORE_WORKERS", "workers", RT_CFG_INT, workers, 1, 256,
		    "16", "threads for writes, deletes and compaction"),
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
