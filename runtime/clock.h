/* Clocks and sleeping in milliseconds: the one unit every deadline,
 * lease and interval in the tree is kept in. */
#ifndef RT_CLOCK_H
#define RT_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Wall clock (for timestamps that cross processes) and monotonic clock
 * (for deadlines and intervals within one). */
int64_t rt_now_ms(void);
int64_t rt_mono_ms(void);
/* The same in nanoseconds: the wall clock for the store's volume
 * superblocks, the monotonic one for latencies (runtime/metrics.h). */
uint64_t rt_now_ns(void);
uint64_t rt_mono_ns(void);

/* Sleeps ms milliseconds (nothing for ms <= 0). */
void rt_sleep_ms(int64_t ms);

/* The wall-clock instant ms from now, for pthread_cond_timedwait (whose
 * condition variables here use the default, real-time clock). */
void rt_timespec_in(int64_t ms, struct timespec *ts);

/* Waits on cv (under mu, held by the caller) until *count is 0, at most
 * bound_ms. 0 when it reached 0; -1 when the bound passed first. For
 * shutdowns that wait on callbacks of calls in flight: nng 1.5.x may fail
 * to expire a timed-out call, so such a wait is bounded and the caller
 * leaks what the callbacks still use instead of freeing it. */
int rt_wait_zero(pthread_mutex_t *mu, pthread_cond_t *cv, const int *count,
    int64_t bound_ms);

#endif
