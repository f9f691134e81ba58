/* The soak's Redis failover fault (chaos_impl.h), on hosts where the
 * metadata Redis runs under Sentinel: the primary the sentinels name is
 * SIGKILLed (or, a third of the time, SIGSTOPped) for 1-5 s, then brought
 * back: a killed one as a replica of the primary the sentinels chose
 * meanwhile, a stopped one continued (the sentinels turn it into a replica
 * themselves if they moved on). The restore brings back what is still out
 * and restarts a Redis or a sentinel that died on its own; the settle
 * waits for every instance in sync under a primary all sentinels name. */
#include <signal.h>
#include <stdio.h>

#include "chaos_impl.h"
#include "check.h"
#include "clock.h"

/* Bound on the sentinels naming a new primary after a kill: down after
 * 1 s, a failover in a few more (testing/redis_sentinel.c). */
#define FAILOVER_MS 15000

/* Brings redis[i] back from the soak's kill or stop. 0 or -1. */
static int
bring_back(struct chaos *x, int i)
{
	struct test_sentinel *s = &x->c.sentinel;
	struct test_redis *r = &s->redis[i];
	if (x->rpaused[i] && r->proc.pid > 0) {
		kill(r->proc.pid, SIGCONT);
		x->rpaused[i] = 0;
	}
	if (!x->rdown[i])
		return 0;
	/* Started before the sentinels moved on, it would be the primary
	 * again (with its AOF: nothing lost, but no failover either). */
	int rc = CHECK_WAIT_UNTIL(test_sentinel_moved_on(s, i), FAILOVER_MS) ?
	    test_sentinel_rejoin(s, i) :
	    test_redis_restart(r);
	for (int k = 0; rc != 0 && k < 4; k++) {
		rt_sleep_ms(500);
		rc = test_sentinel_rejoin(s, i);
	}
	if (rc == 0) {
		x->rdown[i] = 0;
		return 0;
	}
	fprintf(stderr,
	    "chaos: cannot bring redis-meta-%d back as a replica; its "
	    "log:\n",
	    i + 1);
	test_proc_dump_log(&r->proc);
	return -1;
}

int
chaos_redis_fail(struct chaos *x)
{
	struct test_sentinel *s = &x->c.sentinel;
	/* A fixed number of draws, so the faults after it stay the seed's. */
	int64_t hold = chaos_between(&x->frng, 1000, 5000);
	int stop = chaos_between(&x->frng, 0, 2) == 0;
	int p = test_sentinel_primary(s);
	char name[64];
	/* Named but dead (pid 0): kill(0, ...) would hit the soak itself;
	 * the restore brings it back before the next fault. */
	if (p < 0 || s->redis[p].proc.pid <= 0) {
		chaos_say(x, "redis failover skipped: %s",
		    "the sentinels name no live primary", 0);
		return 0;
	}
	snprintf(name, sizeof(name), "redis-meta-%d (the primary)", p + 1);
	chaos_say(x,
	    stop ? "SIGSTOP %s, SIGCONT in %.1fs" :
		   "SIGKILL %s, back as a replica in %.1fs",
	    name, hold);
	if (stop) {
		kill(s->redis[p].proc.pid, SIGSTOP);
		x->rpaused[p] = 1;
	} else {
		test_redis_kill(&s->redis[p]);
		x->rdown[p] = 1;
	}
	rt_sleep_ms(hold);
	return bring_back(x, p) == 0;
}

void
chaos_redis_restore(struct chaos *x)
{
	struct test_sentinel *s = &x->c.sentinel;
	char name[32];
	if (!x->c.has_sentinel)
		return;
	for (int i = 0; i < TEST_SENTINEL_REDIS; i++) {
		snprintf(name, sizeof(name), "redis-meta-%d", i + 1);
		if (!x->rdown[i] && !x->rpaused[i] &&
		    chaos_found_dead(x, name, &s->redis[i].proc))
			x->rdown[i] = 1;
		bring_back(x, i);
	}
	for (int i = 0; i < TEST_SENTINELS; i++) {
		snprintf(name, sizeof(name), "sentinel-%d", i + 1);
		if (chaos_found_dead(x, name, &s->sent[i]) &&
		    test_proc_restart(&s->sent[i]) != 0)
			fprintf(stderr, "chaos: cannot restart %s\n", name);
	}
}

int
chaos_redis_settle(struct chaos *x, int64_t ms)
{
	if (!x->c.has_sentinel ||
	    CHECK_WAIT_UNTIL(test_sentinel_healthy(&x->c.sentinel), ms))
		return 1;
	fprintf(stderr,
	    "chaos: the metadata Redis did not settle: the sentinels do "
	    "not agree on a primary with every other instance in sync\n");
	return 0;
}
