/* Leader lookup in Redis (see leader_info.h): one short-lived connection,
 * since callers ask rarely (on start-up and after losing the leader). */
#include "leader_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"
#include "redis_keys.h"

static int
lookup(const struct rt_redis_ep *ep, const char *key, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen)
{
	redisContext *c = rt_redis_connect(ep, timeout_ms, why, whylen);
	if (c == NULL)
		return -1;
	redisReply *r = redisCommand(c, "HMGET %s id epoch rpc pub", key);
	int rc = -1;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
		snprintf(why, whylen, "Redis at %s did not answer: %.200s",
		    ep->addr,
		    r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
	} else if (r->element[2]->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "nothing is registered under %s yet",
		    key);
	} else {
		memset(out, 0, sizeof(*out));
		if (r->element[0]->type == REDIS_REPLY_STRING)
			snprintf(out->id, sizeof(out->id), "%s",
			    r->element[0]->str);
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
rt_leader_lookup(const struct rt_redis_ep *ep, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen)
{
	return lookup(ep, RK_LEADER_INFO, timeout_ms, out, why, whylen);
}

int
rt_replicator_lookup(const struct rt_redis_ep *ep, int timeout_ms,
    struct rt_leader_info *out, char *why, size_t whylen)
{
	return lookup(ep, RK_REPLICATOR_INFO, timeout_ms, out, why, whylen);
}
