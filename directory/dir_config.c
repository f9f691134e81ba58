/* The option table of directoryd and the checks that span options
 * (intervals that must fit inside the lease, replica counts in order,
 * Redis addresses). */
#include "dir_config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "redis.h"
#include "stores.h"
#include "svc_cfg.h"
#include "tls.h"

#define NOPTS 35
#define NTEST 3 /* of them, test-only */
#define NWEB 2	/* of them, the web cache's purge */

/* Fills opts with the one option table, its targets in cfg. */
/* The options only tests set, after the others. */
static void
test_options(struct dir_config *cfg, struct rt_cfg_opt out[NTEST])
{
	const struct rt_cfg_opt table[NTEST] = {
		RT_CFG_FIELD("HS_TEST_DROP_PUB_EVERY", "test-drop-pub-every",
		    RT_CFG_INT, test_drop_pub_every, 0, 1e9, "0",
		    "TEST ONLY: a follower drops every Nth photo event it "
		    "receives"),
		RT_CFG_FIELD("HS_TEST_LOAD_DELAY", "test-load-delay", RT_CFG_MS,
		    test_load_delay_ms, 0, 600000, "0",
		    "TEST ONLY: the first load of the records waits this long"),
		RT_CFG_FIELD("HS_TEST_FEED", "test-feed", RT_CFG_STRING,
		    test_feed, 0, 0, "", "TEST ONLY: a follower's extra feed"),
	};
	memcpy(out, table, sizeof(table));
}

/* The web cache's purge on delete (web_purge.h). */
static void
web_options(struct dir_config *cfg, struct rt_cfg_opt out[NWEB])
{
	const struct rt_cfg_opt table[NWEB] = {
		RT_CFG_FIELD("WEB_PURGE", "web-purge", RT_CFG_STRING, web_purge,
		    0, 0, "",
		    "the web cache (nginx) a delete purges, e.g. "
		    "http://127.0.0.1:7103; empty: none"),
		RT_CFG_FIELD("WEB_PURGE_WAIT", "web-purge-wait", RT_CFG_MS,
		    web_purge_wait_ms, 10, 60000, "1s",
		    "a delete waits this long for the purge, then it is "
		    "retried in the background for at most CACHE_TTL"),
	};
	memcpy(out, table, sizeof(table));
}

static void
options(struct dir_config *cfg, struct rt_cfg_opt opts[NOPTS])
{
	const struct rt_cfg_opt table[] = {
		RT_CFG_FIELD("DIR_ID", "id", RT_CFG_STRING, id, 0, 0, NULL,
		    "this directory's unique name, e.g. dir-1"),
		RT_RPC_CFG_ROWS("tcp://127.0.0.1:7100"),
		RT_CFG_FIELD(NULL, "pub", RT_CFG_STRING, pub, 0, 0,
		    "tcp://127.0.0.1:7101", "event feed (PUB) address"),
		RT_HTTP_CFG_ROW,
		RT_REDIS_CFG_FIELDS("HS_REDIS", "redis", redis,
		    "127.0.0.1:6379",
		    "metadata Redis, HOST:PORT, unix:/PATH or "
		    "sentinel:HOST:PORT,.../NAME"),
		RT_REDIS_WAIT_CFG_ROW(redis),
		RT_REDIS_CFG_FIELDS("HS_CACHE_REDIS", "cache-redis",
		    cache_redis, "",
		    "cache Redis, HOST:PORT or unix:/PATH, cleared of deleted photos"),
		RT_CACHE_TTL_CFG_ROW(cache_ttl_ms,
		    "lifetime of cache entries (and of a delete's marker)"),
		RT_CFG_FIELD("HS_KEY_FILE", "key-file", RT_CFG_STRING, key_file,
		    0, 0, NULL, "this directory's identity file (tools:keys)"),
		RT_TLS_CFG_ROWS,
		RT_CFG_FIELD("LEADER_TIMEOUT", "leader-timeout", RT_CFG_MS,
		    leader_timeout_ms, 300, 600000, "10s",
		    "leader lease; a dead leader is replaced within about "
		    "this"),
		RT_CFG_FIELD("LEADER_HEARTBEAT_INTERVAL",
		    "leader-heartbeat-interval", RT_CFG_MS, leader_heartbeat_ms,
		    50, 200000, "2s",
		    "lease refresh (and follower election attempt) period"),
		RT_CFG_FIELD("LEADER_PROBE_INTERVAL", "leader-probe-interval",
		    RT_CFG_MS, leader_probe_ms, 0, 60000, "500ms",
		    "a follower knocks on the leader's port this often; two "
		    "refusals in a row end its lease early; 0: never"),
		RT_CFG_FIELD("FOLLOWER_SYNC_INTERVAL", "follower-sync-interval",
		    RT_CFG_MS, follower_sync_ms, 20, 600000, "1s",
		    "how often a follower checks the change log head"),
		RT_CFG_FIELD("MAX_STORES", "max-stores", RT_CFG_INT, max_stores,
		    1, DIR_MAX_STORES, "1024",
		    "stores the table admits; a new id past it is refused"),
		RT_HEARTBEAT_CFG_ROW(heartbeat_ms,
		    "stores' heartbeat period; 3 missed = DOWN"),
		RT_REPLICA_CFG_ROWS(min_replicas, default_replicas,
		    max_replicas, DIR_MAX_REPLICAS,
		    "fewest replicas an upload may ask for",
		    "stores chosen per upload",
		    "most replicas a photo may have"),
		RT_CFG_FIELD("CHANGELOG_MAX_LEN", "changelog-max-len",
		    RT_CFG_INT, log_max_len, 10, 1e9, "1000000",
		    "change-log entries kept in Redis (a follower further "
		    "behind reloads fully)"),
		RT_CFG_FIELD("TOKEN_TTL", "token-ttl", RT_CFG_MS, token_ttl_ms,
		    1000, 86400000, "10m",
		    "write tokens expire after this; at most half of "
		    "ORPHAN_GRACE"),
		RT_ORPHAN_GRACE_CFG_ROW(orphan_grace_ms,
		    "unregistered needles are deleted after this"),
		RT_CFG_FIELD("REDIS_TIMEOUT", "redis-timeout", RT_CFG_MS,
		    redis_timeout_ms, 10, 60000, "500ms",
		    "bound on Redis calls"),
		RT_CFG_FIELD("LOOKUP_WAIT", "lookup-wait", RT_CFG_MS,
		    lookup_wait_ms, 0, 60000, "2s",
		    "a Lookup's wait for min_seq"),
	};
	_Static_assert(sizeof(table) / sizeof(table[0]) == NOPTS - NWEB - NTEST,
	    "NOPTS counts the table");
	memcpy(opts, table, sizeof(table));
	web_options(cfg, opts + NOPTS - NWEB - NTEST);
	test_options(cfg, opts + NOPTS - NTEST);
}

/* The rule "option a must be at most 1/n of option b" (n 2 or 3), said
 * with why when it is broken. 0, or -1 with err. */
static int
at_most_part(int64_t a, const char *an, int64_t b, const char *bn, int n,
    const char *why, char *err, size_t errlen)
{
	if (a * n <= b)
		return 0;
	snprintf(err, errlen,
	    "%s (%lld ms) must be at most %s of %s (%lld ms)%s", an,
	    (long long)a, n == 2 ? "half" : "a third", bn, (long long)b, why);
	return -1;
}

/* After parsing: the rules between options, then the values derived from
 * them. 0, or -1 with err. */
static int
finish(void *arg, char *err, size_t errlen)
{
	struct dir_config *cfg = arg;
	/* A lease must survive two missed refreshes, or one slow Redis
	 * round trip deposes a healthy leader. A registration is refused
	 * once its token expired; the audit deletes unregistered needles
	 * after ORPHAN_GRACE. Half leaves room for the registration's own
	 * slack and clock skew. */
	if (at_most_part(cfg->leader_heartbeat_ms, "LEADER_HEARTBEAT_INTERVAL",
		cfg->leader_timeout_ms, "LEADER_TIMEOUT", 3, "", err,
		errlen) != 0 ||
	    at_most_part(cfg->redis_timeout_ms, "REDIS_TIMEOUT",
		cfg->leader_timeout_ms, "LEADER_TIMEOUT", 2, "", err,
		errlen) != 0 ||
	    (cfg->orphan_grace_ms > 0 &&
		at_most_part(cfg->token_ttl_ms, "TOKEN_TTL",
		    cfg->orphan_grace_ms, "ORPHAN_GRACE", 2,
		    ", or the audit may delete an upload's needles before "
		    "its registration is refused; shorten TOKEN_TTL",
		    err, errlen) != 0))
		return -1;
	if (rt_cfg_check_replicas(cfg->min_replicas, cfg->default_replicas,
		cfg->max_replicas, err, errlen) != 0)
		return -1;
	if (strlen(cfg->id) == 0 || strlen(cfg->id) > 40) {
		snprintf(err, errlen, "--id must be 1 to 40 characters");
		return -1;
	}
	if (rt_svc_cfg_check(&cfg->redis, 0, &cfg->cache_redis, cfg->tls_ca,
		cfg->tls_cert, cfg->listen, &cfg->advertise, err, errlen) != 0)
		return -1;
	/* From here on every line names this replica, the options too. */
	rt_log_init(cfg->id, 'F');
	return 0;
}

int
dir_config_load(struct dir_config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct rt_cfg_opt opts[NOPTS];
	options(cfg, opts);
	return rt_cfg_load(opts, NOPTS, argc, argv, finish, cfg, err, errlen);
}
