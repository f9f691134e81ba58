/* A real redis-server for tests, configured as the cluster's metadata
 * instance or its photo cache. The settings are those of
 * testing/redis-meta.conf and testing/redis-cache.conf, and the users
 * those of testing/redis-meta.acl and testing/redis-cache.acl, which the
 * local cluster launcher reads too: passwords are always on, the default
 * user off, and each instance gets a random password per user, kept in
 * its folder (mode 0600) so a restart keeps them. */
#ifndef HS_TEST_REDIS_H
#define HS_TEST_REDIS_H

#include <hiredis/hiredis.h>

#include "proc.h"
#include "redis.h"

enum test_redis_role {
	TEST_REDIS_META,  /* AOF, appendfsync always, no eviction */
	TEST_REDIS_CACHE, /* no persistence, LRU eviction */
};

/* The users of both instances (a user an instance's ACL file does not
 * name, e.g. client at the metadata Redis, cannot log in there). */
#define TEST_REDIS_NUSERS 5
extern const char *const test_redis_users[TEST_REDIS_NUSERS];

struct test_redis {
	struct test_proc proc;
	int port;
	enum test_redis_role role;
	char dir[512];	/* its data, its log, its users and passwords */
	char addr[128]; /* "127.0.0.1:PORT", its host's address, or (in
			   testing/cluster.h's meta) a sentinel address */
	char acl[600];	/* the ACL file it loads */
	char pw[TEST_REDIS_NUSERS][600]; /* each user's password file */
};

/* Starts one in dir (NULL: a fresh temp folder) on port (0: a free one)
 * and waits until it answers PING. 0, or -1 after showing its log. */
int test_redis_start(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port);
/* The same bound to ip (NULL: 127.0.0.1) inside network namespace netns
 * (NULL: ours; testing/hosts.h). */
int test_redis_start_in(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port, const char *ip, const char *netns);
/* Starts it again on the same port and folder and waits for PING. */
int test_redis_restart(struct test_redis *r);
/* SIGTERM (Redis flushes the AOF), reaped, freed. */
void test_redis_stop(struct test_redis *r);
/* SIGKILL: a crash. It can be restarted. */
void test_redis_kill(struct test_redis *r);

/* 1 if r answers PING as its admin user. */
int test_redis_ping(const struct test_redis *r);

/* r as user (one of test_redis_users; "" or NULL: no login at all). The
 * strings are r's and the caller's: they live as long as both do. */
struct rt_redis_ep test_redis_ep(const struct test_redis *r, const char *user);

/* A connection logged in as user (1 s timeout), or NULL after printing
 * why. The caller redisFrees it. */
redisContext *test_redis_connect(const struct test_redis *r, const char *user);

/* Appends " --FLAG=ADDR --FLAG-user=USER --FLAG-password-file=FILE" to out
 * (flag "redis" or "cache-redis"): how a process is pointed at r. */
void test_redis_flags(const struct test_redis *r, const char *flag,
    const char *user, char *out, size_t len);

#endif
