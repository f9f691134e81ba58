/* Inside the Redis connector (redis.h): one connection to one address
 * (redis_dial.c) and the primary found through Redis Sentinel
 * (redis_sentinel.c), under the public calls of redis.c. */
#ifndef RT_REDIS_IMPL_H
#define RT_REDIS_IMPL_H

#include "redis.h"

/* Splits "HOST:PORT" or "unix:/PATH" (port 0). 0, or -1 with a message. */
int rt_redis_parse_addr(const char *addr, char host[256], int *port, char *err,
    size_t errlen);

/* Connects to host:port (port 0: a unix socket) within timeout_ms, which
 * then bounds every read and write too, and logs in as ep's user. NULL
 * with err; *refused set when Redis answered but refused the login. */
redisContext *rt_redis_dial(const char *host, int port,
    const struct rt_redis_ep *ep, int64_t timeout_ms, int *refused, char *err,
    size_t errlen);

/* 1 if addr is of the sentinel: form. */
int rt_redis_is_sentinel(const char *addr);

/* Checks a sentinel: address's grammar. 0, or -1 with a message. */
int rt_redis_check_sentinels(const char *addr, char *err, size_t errlen);

/* The primary ep's sentinels name, logged in, checked by ROLE, within
 * timeout_ms (which then bounds every read and write); NULL with err
 * ("cannot connect ..." when none answered with a live primary). */
redisContext *rt_redis_sentinel_connect(const struct rt_redis_ep *ep,
    int64_t timeout_ms, char *err, size_t errlen);

#endif
