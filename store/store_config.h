/* stored's configuration: every option, its flag, environment variable,
 * bounds and default, in one table (store_config.c). */
#ifndef STORE_STORE_CONFIG_H
#define STORE_STORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct store_config {
	const char *listen;    /* RPC address to bind */
	const char *advertise; /* what others dial (default: listen) */
	const char *http;      /* web face HOST:PORT; "" = none */
	const char *http_url;  /* what browsers and caches fetch from */
	char http_url_buf[300]; /* http_url when derived from http */
	const char *pub;       /* PUB address */
	const char *data_dir;
	int64_t id;
	const char *zone;
	const char *directories;  /* comma-separated directory addresses */
	const char *peers;	  /* "ID=URL,..." seeding the store table */
	struct rt_redis_ep redis; /* metadata Redis (leader lookup) */
	const char *replicator;	  /* replicator address, may be empty */
	struct rt_redis_ep cache_redis; /* cache Redis; addr may be empty */
	const char *key_file;
	const char *tls_ca, *tls_cert; /* runtime/tls.h; "" = no TLS */
	int64_t max_volume_size;
	double compaction_threshold;
	int64_t heartbeat_ms;
	int64_t stats_report_ms;
	int64_t min_replicas;
	int64_t cache_ttl_ms;
	int64_t cache_max_bytes; /* photos above this are not pushed */
	int64_t scrub_per_sec;	 /* needles verified per second */
	int64_t workers;	 /* threads for writes, deletes, compaction */
	int64_t max_msg;
	int64_t delete_retention_ms; /* deleted bytes kept before reclaim */
	int64_t hint_lease_ms;	     /* reads by hint served this long after a
				  heartbeat the leader answered was sent */
	int64_t max_conns, conn_idle_ms, max_call_ms; /* rpc_limits.h */
};

/* Fills cfg from argv and the environment, checks it and logs it. 0 to go
 * on, 1 after --help, -1 with a message in err (see rt_cfg_load). Strings
 * point into argv, the environment or the table's defaults; cfg owns none
 * of them. */
int store_config_load(struct store_config *cfg, int argc, char **argv,
    char *err, size_t errlen);

#endif
