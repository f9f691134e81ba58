/* The directory's test cluster, on the test harness (//testing): the
 * metadata redis-server and N directoryd processes (ready once each prints
 * its ready line) on free loopback ports in a temp dir, a client for each
 * and one for all, a Redis connection of the test's own, and short helpers
 * for the calls the tests make. Timing comes from env (LEADER_TIMEOUT=1s
 * etc.). Prefix tc_; the whole-cluster harness is testing/cluster.h. */
#ifndef DIR_TEST_CLUSTER_H
#define DIR_TEST_CLUSTER_H

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <sys/types.h>

#include "check.h"
#include "directory.pb-c.h"
#include "key.h"
#include "proc.h"
#include "redis_server.h"
#include "rpc_client.h"

#define TC_MAX 5

struct tc_dir {
	struct test_proc proc;
	char id[16];
	char rpc[64];
	char pub[64];
	rpc_client *cl; /* to this directory only */
};

struct tc {
	struct test_redis redis;
	char dir[256];
	char keyfile[300]; /* the test key (testing/env.h) */
	int n;
	struct tc_dir d[TC_MAX];
	const char *env[16]; /* "K=V", NULL-terminated */
	rpc_client *all;     /* dials every directory */
	redisContext *rc;    /* the test's own Redis connection */
};

/* Starts Redis and n directories with env added. 0 or -1. */
int tc_start(struct tc *c, int n, const char *const *env);
/* (Re)starts directory i (same ports), with extra env (may be NULL). */
int tc_start_dir(struct tc *c, int i, const char *const *extra);
/* Signals directory i (see test_proc_kill). */
void tc_signal(struct tc *c, int i, int sig);
/* Stops everything; dumps the logs if the test failed. A directoryd
 * that does not exit 0 on SIGTERM counts as a failure (check_failures). */
void tc_stop(struct tc *c);
void tc_dump_logs(struct tc *c);

/* A directory test's main: starts n directories with env, runs the cases
 * (those named like argv[1]), stops. Its exit code: 0 only if every case
 * passed and every directoryd exited cleanly. */
int tc_main(struct tc *c, int n, const char *const *env,
    const struct check_case *cases, int argc, char **argv);

/* Index of the directory named by hs:leader, -1 if none; *epoch set. */
int tc_leader(struct tc *c, uint64_t *epoch);
/* Index of the leader once it serves (Health says leader), or -1 at the
 * timeout. */
int tc_wait_leader(struct tc *c, int timeout_ms);

/* Calls. err may be NULL. Each attempt's deadline is tc_call_timeout_ms
 * (default 3000). */
extern int tc_call_timeout_ms;
/* The cluster key (loaded by tc_start): tests make write tokens with it. */
extern rt_key tc_key;
/* Registers a photo on stores 1 and 2 with a write token valid for ten
 * minutes. */
hs_status tc_register(rpc_client *cl, uint64_t key, uint32_t cookie,
    uint8_t sha_byte, uint64_t size, uint64_t *seq, struct rpc_error *err);
/* The same with a token that expires at token_expiry_ms (Unix ms). */
hs_status tc_register_until(rpc_client *cl, uint64_t key, uint32_t cookie,
    uint8_t sha_byte, uint64_t size, int64_t token_expiry_ms, uint64_t *seq,
    struct rpc_error *err);
/* Lookup of one id: the result code (OK/NOT_FOUND) in *code. */
hs_status tc_lookup(rpc_client *cl, uint64_t key, uint32_t cookie,
    uint64_t min_seq, int *code, Hs__LookupReply **reply,
    struct rpc_error *err);
hs_status tc_heartbeat(rpc_client *cl, uint32_t id, const char *zone,
    uint64_t free_bytes, struct rpc_error *err);
hs_status tc_health(rpc_client *cl, Hs__HealthReply **reply, int timeout_ms);
/* The change-log seq the directory behind cl has applied; 0 if it does
 * not answer within timeout_ms. */
uint64_t tc_applied(rpc_client *cl, int timeout_ms);

/* GET key as an integer (0 if missing). */
uint64_t tc_redis_int(struct tc *c, const char *key);

#endif
