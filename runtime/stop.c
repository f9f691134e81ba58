/* SIGINT and SIGTERM taken by sigtimedwait (see stop.h). */
#include "stop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

static void
stop_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

void
rt_stop_block(void)
{
	sigset_t set;
	stop_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
rt_stop_wait(int64_t timeout_ms)
{
	sigset_t set;
	stop_set(&set);
	for (;;) {
		int sig;
		if (timeout_ms < 0) {
			if (sigwait(&set, &sig) == 0)
				return sig;
			continue;
		}
		struct timespec ts = { timeout_ms / 1000,
			(long)(timeout_ms % 1000) * 1000000L };
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		/* EINTR: another signal's handler ran; wait again. */
	}
}
