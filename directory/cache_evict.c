/* Cache eviction for deletes (see cache_evict.h): one hiredis connection
 * under a mutex, reopened after a failure; deletes are rare. */
#include "cache_evict.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "photo_id.h"
#include "redis.h"

struct dir_cache {
	char addr[256]; /* empty: no cache */
	int64_t ttl_ms, timeout_ms;
	pthread_mutex_t mu;
	redisContext *r;
};

struct dir_cache *
dir_cache_open(const char *addr, int64_t ttl_ms, int64_t timeout_ms)
{
	struct dir_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	c->ttl_ms = ttl_ms;
	c->timeout_ms = timeout_ms;
	snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "");
	return c;
}

void
dir_cache_close(struct dir_cache *c)
{
	if (c == NULL)
		return;
	if (c->r != NULL)
		redisFree(c->r);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int
dir_cache_forget(struct dir_cache *c, uint64_t key, uint32_t cookie)
{
	char ck[PHOTO_CACHE_KEY_LEN + 1];
	int rc = -1;
	if (c == NULL || c->addr[0] == '\0')
		return 0;
	photo_cache_key(key, cookie, ck);
	pthread_mutex_lock(&c->mu);
	char err[256] = "no reply";
	if (c->r == NULL)
		c->r = rt_redis_connect(c->addr, c->timeout_ms, err,
		    sizeof(err));
	redisReply *rep = c->r ?
	    redisCommand(c->r, "SET %s %s PX %lld", ck, PHOTO_CACHE_DELETED,
		(long long)c->ttl_ms) :
	    NULL;
	if (rep != NULL && rep->type != REDIS_REPLY_ERROR)
		rc = 0;
	else if (rep != NULL)
		snprintf(err, sizeof(err), "%s", rep->str);
	else if (c->r != NULL)
		snprintf(err, sizeof(err), "%s", c->r->errstr);
	if (rep != NULL)
		freeReplyObject(rep);
	if (rc != 0) {
		rt_log_warn("cannot evict %s from the cache at %s (%s); it "
			    "stays until its TTL",
		    ck, c->addr, err);
		redisFree(c->r);
		c->r = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}
