/* The cache pusher (see cache_push.h): a FIFO of owned copies, bounded in
 * bytes, drained by one thread holding one hiredis connection, reconnected
 * on failure with a bounded back-off. */
#include "cache_push.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "redis.h"

struct push {
	struct push *next;
	char key[PHOTO_CACHE_KEY_LEN + 1];
	size_t len;	 /* of value */
	uint8_t value[]; /* sha256 + data */
};

struct cache_push {
	char addr[256];	       /* empty: disabled */
	struct rt_redis_ep ep; /* the store's cache user */
	int64_t ttl_ms;
	size_t max_photo, max_queued;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct push *head, *tail;
	size_t queued;
	int stop;
	pthread_t thread;
	_Atomic uint64_t pushed, dropped, skipped;
};

static int
send_one(redisContext *r, struct cache_push *c, const struct push *p)
{
	/* NX: never over the directory's deleted marker, so a late push
	 * cannot bring a deleted photo back. */
	redisReply *rep = redisCommand(r, "SET %s %b PX %lld NX", p->key,
	    p->value, p->len, (long long)c->ttl_ms);
	int ok = rep != NULL && rep->type != REDIS_REPLY_ERROR;
	if (rep != NULL)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

static void *
pusher_main(void *arg)
{
	struct cache_push *c = arg;
	redisContext *r = NULL;
	int64_t retry_at = 0;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->head == NULL && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		struct push *p = c->head;
		if (p == NULL)
			break;
		c->head = p->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->queued -= p->len;
		pthread_mutex_unlock(&c->mu);
		if (r == NULL && rt_mono_ms() >= retry_at) {
			char err[256];
			r = rt_redis_connect(&c->ep, 1000, err, sizeof(err));
			if (r == NULL) {
				retry_at = rt_mono_ms() + 1000;
				rt_log_warn("cache push: %s; pushes dropped for 1 s",
				    err);
			}
		}
		if (r != NULL && send_one(r, c, p) == 0) {
			atomic_fetch_add(&c->pushed, 1);
		} else {
			atomic_fetch_add(&c->dropped, 1);
			if (r != NULL) {
				redisFree(r);
				r = NULL;
			}
		}
		free(p);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	if (r != NULL)
		redisFree(r);
	return NULL;
}

struct cache_push *
cache_push_open(const struct rt_redis_ep *ep, int64_t ttl_ms, size_t max_photo,
    size_t max_queued_bytes)
{
	struct cache_push *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ttl_ms = ttl_ms;
	c->max_photo = max_photo;
	c->max_queued = max_queued_bytes;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	char err[256];
	if (ep->addr == NULL || ep->addr[0] == '\0' ||
	    rt_redis_check_addr(ep->addr, err, sizeof(err)) != 0)
		return c; /* disabled: no thread */
	c->ep = *ep;
	snprintf(c->addr, sizeof(c->addr), "%s", ep->addr);
	if (pthread_create(&c->thread, NULL, pusher_main, c) != 0)
		c->addr[0] = '\0';
	return c;
}

void
cache_push_close(struct cache_push *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->addr[0] != '\0')
		pthread_join(c->thread, NULL);
	while (c->head != NULL) {
		struct push *p = c->head;
		c->head = p->next;
		free(p);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static void
enqueue(struct cache_push *c, struct push *p)
{
	pthread_mutex_lock(&c->mu);
	if (c->addr[0] == '\0' || c->stop ||
	    c->queued + p->len > c->max_queued) {
		pthread_mutex_unlock(&c->mu);
		atomic_fetch_add(&c->dropped, 1);
		free(p);
		return;
	}
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->queued += p->len;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
cache_push_counts(struct cache_push *c, struct cache_push_counts *out)
{
	*out = (struct cache_push_counts){ 0, 0, 0 };
	if (c == NULL)
		return;
	out->pushed = atomic_load(&c->pushed);
	out->skipped = atomic_load(&c->skipped);
	out->dropped = atomic_load(&c->dropped);
}

void
cache_push_put(struct cache_push *c, uint64_t key, uint32_t cookie,
    const uint8_t sha256[32], const void *data, size_t len)
{
	if (c == NULL || c->addr[0] == '\0')
		return;
	if (len > c->max_photo) {
		atomic_fetch_add_explicit(&c->skipped, 1, memory_order_relaxed);
		return;
	}
	struct push *p = malloc(sizeof(*p) + 32 + len);
	if (p == NULL)
		return;
	p->next = NULL;
	p->len = 32 + len;
	photo_cache_key(key, cookie, p->key);
	memcpy(p->value, sha256, 32);
	if (len)
		memcpy(p->value + 32, data, len);
	enqueue(c, p);
}
