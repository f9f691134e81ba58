/* Test Redis instances (see redis_server.h). */
#include "redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "env.h"

int
test_redis_ping(int port)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	int ok = 0;
	if (c != NULL && c->err == 0) {
		redisReply *r = redisCommand(c, "PING");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

static int
wait_ready(struct test_redis *r)
{
	if (CHECK_WAIT_UNTIL(test_redis_ping(r->port) ||
		    !test_proc_alive(&r->proc),
		10000) &&
	    test_proc_alive(&r->proc))
		return 0;
	fprintf(stderr, "redis-server on port %d did not answer\n", r->port);
	test_proc_dump_log(&r->proc);
	test_proc_kill(&r->proc, SIGKILL);
	return -1;
}

int
test_redis_start(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port)
{
	const char *name = role == TEST_REDIS_META ? "redis-meta" :
						     "redis-cache";
	char conf[512], portstr[16], rel[64];
	memset(r, 0, sizeof(*r));
	if (dir != NULL)
		snprintf(r->dir, sizeof(r->dir), "%s", dir);
	else if (test_temp_dir(r->dir, sizeof(r->dir), name) != 0)
		return -1;
	r->port = port ? port : test_free_port();
	snprintf(portstr, sizeof(portstr), "%d", r->port);
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
	snprintf(rel, sizeof(rel), "testing/%s.conf", name);
	test_runfile(conf, sizeof(conf), rel);
	char *argv[] = { "redis-server", conf, "--port", portstr, "--dir",
		r->dir, NULL };
	if (test_proc_start(&r->proc, name, r->dir, argv) != 0)
		return -1;
	return wait_ready(r);
}

int
test_redis_restart(struct test_redis *r)
{
	if (test_proc_restart(&r->proc) != 0)
		return -1;
	return wait_ready(r);
}

void
test_redis_stop(struct test_redis *r)
{
	test_proc_kill(&r->proc, SIGTERM);
	test_proc_free(&r->proc);
}

void
test_redis_kill(struct test_redis *r)
{
	test_proc_kill(&r->proc, SIGKILL);
}
