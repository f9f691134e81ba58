/* The metadata Redis that survives its loss, for tests: a primary, a
 * replica and three Redis Sentinels on free loopback ports, with the same
 * users and passwords as one testing/redis-meta instance, the primary
 * refusing writes without a replica (min-replicas-to-write 1) and the
 * sentinels' timings short (a dead primary is replaced in about two
 * seconds). Every process reaches it by the address in addr
 * ("sentinel:...:/meta", runtime/redis.h). On hosts (testing/hosts.h)
 * each of the five runs on a host of its own. */
#ifndef HS_TEST_REDIS_SENTINEL_H
#define HS_TEST_REDIS_SENTINEL_H

#include "hosts.h"
#include "redis_server.h"

#define TEST_SENTINELS 3
/* A primary and one replica. Not two: a commit waits for one replica
 * (WAIT 1), and with two the sentinels may promote the one that lacks it
 * (the 30-minute soak on hosts lost acknowledged records that way). */
#define TEST_SENTINEL_REDIS 2

struct test_sentinel {
	struct test_redis redis[TEST_SENTINEL_REDIS]; /* started as primary
							 [0], replicas [1..] */
	struct test_proc sent[TEST_SENTINELS];
	int sport[TEST_SENTINELS];
	char dir[512];
	char addr[128]; /* "sentinel:127.0.0.1:P,...,/meta" (fits a
			   test_redis's addr) */
	/* With hosts: each one's host (NULL hosts: all on loopback). */
	struct test_hosts *hosts;
	int h_redis[TEST_SENTINEL_REDIS], h_sent[TEST_SENTINELS];
	char sip[TEST_SENTINELS][16]; /* each sentinel's address */
};

/* Starts all five in dir (made if missing) and waits until every
 * sentinel names redis[0] as the primary and it has its replica. 0, or
 * -1 after printing why. */
int test_sentinel_start(struct test_sentinel *s, const char *dir);
/* The same with each of the five on a new host of hs (NULL: loopback). */
int test_sentinel_start_on(struct test_sentinel *s, const char *dir,
    struct test_hosts *hs);

/* Index in redis[] of the instance the sentinels name now, or -1. */
int test_sentinel_primary(struct test_sentinel *s);

/* 1 once the sentinels name a primary other than redis[i]. */
int test_sentinel_moved_on(struct test_sentinel *s, int i);

/* 1 if every live sentinel names one primary and it has every other
 * instance as a replica in sync: the set after faults have healed. */
int test_sentinel_healthy(struct test_sentinel *s);

/* Starts redis[i] again (after a kill; unless it runs) as a replica of
 * the primary the sentinels name, logged in as admin. 0 or -1. */
int test_sentinel_rejoin(struct test_sentinel *s, int i);

/* Calls fn on each of the five processes (stop, dump logs). */
void test_sentinel_each(struct test_sentinel *s,
    void (*fn)(struct test_proc *));

#endif
