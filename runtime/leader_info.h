/* Where the directory leader and the active replicator are, as they
 * published themselves in Redis (hashes hs:leader:info and
 * hs:replicator:info: id, epoch, rpc, pub). Stores, the replicator and
 * clients find them this way with no configuration beyond Redis. */
#ifndef HS_LEADER_INFO_H
#define HS_LEADER_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct rt_leader_info {
	char id[64];
	uint64_t epoch;
	char rpc[256];
	char pub[256];
};

/* Reads the leader's entry from the Redis at ep (see redis.h) within
 * timeout_ms. 0, or -1 with a reason in why (no Redis, no leader yet). */
int rt_leader_lookup(const struct rt_redis_ep *ep, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen);

/* The same for the active replicator (hash hs:replicator:info: id, rpc,
 * pub; no epoch). */
int rt_replicator_lookup(const struct rt_redis_ep *ep, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen);

#endif
