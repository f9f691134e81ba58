/* The replicator's lease on real processes (redis-server, two
 * replicatord, no directory): exactly one is active; SIGKILL of the active
 * one hands the lease to the other within the lease timeout; a restarted
 * instance stays standby; SIGSTOP of the active one makes it step down
 * (it stops acting once its lease may have run out) while the other takes
 * over, so two are never active at once for long. Every takeover takes a
 * new fencing epoch (hs:replicator:epoch), so the paused one's actions
 * carry an epoch lower than its successor's. */
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "env.h"
#include "log.h"
#include "proc.h"
#include "redis.h"
#include "redis_keys.h"
#include "redis_server.h"
#include "replicator.pb-c.h"
#include "rpc.h"
#include "rpc_client.h"

static char dir[512], keyfile[600], bin[512];
static struct test_redis redis;
static struct test_proc repl[2];
static int ports[2];

static void
start(int i)
{
	char listen[64], rflag[96], kf[640], id[32], uf[64], pf[700], who[600];
	snprintf(listen, sizeof(listen), "--listen=tcp://127.0.0.1:%d",
	    ports[i]);
	struct rt_redis_ep ep = test_redis_ep(&redis, "replicator");
	snprintf(rflag, sizeof(rflag), "--redis=%s", ep.addr);
	snprintf(uf, sizeof(uf), "--redis-user=%s", ep.user);
	snprintf(pf, sizeof(pf), "--redis-password-file=%s", ep.password_file);
	snprintf(kf, sizeof(kf), "--key-file=%s",
	    test_identity(who, sizeof(who), keyfile, "replicator"));
	snprintf(id, sizeof(id), "--id=replicator-%d", i + 1);
	char *argv[] = { bin, id, listen, rflag, uf, pf, kf,
		"--lease-timeout=600ms", "--directories=tcp://127.0.0.1:9",
		"--tick=100ms", "--nightly-audit-hour=-1", NULL };
	test_proc_start(&repl[i], id + 5, dir, argv);
}

/* 1 active, 0 standby, -1 no answer. */
static int
active(int i)
{
	char url[64], err[256];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", ports[i]);
	const char *u = url;
	struct rpc_client_opts o = { .ident = test_ident(keyfile),
		.connect_wait_ms = 300 };
	rpc_client *c = NULL;
	if (rpc_client_open(&c, &u, 1, &o, err, sizeof(err)) != 0)
		return -1;
	Hs__QueueRequest q = HS__QUEUE_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	int rv = -1;
	if (rpc_invoke(c, &hs__replicator__descriptor, "Queue", &q.base, &m,
		500, 0, &e) == HS_OK) {
		rv = ((Hs__QueueReply *)m)->active ? 1 : 0;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	rpc_client_close(c);
	return rv;
}

/* The fencing epoch in Redis, -1 if it cannot be read. */
static long long
epoch(void)
{
	redisContext *c = test_redis_connect(&redis, "admin");
	redisReply *r = c ? redisCommand(c, "GET %s", RK_REPLICATOR_EPOCH) :
			    NULL;
	long long e = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return e;
}

static int
exactly_one_active(void)
{
	int a = active(0), b = active(1);
	return (a == 1 && b == 0) || (a == 0 && b == 1);
}

static void
one_active_and_failover(void)
{
	CHECK(test_temp_dir(dir, sizeof(dir), "lease") == 0);
	CHECK(test_key_file(keyfile, sizeof(keyfile), dir) == 0);
	test_runfile(bin, sizeof(bin), "replicator/replicatord");
	CHECK(test_redis_start(&redis, TEST_REDIS_META, dir, 0) == 0);
	ports[0] = test_free_port();
	ports[1] = test_free_port();
	start(0);
	start(1);
	int ok = CHECK_WAIT_UNTIL(exactly_one_active(), 10000);
	int first = active(0) == 1 ? 0 : 1, other = 1 - first;
	ok = ok && epoch() == 1;
	/* SIGKILL: the lease runs out and the other takes it. */
	test_proc_kill(&repl[first], SIGKILL);
	ok = ok && CHECK_WAIT_UNTIL(active(other) == 1, 5000);
	ok = ok && epoch() == 2;
	/* The killed one comes back as a standby. */
	test_proc_restart(&repl[first]);
	ok = ok && CHECK_WAIT_UNTIL(active(first) == 0, 5000);
	ok = ok && active(other) == 1;
	/* SIGSTOP: the other takes over; once resumed, the paused one
	 * finds its lease gone and stays standby. */
	kill(repl[other].pid, SIGSTOP);
	ok = ok && CHECK_WAIT_UNTIL(active(first) == 1, 5000);
	kill(repl[other].pid, SIGCONT);
	ok = ok && CHECK_WAIT_UNTIL(exactly_one_active(), 5000);
	ok = ok && active(first) == 1;
	ok = ok && epoch() == 3;
	if (!ok) {
		fprintf(stderr, "fencing epoch %lld\n", epoch());
		test_proc_dump_log(&repl[0]);
		test_proc_dump_log(&repl[1]);
	}
	for (int i = 0; i < 2; i++) {
		test_proc_kill(&repl[i], SIGTERM);
		CHECK(test_proc_wait_exit(&repl[i], 5000) != -2);
		test_proc_free(&repl[i]);
	}
	test_redis_stop(&redis);
	CHECK(ok);
}

int
main(int argc, char **argv)
{
	rt_log_init("lease_test", 'C');
	static const struct check_case cases[] = {
		{ "one active and failover", one_active_and_failover },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
