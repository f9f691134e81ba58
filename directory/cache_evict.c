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

struct dir_cache {
	char host[128];
	int port;
	int64_t ttl_ms;
	struct timeval tv;
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
	c->tv.tv_sec = timeout_ms / 1000;
	c->tv.tv_usec = (timeout_ms % 1000) * 1000;
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	if (colon != NULL) {
		snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - addr),
		    addr);
		c->port = atoi(colon + 1);
	}
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
	if (c == NULL || c->port == 0)
		return 0;
	photo_cache_key(key, cookie, ck);
	pthread_mutex_lock(&c->mu);
	if (c->r == NULL) {
		c->r = redisConnectWithTimeout(c->host, c->port, c->tv);
		if (c->r != NULL && !c->r->err)
			redisSetTimeout(c->r, c->tv);
	}
	redisReply *rep = c->r && !c->r->err ? redisCommand(c->r,
	    "SET %s %s PX %lld", ck, PHOTO_CACHE_DELETED,
	    (long long)c->ttl_ms) : NULL;
	if (rep != NULL && rep->type != REDIS_REPLY_ERROR)
		rc = 0;
	if (rep != NULL)
		freeReplyObject(rep);
	if (rc != 0) {
		rt_log_warn("cannot evict %s from the cache at %s:%d; it stays "
		    "until its TTL", ck, c->host, c->port);
		redisFree(c->r);
		c->r = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}
