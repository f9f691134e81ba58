/* Leader lookup in Redis (see leader_info.h): one short-lived connection,
 * since callers ask rarely (on start-up and after losing the leader). */
#include "leader_info.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
lookup(const char *addr, const char *key, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen)
{
	char host[128];
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	if (colon == NULL) {
		snprintf(why, whylen, "bad Redis address '%s' (want host:port)",
		    addr ? addr : "");
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
	if (c == NULL || c->err) {
		snprintf(why, whylen, "cannot reach Redis at %s: %s", addr,
		    c ? c->errstr : "out of memory");
		redisFree(c);
		return -1;
	}
	redisSetTimeout(c, tv);
	redisReply *r = redisCommand(c, "HMGET %s id epoch rpc pub", key);
	int rc = -1;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
		snprintf(why, whylen, "Redis at %s did not answer", addr);
	} else if (r->element[2]->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "nothing is registered under %s yet", key);
	} else {
		memset(out, 0, sizeof(*out));
		if (r->element[0]->type == REDIS_REPLY_STRING)
			snprintf(out->id, sizeof(out->id), "%s", r->element[0]->str);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			out->epoch = strtoull(r->element[1]->str, NULL, 10);
		snprintf(out->rpc, sizeof(out->rpc), "%s", r->element[2]->str);
		if (r->element[3]->type == REDIS_REPLY_STRING)
			snprintf(out->pub, sizeof(out->pub), "%s",
			    r->element[3]->str);
		rc = 0;
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return rc;
}

int
rt_leader_lookup(const char *addr, int timeout_ms, struct rt_leader_info *out,
    char *why, size_t whylen)
{
	return lookup(addr, HS_LEADER_INFO_KEY, timeout_ms, out, why, whylen);
}

int
rt_replicator_lookup(const char *addr, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen)
{
	return lookup(addr, HS_REPLICATOR_INFO_KEY, timeout_ms, out, why,
	    whylen);
}
