/* What every service's option table (runtime/cfg.h) has in common: the
 * rows of its RPC addresses and of the cluster settings more than one
 * service reads (one setting: the same name, bounds and default in each),
 * and the checks its options end with. */
#ifndef RT_SVC_CFG_H
#define RT_SVC_CFG_H

#include <stddef.h>

#include "cfg.h"
#include "redis.h"

/* --listen (default listen_def) and --advertise, the fields listen and
 * advertise (const char *) of the config struct; rt_svc_cfg_check fills
 * in advertise. */
#define RT_RPC_CFG_ROWS(listen_def)                                            \
	RT_CFG_FIELD(NULL, "listen", RT_CFG_STRING, listen, 0, 0, listen_def,  \
	    "RPC address to bind"),                                            \
	    RT_CFG_FIELD(NULL, "advertise", RT_CFG_STRING, advertise, 0, 0,    \
		"", "RPC address others dial (default: --listen)")

/* The replica counts the directory (what an upload may ask for) and the
 * replicator (what it keeps) both read, into the int64_t fields min_f,
 * def_f and max_f, each row with the service's own help; at most hi.
 * rt_cfg_check_replicas holds them in order. */
#define RT_REPLICA_CFG_ROWS(min_f, def_f, max_f, hi, min_help, def_help,       \
    max_help)                                                                  \
	RT_CFG_FIELD("DEFAULT_REPLICA_COUNT", "default-replica-count",         \
	    RT_CFG_INT, def_f, 1, hi, "3", def_help),                          \
	    RT_CFG_FIELD("MIN_REPLICA_COUNT", "min-replica-count", RT_CFG_INT, \
		min_f, 1, hi, "2", min_help),                                  \
	    RT_CFG_FIELD("MAX_REPLICA_COUNT", "max-replica-count", RT_CFG_INT, \
		max_f, 1, hi, "5", max_help)

/* How long an unregistered needle lives (the directory's tokens must
 * expire well within it; the replicator's audit deletes it after it). */
#define RT_ORPHAN_GRACE_CFG_ROW(field, help)                                   \
	RT_CFG_FIELD("ORPHAN_GRACE", "orphan-grace", RT_CFG_MS, field, 0,      \
	    30LL * 24 * 3600 * 1000, "1h", help)

/* The stores' heartbeat period: the stores send at it and the directory
 * takes three missed as DOWN, so both read the one setting. */
#define RT_HEARTBEAT_CFG_ROW(field, help)                                      \
	RT_CFG_FIELD("HEARTBEAT_INTERVAL", "heartbeat-interval", RT_CFG_MS,    \
	    field, 50, 600000, "1s", help)

/* How long a photo cache entry lives: the stores set it on what they
 * push, the directory keeps a delete's marker as long. */
#define RT_CACHE_TTL_CFG_ROW(field, help)                                      \
	RT_CFG_FIELD("CACHE_TTL", "cache-ttl", RT_CFG_MS, field, 1000,         \
	    30LL * 24 * 3600 * 1000, "1h", help)

/* Writes to the metadata Redis (the directories' commits and lease, the
 * replicator's lease) count as done only once this many replicas have
 * them (WAIT; 1 with Sentinel: docs/reliability.md). Into the rt_redis_ep
 * field's wait_replicas. */
#define RT_REDIS_WAIT_CFG_ROW(field)                                           \
	RT_CFG_FIELD("HS_REDIS_WAIT_REPLICAS", "redis-wait-replicas",          \
	    RT_CFG_INT, field.wait_replicas, 0, 16, "0",                       \
	    "writes to the metadata Redis are done only once this many "       \
	    "replicas have them (WAIT; 1 with Sentinel)")

/* The checks every service's options end with, in this order: its
 * metadata Redis (an empty address taken when redis_optional), its cache
 * Redis when it has one (cache not NULL; empty: none), its TLS files; then
 * *advertise, when empty, becomes listen. 0, or -1 with a message in err. */
int rt_svc_cfg_check(struct rt_redis_ep *redis, int redis_optional,
    struct rt_redis_ep *cache, const char *tls_ca, const char *tls_cert,
    const char *listen, const char **advertise, char *err, size_t errlen);

#endif
