/* Failover with the default lease (LEADER_TIMEOUT=10s), real processes:
 * a leader whose process dies (SIGKILL: its port refuses) is replaced
 * early through the fenced probe takeover, so registrations resume within
 * 3 s; a paused leader (SIGSTOP: its port still accepts) keeps its lease
 * until it runs out, and once woken cannot commit: everything after its
 * pause is written under the successor's lease. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "log.h"
#include "test_cluster.h"

static struct tc c;

/* The defaults, spelt out so the test keeps its meaning if they move. */
static const char *const env[] = { "LEADER_TIMEOUT=10s",
	"LEADER_HEARTBEAT_INTERVAL=2s", "LEADER_PROBE_INTERVAL=500ms",
	"HEARTBEAT_INTERVAL=1s", NULL };

static uint64_t next_key = 1;

/* Registers one new photo through any directory: 1 if acknowledged. */
static int
register_one(void)
{
	struct rpc_error e;
	if (tc_register(c.all, next_key, 1, 1, 1, NULL, &e) != HS_OK)
		return 0;
	next_key++;
	return 1;
}

/* The lease value in Redis ("" if none). */
static void
lease(char *out, size_t len)
{
	redisReply *r = redisCommand(c.rc, "GET hs:leader");
	out[0] = '\0';
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(out, len, "%s", r->str);
	if (r != NULL)
		freeReplyObject(r);
}

/* Log entries after seq written under lease value by. */
static int
entries_by(uint64_t after, const char *by)
{
	redisReply *r = redisCommand(c.rc, "XRANGE hs:log %" PRIu64 "-0 +",
	    after + 1);
	int n = 0;
	for (size_t i = 0; r != NULL && i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];
		for (size_t k = 0; k + 1 < f->elements; k += 2)
			n += !strcmp(f->element[k]->str, "by") &&
			    !strcmp(f->element[k + 1]->str, by);
	}
	if (r != NULL)
		freeReplyObject(r);
	return n;
}

static void
test_sigkill_leader_commits_resume_within_3s(void)
{
	int l = tc_wait_leader(&c, 15000);
	CHECK(l >= 0);
	for (int i = 0; i < 20; i++)
		CHECK(CHECK_WAIT_UNTIL(register_one(), 5000));
	tc_signal(&c, l, SIGKILL);
	int64_t t0 = check_mono_ms();
	CHECK(CHECK_WAIT_UNTIL(register_one(), 15000));
	int64_t stall = check_mono_ms() - t0;
	printf("  registrations resumed %" PRId64 " ms after SIGKILL of the "
	       "leader (LEADER_TIMEOUT=10s)\n",
	    stall);
	CHECK_MSG(stall <= 3000, "stalled %" PRId64 " ms", stall);
	for (int i = 0; i < 20; i++)
		CHECK(CHECK_WAIT_UNTIL(register_one(), 5000));
	CHECK(tc_start_dir(&c, l, NULL) == 0);
}

static void
test_sigstop_leader_keeps_lease_and_cannot_commit(void)
{
	char before[128], now[128];
	int l = tc_wait_leader(&c, 15000);
	CHECK(l >= 0);
	CHECK(CHECK_WAIT_UNTIL(register_one(), 5000));
	lease(before, sizeof(before));
	uint64_t head0 = tc_redis_int(&c, "hs:seq");
	test_proc_stop(&c.d[l].proc);
	CHECK(CHECK_WAIT_UNTIL(test_proc_stopped(&c.d[l].proc), 2000));
	int64_t t0 = check_mono_ms();
	/* The lease was refreshed at most LEADER_HEARTBEAT_INTERVAL (2 s)
	 * before the pause, so it holds for 8 s more: no probe may end it. */
	while (check_mono_ms() < t0 + 7000) {
		lease(now, sizeof(now));
		CHECK_MSG(strcmp(now, before) == 0,
		    "a paused leader's lease %s was replaced by %s after "
		    "%" PRId64 " ms",
		    before, now, check_mono_ms() - t0);
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
	int nl = tc_wait_leader(&c, 8000);
	CHECK(nl >= 0 && nl != l);
	printf("  a paused leader was replaced after %" PRId64 " ms\n",
	    check_mono_ms() - t0);
	CHECK(CHECK_WAIT_UNTIL(register_one(), 5000));
	test_proc_cont(&c.d[l].proc);
	/* Writes sent to the woken leader are refused or forwarded. */
	for (int i = 0; i < 5; i++) {
		struct rpc_error e;
		hs_status st = tc_register(c.d[l].cl, next_key++, 1, 1, 1, NULL,
		    &e);
		CHECK(st == HS_OK || st == HS_UNAVAILABLE ||
		    st == HS_FAILED_PRECONDITION);
	}
	CHECK(CHECK_WAIT_UNTIL(register_one(), 5000));
	CHECK_EQ(entries_by(head0, before), 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "SIGKILL of the leader: commits resume within 3 s",
		    test_sigkill_leader_commits_resume_within_3s },
		{ "SIGSTOP of the leader: no takeover before the lease ends, "
		  "and it cannot commit",
		    test_sigstop_leader_keeps_lease_and_cannot_commit },
		{ NULL, NULL },
	};
	rt_log_init("failover_test", 'T');
	tc_call_timeout_ms = 1000; /* a call stuck on a dead leader moves on */
	return tc_main(&c, 3, env, cases, argc, argv);
}
