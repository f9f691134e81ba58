/* How the soak tells what it does and what it finds (chaos_impl.h): a
 * line per fault, and a process that died though the soak did not stop
 * it, for the process faults (chaos_fault.c) and the Redis failover
 * (chaos_redis.c) alike. */
#include <stdio.h>

#include "chaos_impl.h"
#include "clock.h"

void
chaos_say(struct chaos *x, const char *fmt, const char *what, int64_t ms)
{
	if (!x->o.quiet) {
		printf("chaos: %6.1fs ",
		    (double)(rt_mono_ms() - x->start_ms) / 1000.0);
		printf(fmt, what, (double)ms / 1000.0);
		printf("\n");
		fflush(stdout);
	}
}

int
chaos_found_dead(struct chaos *x, const char *name, struct test_proc *p)
{
	int code = test_proc_wait_exit(p, 0);
	if (code < 0)
		return 0;
	x->deaths++;
	fprintf(stderr,
	    "chaos: %s DIED on its own (exit %d); the soak did "
	    "not kill it. Its log:\n",
	    name, code);
	test_proc_dump_log(p);
	return 1;
}
