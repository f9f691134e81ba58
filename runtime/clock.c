/* Clocks in milliseconds over clock_gettime. */
#include "clock.h"

#include <time.h>

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
rt_now_ms(void)
{
	return (int64_t)(clock_ns(CLOCK_REALTIME) / 1000000);
}

uint64_t
rt_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t
rt_mono_ms(void)
{
	return (int64_t)(clock_ns(CLOCK_MONOTONIC) / 1000000);
}

uint64_t
rt_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void
rt_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void
rt_timespec_in(int64_t ms, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int
rt_wait_zero(pthread_mutex_t *mu, pthread_cond_t *cv, const int *count,
    int64_t bound_ms)
{
	struct timespec until;
	rt_timespec_in(bound_ms, &until);
	while (*count > 0)
		if (pthread_cond_timedwait(cv, mu, &until) != 0 && *count > 0)
			return -1;
	return 0;
}
