/* A real redis-server for tests, configured as the cluster's metadata
 * instance or its photo cache. The settings are those of
 * testing/redis-meta.conf and testing/redis-cache.conf, which the local
 * cluster launcher reads too. */
#ifndef HS_TEST_REDIS_H
#define HS_TEST_REDIS_H

#include "proc.h"

enum test_redis_role {
	TEST_REDIS_META,  /* AOF, appendfsync always, no eviction */
	TEST_REDIS_CACHE, /* no persistence, LRU eviction */
};

struct test_redis {
	struct test_proc proc;
	int port;
	char dir[512]; /* its data and its log */
	char addr[64]; /* "127.0.0.1:PORT" */
};

/* Starts one in dir (NULL: a fresh temp folder) on port (0: a free one)
 * and waits until it answers PING. 0, or -1 after showing its log. */
int test_redis_start(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port);
/* Starts it again on the same port and folder and waits for PING. */
int test_redis_restart(struct test_redis *r);
/* SIGTERM (Redis flushes the AOF), reaped, freed. */
void test_redis_stop(struct test_redis *r);
/* SIGKILL: a crash. It can be restarted. */
void test_redis_kill(struct test_redis *r);

/* 1 if a redis-server on 127.0.0.1:port answers PING. */
int test_redis_ping(int port);

#endif
