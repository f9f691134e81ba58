/* replicatord's options (see repl_config.h): one table row each (env name,
 * flag, type, bounds, default), its targets in the caller's struct. */
#include "repl_config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "http.h"
#include "svc_cfg.h"
#include "tls.h"

#define NOPTS 32

/* Fills opts with the table, each target a field of cfg. */
static void
options(struct repl_config *cfg, struct rt_cfg_opt opts[NOPTS])
{
	const struct rt_cfg_opt t[] = {
		RT_CFG_FIELD("REPLICATOR_ID", "id", RT_CFG_STRING, id, 0, 0,
		    "replicator", "name of this instance (lease owner, logs)"),
		RT_RPC_CFG_ROWS("tcp://127.0.0.1:7300"),
		RT_HTTP_CFG_ROW,
		RT_CFG_FIELD(NULL, "pub", RT_CFG_STRING, pub, 0, 0, "",
		    "PUB address for task.* and audit.* events (empty: none)"),
		RT_REDIS_CFG_FIELDS("HS_REDIS", "redis", redis, NULL,
		    "metadata Redis, HOST:PORT or unix:/PATH (lease, leader, "
		    "orphan sightings)"),
		RT_REDIS_WAIT_CFG_ROW(redis),
		RT_CFG_FIELD("HS_DIRECTORIES", "directories", RT_CFG_STRING,
		    directories, 0, 0, "",
		    "comma-separated directory addresses (fallback)"),
		RT_CFG_FIELD("HS_KEY_FILE", "key-file", RT_CFG_STRING, key_file,
		    0, 0, NULL, "the replicator's identity file"),
		RT_TLS_CFG_ROWS,
		RT_REPLICA_CFG_ROWS(min, def, max, 6,
		    "fewer healthy replicas than this is URGENT",
		    "replicas of a photo that is not hot",
		    "replicas of a hot photo"),
		RT_CFG_FIELD("ACCESS_RATE_THRESHOLD", "access-rate-threshold",
		    RT_CFG_DOUBLE, threshold, 0, 1e12, "1000",
		    "requests/min above which a photo is hot"),
		RT_CFG_FIELD("NIGHTLY_AUDIT_HOUR", "nightly-audit-hour",
		    RT_CFG_INT, audit_hour, -1, 23, "3",
		    "local hour of the nightly audit (-1: off)"),
		RT_CFG_FIELD("STORE_DOWN_GRACE", "store-down-grace", RT_CFG_MS,
		    grace_ms, 0, 30LL * 24 * 3600 * 1000, "15m",
		    "a store DOWN this long has lost its replicas"),
		RT_ORPHAN_GRACE_CFG_ROW(orphan_grace_ms,
		    "an unregistered needle is deleted after this"),
		RT_CFG_FIELD("AUDIT_ORPHAN_HALT_FRACTION",
		    "audit-orphan-halt-fraction", RT_CFG_DOUBLE, orphan_halt, 0,
		    1, "0.001",
		    "more orphans than this fraction of a store's needles in "
		    "one audit: delete none there, report (lost metadata?)"),
		RT_CFG_FIELD("RATE_HALF_LIFE", "rate-half-life", RT_CFG_MS,
		    half_life_ms, 100, 24LL * 3600 * 1000, "5m",
		    "half-life of the decaying access rate"),
		RT_CFG_FIELD("REPLICATOR_LEASE_TIMEOUT", "lease-timeout",
		    RT_CFG_MS, lease_ms, 300, 600000, "10s",
		    "lease length; refreshed every third of it"),
		RT_CFG_FIELD("REPLICATOR_TICK", "tick", RT_CFG_MS, tick_ms, 20,
		    600000, "1s",
		    "store table refresh and housekeeping period"),
		RT_CFG_FIELD("REPLICATOR_WORKERS", "workers", RT_CFG_INT,
		    workers, 1, 64, "4", "worker threads running tasks"),
		RT_CFG_FIELD("REPLICATOR_QUEUE_MAX", "queue-max", RT_CFG_INT,
		    queue_max, 16, 100000000, "1000000",
		    "most tasks held; beyond it the lowest priority is dropped"),
		RT_CFG_FIELD("REPLICATOR_RATES_MAX", "rates-max", RT_CFG_INT,
		    rates_max, 16, 100000000, "1000000",
		    "most photos with a tracked rate"),
		RT_CFG_FIELD("REPLICATOR_RETRY_BASE", "retry-base", RT_CFG_MS,
		    retry_base_ms, 1, 3600000, "1s",
		    "first retry delay; doubles per attempt (at most 64x)"),
		RT_CFG_FIELD("REPLICATOR_MAX_ATTEMPTS", "max-attempts",
		    RT_CFG_INT, max_attempts, 1, 100, "8",
		    "runs before a task fails"),
		RT_CFG_FIELD("REPAIR_BATCH", "repair-batch", RT_CFG_INT, batch,
		    1, 10000, "256",
		    "photos a worker takes at once (and per Replicate)"),
		RT_CFG_FIELD("REPAIR_BATCH_BYTES", "repair-batch-bytes",
		    RT_CFG_BYTES, batch_bytes, 1 << 20, 60LL << 20, "16MiB",
		    "most needle bytes per Replicate call"),
		RT_CFG_FIELD("REPLICATOR_RPC_TIMEOUT", "rpc-timeout", RT_CFG_MS,
		    rpc_timeout_ms, 100, 600000, "10s",
		    "deadline of each call"),
	};
	_Static_assert(sizeof(t) / sizeof(t[0]) == NOPTS, "NOPTS");
	memcpy(opts, t, sizeof(t));
}

/* After parsing: the checks that span options, then the values derived
 * from them. 0, or -1 with a message in err. */
static int
finish(void *arg, char *err, size_t errlen)
{
	struct repl_config *cfg = arg;
	if (rt_cfg_check_replicas(cfg->min, cfg->def, cfg->max, err, errlen) !=
	    0)
		return -1;
	return rt_svc_cfg_check(&cfg->redis, 0, NULL, cfg->tls_ca,
	    cfg->tls_cert, cfg->listen, &cfg->advertise, err, errlen);
}

int
repl_config_load(struct repl_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct rt_cfg_opt opts[NOPTS];
	options(cfg, opts);
	return rt_cfg_load(opts, NOPTS, argc, argv, finish, cfg, err, errlen);
}
