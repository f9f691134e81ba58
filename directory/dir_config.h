/* directoryd's options: one table (dir_config.c) with the original
 * system's environment names, each also a flag, validated at start-up. */
#ifndef DIR_CONFIG_H
#define DIR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct dir_config {
	const char *id;		  /* this directory's name, e.g. "dir-1" */
	const char *listen;	  /* RPC address (REP) */
	const char *pub;	  /* event feed address (PUB) */
	const char *advertise;	  /* RPC address others dial; "" = listen */
	const char *http;	  /* web face HOST:PORT; "" = none */
	struct rt_redis_ep redis; /* metadata Redis */
	struct rt_redis_ep cache_redis; /* cache Redis; addr "" = none */
	int64_t cache_ttl_ms;  /* how long a delete's cache marker lasts */
	const char *web_purge; /* nginx's base URL (web_purge.h); "" = none */
	int64_t web_purge_wait_ms;     /* a delete's wait for the purge */
	const char *key_file;	       /* this directory's identity file */
	const char *tls_ca, *tls_cert; /* runtime/tls.h; "" = no TLS */
	int64_t leader_timeout_ms;
	int64_t leader_heartbeat_ms;
	int64_t leader_probe_ms; /* 0: no early failover (probe.h) */
	int64_t follower_sync_ms;
	int64_t heartbeat_ms; /* stores' HEARTBEAT_INTERVAL */
	int64_t default_replicas, min_replicas, max_replicas;
	int64_t log_max_len; /* change-log entries kept in Redis */
	int64_t token_ttl_ms;
	int64_t orphan_grace_ms; /* the replicator's; bounds token_ttl_ms */
	int64_t redis_timeout_ms;
	int64_t lookup_wait_ms;	     /* longest wait for a Lookup's min_seq */
	int64_t max_stores;	     /* store table's cap (stores.h) */
	int64_t test_drop_pub_every; /* TEST ONLY: drop every Nth photo event */
	int64_t test_load_delay_ms;  /* TEST ONLY: slow the first load */
	const char *test_feed;	     /* TEST ONLY: one more PUB to follow */
};

/* Parses argv and the environment into cfg (the option table points into
 * it), checks the rules between options and the Redis addresses, starts
 * logging under cfg->id and logs every effective value once. 0 = go on;
 * 1 = --help was printed; -1 = a message naming the option in err. */
int dir_config_load(struct dir_config *cfg, int argc, char **argv, char *err,
    size_t errlen);

#endif
