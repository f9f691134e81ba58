/* The benchmarks' watchdog (see watchdog.h): a thread that wakes every
 * 100 ms and compares the monotonic clock with the armed phase's end. */
#include "watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"

#define EXIT_HUNG 70 /* EX_SOFTWARE */

struct watchdog {
	const char *prog;
	pthread_mutex_t mu;
	char what[128];
	int64_t started, bound_ms; /* bound_ms 0: nothing armed */
	atomic_int stop;
	pthread_t thread;
};

static void *
watch_main(void *arg)
{
	struct watchdog *w = arg;
	while (!atomic_load(&w->stop)) {
		rt_sleep_ms(100);
		pthread_mutex_lock(&w->mu);
		int64_t took = rt_mono_ms() - w->started;
		if (w->bound_ms > 0 && took > w->bound_ms) {
			/* stderr is unbuffered (stdout is left alone: a hung
			 * thread may hold its lock); _exit skips atexit
			 * handlers and nng's teardown, which may be what
			 * hangs. */
			fprintf(stderr,
			    "%s: \"%s\" did not finish within %lld ms (a hang: "
			    "nng close, or a cluster that stopped answering); "
			    "giving up with status %d. Run it again; if it "
			    "recurs, look at the cluster's logs.\n",
			    w->prog, w->what, (long long)w->bound_ms,
			    EXIT_HUNG);
			_exit(EXIT_HUNG);
		}
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

struct watchdog *
watchdog_start(const char *prog)
{
	struct watchdog *w = calloc(1, sizeof(*w));
	w->prog = prog;
	pthread_mutex_init(&w->mu, NULL);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		fprintf(stderr, "%s: cannot start the watchdog thread\n", prog);
		exit(71);
	}
	return w;
}

void
watchdog_phase(struct watchdog *w, const char *what, int64_t bound_ms)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->what, sizeof(w->what), "%s", what);
	w->started = rt_mono_ms();
	w->bound_ms = bound_ms;
	pthread_mutex_unlock(&w->mu);
}

void
watchdog_stop(struct watchdog *w)
{
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
