/* The option table of directoryd and the checks that span options
 * (intervals that must fit inside the lease, replica counts in order,
 * Redis addresses). */
#include "dir_config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "records.h"
#include "redis.h"

#define NOPTS 20

/* Fills opts with the one option table, its targets in cfg. */
static void
options(struct dir_config *cfg, struct rt_cfg_opt opts[NOPTS])
{
	const struct rt_cfg_opt table[] = {
		{ "DIR_ID", "id", RT_CFG_STRING, &cfg->id, 0, 0, NULL,
		    "this directory's unique name, e.g. dir-1" },
		{ NULL, "listen", RT_CFG_STRING, &cfg->listen, 0, 0,
		    "tcp://127.0.0.1:7100", "RPC address to serve on" },
		{ NULL, "pub", RT_CFG_STRING, &cfg->pub, 0, 0,
		    "tcp://127.0.0.1:7101", "event feed (PUB) address" },
		{ NULL, "advertise", RT_CFG_STRING, &cfg->advertise, 0, 0, "",
		    "RPC address others dial (default: --listen)" },
		{ "HS_REDIS", "redis", RT_CFG_STRING, &cfg->redis, 0, 0,
		    "127.0.0.1:6379",
		    "metadata Redis, HOST:PORT or unix:/PATH" },
		{ "HS_CACHE_REDIS", "cache-redis", RT_CFG_STRING,
		    &cfg->cache_redis, 0, 0, "",
		    "cache Redis HOST:PORT, cleared of deleted photos" },
		{ "CACHE_TTL", "cache-ttl", RT_CFG_MS, &cfg->cache_ttl_ms, 1000,
		    30.0 * 24 * 3600 * 1000, "1h",
		    "lifetime of cache entries (and of a delete's marker)" },
		{ "HS_KEY_FILE", "key-file", RT_CFG_STRING, &cfg->key_file, 0,
		    0, NULL, "cluster key file" },
		{ "LEADER_TIMEOUT", "leader-timeout", RT_CFG_MS,
		    &cfg->leader_timeout_ms, 300, 600000, "10s",
		    "leader lease; a dead leader is replaced within about "
		    "this" },
		{ "LEADER_HEARTBEAT_INTERVAL", "leader-heartbeat-interval",
		    RT_CFG_MS, &cfg->leader_heartbeat_ms, 50, 200000, "2s",
		    "lease refresh (and follower election attempt) period" },
		{ "FOLLOWER_SYNC_INTERVAL", "follower-sync-interval", RT_CFG_MS,
		    &cfg->follower_sync_ms, 20, 600000, "1s",
		    "how often a follower checks the change log head" },
		{ "HEARTBEAT_INTERVAL", "heartbeat-interval", RT_CFG_MS,
		    &cfg->heartbeat_ms, 20, 3600000, "1s",
		    "stores' heartbeat period; 3 missed = DOWN" },
		{ "DEFAULT_REPLICA_COUNT", "default-replica-count", RT_CFG_INT,
		    &cfg->default_replicas, 1, DIR_MAX_REPLICAS, "3",
		    "stores chosen per upload" },
		{ "MIN_REPLICA_COUNT", "min-replica-count", RT_CFG_INT,
		    &cfg->min_replicas, 1, DIR_MAX_REPLICAS, "2",
		    "fewest replicas an upload may ask for" },
		{ "MAX_REPLICA_COUNT", "max-replica-count", RT_CFG_INT,
		    &cfg->max_replicas, 1, DIR_MAX_REPLICAS, "5",
		    "most replicas a photo may have" },
		{ "CHANGELOG_MAX_LEN", "changelog-max-len", RT_CFG_INT,
		    &cfg->log_max_len, 10, 1e9, "1000000",
		    "change-log entries kept in Redis (a follower further "
		    "behind reloads fully)" },
		{ "TOKEN_TTL", "token-ttl", RT_CFG_MS, &cfg->token_ttl_ms, 1000,
		    86400000, "10m", "write tokens expire after this" },
		{ "REDIS_TIMEOUT", "redis-timeout", RT_CFG_MS,
		    &cfg->redis_timeout_ms, 10, 60000, "500ms",
		    "bound on every Redis call" },
		{ "LOOKUP_WAIT", "lookup-wait", RT_CFG_MS, &cfg->lookup_wait_ms,
		    0, 60000, "2s", "longest a Lookup waits for its min_seq" },
		{ "HS_TEST_DROP_PUB_EVERY", "test-drop-pub-every", RT_CFG_INT,
		    &cfg->test_drop_pub_every, 0, 1e9, "0",
		    "TEST ONLY: a follower drops every Nth photo event it "
		    "receives" },
	};
	_Static_assert(sizeof(table) / sizeof(table[0]) == NOPTS,
	    "NOPTS counts the table");
	memcpy(opts, table, sizeof(table));
}

/* A Redis address option, when set, must parse: a bad one stops start-up
 * here rather than in the first thread that dials it. */
static int
check_redis(const char *name, const char *addr, int optional, char *err,
    size_t errlen)
{
	char why[256];
	if (optional && addr[0] == '\0')
		return 0;
	if (rt_redis_check_addr(addr, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", name, why);
	return -1;
}

/* The rules between options, after parsing. 0, or -1 with err. */
static int
validate(const struct dir_config *cfg, char *err, size_t errlen)
{
	/* A lease must survive two missed refreshes, or one slow Redis
	 * round trip deposes a healthy leader. */
	if (cfg->leader_heartbeat_ms * 3 > cfg->leader_timeout_ms) {
		snprintf(err, errlen, "LEADER_HEARTBEAT_INTERVAL (%lld ms) "
		    "must be at most a third of LEADER_TIMEOUT (%lld ms)",
		    (long long)cfg->leader_heartbeat_ms,
		    (long long)cfg->leader_timeout_ms);
		return -1;
	}
	if (cfg->redis_timeout_ms * 2 > cfg->leader_timeout_ms) {
		snprintf(err, errlen, "REDIS_TIMEOUT (%lld ms) must be at most "
		    "half of LEADER_TIMEOUT (%lld ms)",
		    (long long)cfg->redis_timeout_ms,
		    (long long)cfg->leader_timeout_ms);
		return -1;
	}
	if (cfg->min_replicas > cfg->default_replicas ||
	    cfg->default_replicas > cfg->max_replicas) {
		snprintf(err, errlen, "need MIN_REPLICA_COUNT (%lld) <= "
		    "DEFAULT_REPLICA_COUNT (%lld) <= MAX_REPLICA_COUNT (%lld)",
		    (long long)cfg->min_replicas,
		    (long long)cfg->default_replicas,
		    (long long)cfg->max_replicas);
		return -1;
	}
	if (strlen(cfg->id) == 0 || strlen(cfg->id) > 40) {
		snprintf(err, errlen, "--id must be 1 to 40 characters");
		return -1;
	}
	if (check_redis("HS_REDIS", cfg->redis, 0, err, errlen) != 0 ||
	    check_redis("HS_CACHE_REDIS", cfg->cache_redis, 1, err,
	    errlen) != 0)
		return -1;
	return 0;
}

int
dir_config_load(struct dir_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct rt_cfg_opt opts[NOPTS];
	options(cfg, opts);
	int rc = rt_cfg_parse(opts, NOPTS, argc, argv, err, errlen);
	if (rc != 0)
		return rc;
	if (validate(cfg, err, errlen) != 0)
		return -1;
	if (cfg->advertise[0] == '\0')
		cfg->advertise = cfg->listen;
	/* From here on every line names this replica, the options too. */
	rt_log_init(cfg->id, 'F');
	rt_cfg_log(opts, NOPTS);
	return 0;
}
