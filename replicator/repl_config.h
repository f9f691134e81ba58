/* replicatord's options: one table (repl_config.c) with the original
 * system's environment names, each also a flag, validated at start-up; see
 * docs/replicator.md for the policy each knob drives. */
#ifndef REPL_CONFIG_H
#define REPL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct repl_config {
	const char *id; /* lease owner name */
	const char *listen, *advertise, *pub;
	const char *http; /* web face HOST:PORT; "" = none */
	struct rt_redis_ep redis; /* metadata Redis */
	const char *directories;  /* comma-separated, fallback to Redis info */
	const char *key_file;
	const char *tls_ca, *tls_cert; /* runtime/tls.h */

	int64_t def, min, max;	 /* replica counts */
	double threshold;	 /* ACCESS_RATE_THRESHOLD, requests/min */
	int64_t audit_hour;	 /* NIGHTLY_AUDIT_HOUR, -1 = off */
	int64_t grace_ms;	 /* STORE_DOWN_GRACE */
	int64_t orphan_grace_ms; /* ORPHAN_GRACE */
	double orphan_halt;	 /* AUDIT_ORPHAN_HALT_FRACTION */
	int64_t half_life_ms;	 /* RATE_HALF_LIFE */
	int64_t lease_ms;	 /* REPLICATOR_LEASE_TIMEOUT */
	int64_t tick_ms;	 /* REPLICATOR_TICK */
	int64_t workers;
	int64_t queue_max;
	int64_t rates_max;
	int64_t retry_base_ms;
	int64_t max_attempts;
	int64_t batch; /* needles per Replicate call */
	int64_t batch_bytes;
	int64_t rpc_timeout_ms;
};

/* Parses argv and the environment into cfg, checks the options that span
 * others, and logs every effective value once. 0 go on; 1 after --help
 * (usage printed); -1 with a message naming the option in err. */
int repl_config_load(struct repl_config *cfg, int argc, char **argv, char *err,
    size_t errlen);

#endif
