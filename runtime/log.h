/* One logging call for every process: level checked before formatting, and
 * each line carries a millisecond timestamp, pid, the service name, its role
 * letter (L leader, F follower, S store, R replicator, C client) and level. */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stddef.h>
#include <stdint.h>

enum rt_log_level { RT_LOG_DEBUG, RT_LOG_INFO, RT_LOG_WARN, RT_LOG_ERROR };

/* name: e.g. "store-3" (copied). The level comes from HS_LOG_LEVEL
 * (debug|info|warn|error), default info. Output goes to stderr. */
void rt_log_init(const char *name, char role);
void rt_log_set_role(char role);
void rt_log_set_level(enum rt_log_level level);
int rt_log_enabled(enum rt_log_level level);
/* Writes one line. Every byte of the formatted text outside printable
 * ASCII, and the backslash, is written as \xNN, so a string from the
 * network (a method name, an address, a peer's message) can neither end
 * the line, forge another, nor send terminal escapes. */
void rt_log_raw(enum rt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* That escaping into out (always NUL-ended); returns out. For text that
 * leaves a process by another way than the log (replies, stdout). */
char *rt_log_escape(const char *in, char *out, size_t outlen);

#define rt_log(level, ...)                                                     \
	do {                                                                   \
		if (rt_log_enabled(level))                                     \
			rt_log_raw(level, __VA_ARGS__);                        \
	} while (0)
#define rt_log_debug(...) rt_log(RT_LOG_DEBUG, __VA_ARGS__)
#define rt_log_info(...) rt_log(RT_LOG_INFO, __VA_ARGS__)
#define rt_log_warn(...) rt_log(RT_LOG_WARN, __VA_ARGS__)
#define rt_log_error(...) rt_log(RT_LOG_ERROR, __VA_ARGS__)

#endif
