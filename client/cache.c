/* The photo cache as libhs sees it: a Redis instance holding, under
 * "hs:cache:<24-hex id>", the photo's SHA-256 (32 bytes) followed by its
 * bytes (docs/client.md). The client only reads it; stores fill it on write
 * and the directory removes entries on delete. The cache is a hint: any
 * trouble (down, slow, malformed entry) is a miss, never an error, and a
 * Redis that failed is not asked again for a second so a dead cache costs
 * one connect timeout, not one per download.
 *
 * hiredis contexts are not thread safe, so calls borrow one from a small
 * pool guarded by a mutex and give it back, or drop it after an error. */
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hs_internal.h"
#include "log.h"
#include "photo_id.h"
#include "redis.h"

#define CACHE_POOL 16
#define CACHE_MAX_WAIT_MS 500 /* a cache slower than this is not worth it */
#define CACHE_RETRY_MS 1000

struct hsi_cache {
	char addr[HS_ADDR_MAX];
	char user[64], password_file[1024];
	struct rt_redis_ep ep; /* points at the three above */
	pthread_mutex_t mu;    /* guards pool and down_until */
	redisContext *pool[CACHE_POOL];
	int npool;
	int64_t down_until; /* monotonic ms; 0 = try it */
};

struct hsi_cache *
hsi_cache_open(const struct hs_cluster *cl, hs_error *err)
{
	const char *addr = cl->cache;
	struct hsi_cache *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	char why[300];
	if (strlen(addr) >= sizeof(k->addr) ||
	    rt_redis_check_addr(addr, why, sizeof(why)) != 0) {
		hsi_err(err, HS_INVALID_ARGUMENT,
		    "cache address '%s' is not "
		    "HOST:PORT or unix:/PATH (e.g. 127.0.0.1:6380)",
		    addr);
		free(k);
		return NULL;
	}
	snprintf(k->addr, sizeof(k->addr), "%s", addr);
	snprintf(k->user, sizeof(k->user), "%s", cl->cache_user);
	snprintf(k->password_file, sizeof(k->password_file), "%s",
	    cl->cache_password_file);
	k->ep = (struct rt_redis_ep){ .addr = k->addr,
		.user = k->user,
		.password_file = k->password_file,
		.pw_option = "cache_password_file in the cluster file" };
	/* A password file others can read stops hs_open with what to do; a
	 * refused login later is only a miss, like any cache trouble. */
	char pw[RT_REDIS_PASSWORD_MAX];
	if (k->password_file[0] != '\0' &&
	    rt_redis_read_password(&k->ep, pw, why, sizeof(why)) != 0) {
		hsi_err(err, HS_INVALID_ARGUMENT, "cache: %s", why);
		free(k);
		return NULL;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	pthread_mutex_init(&k->mu, NULL);
	return k;
}

void
hsi_cache_close(struct hsi_cache *k)
{
	if (k == NULL)
		return;
	for (int i = 0; i < k->npool; i++)
		redisFree(k->pool[i]);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
		(suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/* A connection to use until cache_put: NULL when Redis is known to be
 * down or cannot be reached within wait_ms. */
static redisContext *
cache_take(struct hsi_cache *k, int64_t wait_ms)
{
	redisContext *r = NULL;
	pthread_mutex_lock(&k->mu);
	int down = k->down_until > rt_mono_ms();
	if (!down && k->npool > 0)
		r = k->pool[--k->npool];
	pthread_mutex_unlock(&k->mu);
	if (down)
		return NULL;
	if (r == NULL) {
		char why[300];
		r = rt_redis_connect(&k->ep, wait_ms, why, sizeof(why));
		if (r == NULL) {
			rt_log_debug("cache: %s", why);
			pthread_mutex_lock(&k->mu);
			k->down_until = rt_mono_ms() + CACHE_RETRY_MS;
			pthread_mutex_unlock(&k->mu);
			return NULL;
		}
	}
	redisSetTimeout(r, tv_ms(wait_ms));
	return r;
}

/* Gives r back, or drops it when it failed (its stream state is unknown). */
static void
cache_put(struct hsi_cache *k, redisContext *r, int failed)
{
	pthread_mutex_lock(&k->mu);
	if (failed)
		k->down_until = rt_mono_ms() + CACHE_RETRY_MS;
	if (!failed && k->npool < CACHE_POOL) {
		k->pool[k->npool++] = r;
		r = NULL;
	}
	pthread_mutex_unlock(&k->mu);
	redisFree(r);
}

static int64_t
wait_for(int64_t deadline)
{
	int64_t left = hsi_left(deadline);
	return left < CACHE_MAX_WAIT_MS ? (left > 0 ? left : 1) :
					  CACHE_MAX_WAIT_MS;
}

int
hsi_cache_get(struct hsi_cache *k, hs_photo_id id, int64_t deadline,
    void **data, size_t *len)
{
	char key[HS_ID_HEX_LEN + 10];
	redisContext *r = cache_take(k, wait_for(deadline));
	if (r == NULL)
		return 0;
	photo_cache_key(id.key, id.cookie, key);
	redisReply *rep = redisCommand(r, "GET %s", key);
	int failed = rep == NULL || rep->type == REDIS_REPLY_ERROR;
	int hit = 0;
	if (!failed && rep->type == REDIS_REPLY_STRING &&
	    (size_t)rep->len == strlen(PHOTO_CACHE_DELETED) &&
	    memcmp(rep->str, PHOTO_CACHE_DELETED, (size_t)rep->len) == 0) {
		hit = -1;
	} else if (!failed && rep->type == REDIS_REPLY_STRING &&
	    (size_t)rep->len >= HS_SHA256_LEN) {
		size_t n = (size_t)rep->len - HS_SHA256_LEN;
		uint8_t sha[HS_SHA256_LEN];
		hs_sha256(rep->str + HS_SHA256_LEN, n, sha);
		if (memcmp(sha, rep->str, HS_SHA256_LEN) == 0 &&
		    (*data = malloc(n ? n : 1)) != NULL) {
			memcpy(*data, rep->str + HS_SHA256_LEN, n);
			*len = n;
			hit = 1;
		} else if (memcmp(sha, rep->str, HS_SHA256_LEN) != 0) {
			rt_log_warn("cache entry %s does not match its SHA-256; "
				    "ignored",
			    key);
		}
	}
	if (rep != NULL)
		freeReplyObject(rep);
	cache_put(k, r, failed);
	return hit;
}

void
hsi_cache_info(struct hsi_cache *k, int64_t deadline,
    struct hs_cache_stats *out)
{
	out->configured = 1;
	redisContext *r = cache_take(k, wait_for(deadline));
	if (r == NULL)
		return;
	redisReply *rep = redisCommand(r, "INFO");
	redisReply *sz = rep != NULL ? redisCommand(r, "DBSIZE") : NULL;
	int failed = rep == NULL || rep->type != REDIS_REPLY_STRING ||
	    sz == NULL;
	if (!failed) {
		out->reachable = 1;
		out->hits = rt_redis_info_u64(rep->str, "keyspace_hits");
		out->misses = rt_redis_info_u64(rep->str, "keyspace_misses");
		out->used_bytes = rt_redis_info_u64(rep->str, "used_memory");
		out->max_bytes = rt_redis_info_u64(rep->str, "maxmemory");
		if (sz->type == REDIS_REPLY_INTEGER)
			out->keys = (uint64_t)sz->integer;
	}
	if (rep != NULL)
		freeReplyObject(rep);
	if (sz != NULL)
		freeReplyObject(sz);
	cache_put(k, r, failed);
}
