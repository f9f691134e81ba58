/* Where the directory leader is, as it published itself in Redis (hash
 * hs:leader:info: id, epoch, rpc, pub). Stores, the replicator and clients
 * find the leader this way with no configuration beyond Redis. */
#ifndef HS_LEADER_INFO_H
#define HS_LEADER_INFO_H

#include <stddef.h>
#include <stdint.h>

#define HS_LEADER_INFO_KEY "hs:leader:info"

struct hs_leader_info {
	char id[64];
	uint64_t epoch;
	char rpc[256];
	char pub[256];
};

/* Reads the leader's entry from the Redis at addr ("host:port") within
 * timeout_ms. 0, or -1 with a reason in why (no Redis, no leader yet). */
int hs_leader_lookup(const char *addr, int timeout_ms,
    struct hs_leader_info *out, char *why, size_t whylen);

#endif
