/* Finding the primary through Redis Sentinel (see redis.h for the
 * grammar and redis_impl.h for the calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"
#include "redis_impl.h"

/* "sentinel:HOST:PORT,HOST:PORT,.../NAME": the sentinels to ask and
 * the name they monitor the primary under. 0, or -1 with a message. */
struct sentinels {
	int n;
	char host[RT_REDIS_MAX_SENTINELS][256];
	int port[RT_REDIS_MAX_SENTINELS];
	char name[128];
};

static int
parse_sentinels(const char *addr, struct sentinels *s, char *err, size_t errlen)
{
	char list[1024], *save = NULL;
	const char *slash = strrchr(addr, '/');
	size_t len = slash ? (size_t)(slash - addr) - 9 : 0;
	s->n = 0;
	if (slash == NULL || slash < addr + 9 || len >= sizeof(list) ||
	    slash[1] == '\0' || strlen(slash + 1) >= sizeof(s->name) ||
	    strspn(slash + 1,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
		"VWXYZ0123456789._-") != strlen(slash + 1))
		goto bad;
	memcpy(list, addr + 9, len);
	list[len] = '\0';
	/* strtok_r would skip an empty name silently. */
	if (len == 0 || list[0] == ',' || list[len - 1] == ',' ||
	    strstr(list, ",,") != NULL)
		goto bad;
	snprintf(s->name, sizeof(s->name), "%s", slash + 1);
	for (char *t = strtok_r(list, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (s->n == RT_REDIS_MAX_SENTINELS ||
		    strncmp(t, "unix:", 5) == 0 ||
		    rt_redis_parse_addr(t, s->host[s->n], &s->port[s->n], err,
			errlen) != 0)
			goto bad;
		s->n++;
	}
	if (s->n > 0)
		return 0;
bad:
	snprintf(err, errlen,
	    "bad Redis Sentinel address '%s': use "
	    "sentinel:HOST:PORT,HOST:PORT,.../NAME (1 to %d sentinels, "
	    "NAME the primary's name in their 'sentinel monitor' line)",
	    addr, RT_REDIS_MAX_SENTINELS);
	return -1;
}

int
rt_redis_is_sentinel(const char *addr)
{
	return strncmp(addr, "sentinel:", 9) == 0;
}

int
rt_redis_check_sentinels(const char *addr, char *err, size_t errlen)
{
	struct sentinels s;
	return parse_sentinels(addr, &s, err, errlen);
}

/* Asks one sentinel where s->name's primary is. 0 with host and port, -1
 * with why (-2: the sentinel refused our login). */
static int
ask_sentinel(const struct sentinels *s, int i, const struct rt_redis_ep *ep,
    int64_t timeout_ms, char host[256], int *port, char *err, size_t errlen)
{
	int refused;
	redisContext *c = rt_redis_dial(s->host[i], s->port[i], ep, timeout_ms,
	    &refused, err, errlen);
	if (c == NULL)
		return refused ? -2 : -1;
	redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
	    s->name);
	int ok = r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[0]->len < 256 &&
	    r->element[1]->type == REDIS_REPLY_STRING;
	if (ok) {
		snprintf(host, 256, "%s", r->element[0]->str);
		*port = atoi(r->element[1]->str);
	} else {
		snprintf(err, errlen,
		    "cannot connect to Redis: the sentinel at %s:%d does not "
		    "name a primary for '%s' (%.200s)",
		    s->host[i], s->port[i], s->name,
		    r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return ok ? 0 : -1;
}

/* 1 if c's ROLE says master: a sentinel's answer is stale for a moment
 * during a failover, and a demoted primary must not take our writes. */
static int
is_primary(redisContext *c)
{
	redisReply *r = redisCommand(c, "ROLE");
	int yes = r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "master") == 0;
	if (r != NULL)
		freeReplyObject(r);
	return yes;
}

/* One pass over the sentinels: the primary's link, or NULL with why
 * (*refused: a login was refused, which waiting does not mend). Each
 * sentinel gets a share of the time (at least 100 ms), so one on a host
 * that does not answer leaves time to ask the others. */
static redisContext *
sentinel_pass(const struct sentinels *s, const struct rt_redis_ep *ep,
    int64_t timeout_ms, int64_t deadline, int *refused, char *err,
    size_t errlen)
{
	char host[256];
	int port;
	int64_t share = timeout_ms / s->n > 100 ? timeout_ms / s->n : 100;
	for (int i = 0; i < s->n; i++) {
		int64_t left = deadline - rt_mono_ms();
		if (left <= 0)
			break;
		int rc = ask_sentinel(s, i, ep, left < share ? left : share,
		    host, &port, err, errlen);
		if ((*refused = rc == -2) != 0)
			return NULL;
		if (rc != 0)
			continue;
		redisContext *c = rt_redis_dial(host, port, ep, left, refused,
		    err, errlen);
		if (c == NULL && *refused)
			return NULL;
		if (c != NULL && is_primary(c))
			return c;
		if (c != NULL) {
			redisFree(c);
			snprintf(err, errlen,
			    "cannot connect to Redis: %s:%d, which the "
			    "sentinel at %s:%d names, is not the primary (a "
			    "failover under way)",
			    host, port, s->host[i], s->port[i]);
		}
	}
	return NULL;
}

/* The primary the sentinels name, asked in turn until one answers with a
 * live primary or timeout_ms runs out (a failover takes seconds: the
 * caller's next call asks again). */
redisContext *
rt_redis_sentinel_connect(const struct rt_redis_ep *ep, int64_t timeout_ms,
    char *err, size_t errlen)
{
	struct sentinels s;
	int refused = 0;
	if (parse_sentinels(ep->addr, &s, err, errlen) != 0)
		return NULL;
	int64_t deadline = rt_mono_ms() + timeout_ms;
	snprintf(err, errlen, "cannot connect to Redis through %s: no time",
	    ep->addr);
	while (rt_mono_ms() < deadline) {
		redisContext *c = sentinel_pass(&s, ep, timeout_ms, deadline,
		    &refused, err, errlen);
		if (c != NULL) {
			struct timeval tv = { timeout_ms / 1000,
				(timeout_ms % 1000) * 1000 };
			redisSetTimeout(c, tv);
			return c;
		}
		if (refused)
			return NULL;
		int64_t left = deadline - rt_mono_ms();
		rt_sleep_ms(left < 50 ? (left > 0 ? left : 0) : 50);
	}
	return NULL;
}
