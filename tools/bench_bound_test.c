/* The benchmarks end or fail within a bound: the bare nng echo ceiling
 * finishes every time, at the concurrencies and sizes tools:bench uses,
 * and the watchdog ends a process whose step overruns, with status 70 and
 * a message naming the step (tools:bench and rpc_bench rely on both). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "echo_ceiling.h"
#include "watchdog.h"

/* Ten measurements in a row, each ending in its time plus a margin. */
static void
echo_ceiling_always_ends(void)
{
	static const struct {
		int inflight;
		size_t reply;
	} runs[] = { { 16, 4096 }, { 64, 4096 }, { 16, 65536 }, { 64, 65536 },
		{ 1, 64 } };
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
			int64_t t0 = rt_mono_ms();
			double c = echo_ceiling_bare(runs[i].inflight,
			    runs[i].reply, 100);
			int64_t took = rt_mono_ms() - t0;
			CHECK_MSG(c > 0, "%d in flight, %zu B: %.0f calls/s",
			    runs[i].inflight, runs[i].reply, c);
			CHECK_MSG(took < 20000,
			    "%d in flight, %zu B took %lld ms for a 100 ms "
			    "measurement",
			    runs[i].inflight, runs[i].reply, (long long)took);
		}
}

/* A child whose step never ends; the watchdog must end it. */
static void
watchdog_ends_a_hung_step(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		struct watchdog *w = watchdog_start("bound_test");
		watchdog_phase(w, "a step that hangs", 200);
		rt_sleep_ms(30000); /* hung */
		_exit(0);
	}
	close(fds[1]);
	int status = 0;
	int ended = CHECK_WAIT_UNTIL(waitpid(pid, &status, WNOHANG) == pid,
	    10000);
	if (!ended)
		kill(pid, SIGKILL), waitpid(pid, &status, 0);
	char msg[512] = { 0 };
	ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	CHECK_MSG(ended, "the watchdog did not end the process within 10 s");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 70,
	    "status %d, want an exit with 70", status);
	CHECK_MSG(n > 0 && strstr(msg, "a step that hangs") != NULL,
	    "the message does not name the step: %s", msg);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "echo_ceiling_always_ends", echo_ceiling_always_ends },
		{ "watchdog_ends_a_hung_step", watchdog_ends_a_hung_step },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
