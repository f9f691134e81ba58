/* Clocks and sleeping in milliseconds: the one unit every deadline,
 * lease and interval in the tree is kept in. */
#ifndef RT_CLOCK_H
#define RT_CLOCK_H

#include <stdint.h>

/* Wall clock (for timestamps that cross processes) and monotonic clock
 * (for deadlines and intervals within one). */
int64_t rt_now_ms(void);
int64_t rt_mono_ms(void);

/* Sleeps ms milliseconds (nothing for ms <= 0). */
void rt_sleep_ms(int64_t ms);

#endif
