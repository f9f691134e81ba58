/* The metadata Redis that survives its loss, for tests: a primary, a
 * two replicas and three Redis Sentinels on free loopback ports, with the same
 * users and passwords as one testing/redis-meta instance, the primary
 * refusing writes without a replica (min-replicas-to-write 1) and the
 * sentinels' timings short (a dead primary is replaced in about two
 * seconds). Every process reaches it by the address in addr
 * ("sentinel:...:/meta", runtime/redis.h). */
#ifndef HS_TEST_REDIS_SENTINEL_H
#define HS_TEST_REDIS_SENTINEL_H

#include "redis_server.h"

#define TEST_SENTINELS 3
/* A primary and two replicas: after the loss of one, the new primary
 * still has a replica, so writes go on (min-replicas-to-write 1). */
#define TEST_SENTINEL_REDIS 3

struct test_sentinel {
	struct test_redis redis[TEST_SENTINEL_REDIS]; /* started as primary
							 [0], replicas [1..] */
	struct test_proc sent[TEST_SENTINELS];
	int sport[TEST_SENTINELS];
	char dir[512];
	char addr[64]; /* "sentinel:127.0.0.1:P,...,/meta" (fits a
			  test_redis's addr) */
};

/* Starts all six in dir (made if missing) and waits until every
 * sentinel names redis[0] as the primary and it has both replicas. 0, or
 * -1 after printing why. */
int test_sentinel_start(struct test_sentinel *s, const char *dir);

/* Index in redis[] of the instance the sentinels name now, or -1. */
int test_sentinel_primary(struct test_sentinel *s);

/* Starts redis[i] again (after a kill) as a replica of the primary the
 * sentinels name, logged in as admin. 0 or -1. */
int test_sentinel_rejoin(struct test_sentinel *s, int i);

/* Calls fn on each of the six processes (stop, dump logs). */
void test_sentinel_each(struct test_sentinel *s,
    void (*fn)(struct test_proc *));

#endif
