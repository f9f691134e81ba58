/* One logging call for every process: level checked before formatting, and
 * each line carries a millisecond timestamp, pid, the service name, its role
 * letter (L leader, F follower, S store, R replicator, C client) and level. */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdint.h>

enum hs_log_level { HS_LOG_DEBUG, HS_LOG_INFO, HS_LOG_WARN, HS_LOG_ERROR };

/* name: e.g. "store-3" (copied). The level comes from HS_LOG_LEVEL
 * (debug|info|warn|error), default info. Output goes to stderr. */
void hs_log_init(const char *name, char role);
void hs_log_set_role(char role);
void hs_log_set_level(enum hs_log_level level);
int hs_log_enabled(enum hs_log_level level);
void hs_log_raw(enum hs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define hs_log(level, ...)                                                     \
	do {                                                                   \
		if (hs_log_enabled(level))                                     \
			hs_log_raw(level, __VA_ARGS__);                        \
	} while (0)
#define hs_debug(...) hs_log(HS_LOG_DEBUG, __VA_ARGS__)
#define hs_info(...) hs_log(HS_LOG_INFO, __VA_ARGS__)
#define hs_warn(...) hs_log(HS_LOG_WARN, __VA_ARGS__)
#define hs_error(...) hs_log(HS_LOG_ERROR, __VA_ARGS__)

/* Wall clock and monotonic clock in milliseconds. */
int64_t hs_now_ms(void);
int64_t hs_mono_ms(void);

#endif
