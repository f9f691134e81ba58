/* Cache eviction for deletes (see cache_evict.h): one hiredis connection
 * under a mutex, reopened after a failure; deletes are rare, so a Delete
 * may wait for a few tries. */
#include "cache_evict.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "redis.h"

struct dir_cache {
	char addr[256];	       /* empty: no cache */
	struct rt_redis_ep ep; /* the directory's cache user */
	int64_t ttl_ms, timeout_ms;
	pthread_mutex_t mu;
	redisContext *r;
	/* /metrics' own connection: a scrape never holds up a delete. */
	pthread_mutex_t smu;
	redisContext *rs;
};

struct dir_cache *
dir_cache_open(const struct rt_redis_ep *ep, int64_t ttl_ms, int64_t timeout_ms)
{
	struct dir_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->smu, NULL);
	c->ttl_ms = ttl_ms;
	c->timeout_ms = timeout_ms;
	c->ep = *ep;
	snprintf(c->addr, sizeof(c->addr), "%s", ep->addr ? ep->addr : "");
	return c;
}

void
dir_cache_close(struct dir_cache *c)
{
	if (c == NULL)
		return;
	if (c->r != NULL)
		redisFree(c->r);
	if (c->rs != NULL)
		redisFree(c->rs);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->smu);
	free(c);
}

/* One try under c->mu: 0, or -1 with why. */
static int
forget_once(struct dir_cache *c, const char *ck, char *why, size_t whylen)
{
	int rc = -1;
	snprintf(why, whylen, "no reply");
	if (c->r == NULL)
		c->r = rt_redis_connect(&c->ep, c->timeout_ms, why, whylen);
	redisReply *rep = c->r ?
	    redisCommand(c->r, "SET %s %s PX %lld", ck, PHOTO_CACHE_DELETED,
		(long long)c->ttl_ms) :
	    NULL;
	if (rep != NULL && rep->type != REDIS_REPLY_ERROR)
		rc = 0;
	else if (rep != NULL)
		snprintf(why, whylen, "%s", rep->str);
	else if (c->r != NULL)
		snprintf(why, whylen, "%s", c->r->errstr);
	if (rep != NULL)
		freeReplyObject(rep);
	if (rc != 0 && c->r != NULL) {
		redisFree(c->r);
		c->r = NULL;
	}
	return rc;
}

int
dir_cache_forget(struct dir_cache *c, uint64_t key, uint32_t cookie, char *err,
    size_t errlen)
{
	char ck[PHOTO_CACHE_KEY_LEN + 1], why[256] = "";
	int rc = -1;
	if (c == NULL || c->addr[0] == '\0')
		return 0;
	photo_cache_key(key, cookie, ck);
	pthread_mutex_lock(&c->mu);
	/* A blip (a restart, a failover) passes within a few tries; a cache
	 * that stays away fails the Delete, which its caller retries. */
	for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
		if (attempt > 0)
			rt_sleep_ms(100);
		rc = forget_once(c, ck, why, sizeof(why));
	}
	pthread_mutex_unlock(&c->mu);
	if (rc != 0) {
		snprintf(err, errlen,
		    "the cache at %s could not be cleared of %s (%s)", c->addr,
		    ck, why);
		rt_log_warn("%s", err);
	}
	return rc;
}

int
dir_cache_stats(struct dir_cache *c, uint64_t *hits, uint64_t *misses)
{
	char why[256];
	int rc = -1;
	if (c == NULL || c->addr[0] == '\0')
		return -1;
	pthread_mutex_lock(&c->smu);
	if (c->rs == NULL)
		c->rs = rt_redis_connect(&c->ep, c->timeout_ms, why,
		    sizeof(why));
	redisReply *rep = c->rs ? redisCommand(c->rs, "INFO stats") : NULL;
	if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
		*hits = rt_redis_info_u64(rep->str, "keyspace_hits");
		*misses = rt_redis_info_u64(rep->str, "keyspace_misses");
		rc = 0;
	}
	if (rep != NULL)
		freeReplyObject(rep);
	if (rc != 0 && c->rs != NULL) {
		redisFree(c->rs);
		c->rs = NULL;
	}
	pthread_mutex_unlock(&c->smu);
	return rc;
}
