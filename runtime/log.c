/* The shared logger (nng 1.5.2 has none). One write(2) per line so lines
 * from many threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_name[64] = "hs";
static atomic_char log_role = '-';
static atomic_int log_level = RT_LOG_INFO;

static enum rt_log_level
level_from_env(void)
{
	const char *v = getenv("HS_LOG_LEVEL");
	if (v == NULL)
		return RT_LOG_INFO;
	if (strcmp(v, "debug") == 0)
		return RT_LOG_DEBUG;
	if (strcmp(v, "warn") == 0)
		return RT_LOG_WARN;
	if (strcmp(v, "error") == 0)
		return RT_LOG_ERROR;
	return RT_LOG_INFO;
}

void
rt_log_init(const char *name, char role)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
	log_role = role;
	log_level = level_from_env();
}

void
rt_log_set_role(char role)
{
	log_role = role;
}

void
rt_log_set_level(enum rt_log_level level)
{
	log_level = level;
}

int
rt_log_enabled(enum rt_log_level level)
{
	return (int)level >= log_level;
}

char *
rt_log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; *in != '\0'; in++) {
		unsigned char b = (unsigned char)*in;
		int plain = b >= 0x20 && b < 0x7f && b != '\\';
		if (n + (plain ? 1 : 4) >= outlen)
			break;
		if (plain) {
			out[n++] = (char)b;
			continue;
		}
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[b >> 4];
		out[n++] = hex[b & 15];
	}
	if (outlen > 0)
		out[n] = '\0';
	return out;
}

void
rt_log_raw(enum rt_log_level level, const char *fmt, ...)
{
	static const char marks[] = { 'D', 'I', 'W', 'E' };
	char line[1024], text[1024];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
	    "%02d:%02d:%02d.%03ld %d %s %c %c ", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), log_name,
	    (char)log_role, marks[level]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rt_log_escape(text, line + n, sizeof(line) - (size_t)n - 1);
	size_t len = strlen(line);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
}
