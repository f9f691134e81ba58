/* libhs' leaf helpers (hs_internal.h), used by every other file of the
 * library: error filling, deadlines and the retry backoff. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hs_internal.h"

hs_status
hsi_err(hs_error *err, hs_status code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

int64_t
hsi_deadline(int64_t timeout_ms)
{
	return rt_mono_ms() +
	    (timeout_ms > 0 ? timeout_ms : HS_DEFAULT_TIMEOUT_MS);
}

int64_t
hsi_left(int64_t deadline)
{
	int64_t left = deadline - rt_mono_ms();
	return left > 0 ? left : 0;
}

int
hsi_backoff(int attempt, int64_t deadline)
{
	int64_t ms = 50;
	for (int i = 0; i < attempt && ms < 1000; i++)
		ms *= 2;
	if (ms > 1000)
		ms = 1000;
	int64_t left = hsi_left(deadline);
	if (left <= 0)
		return 0;
	if (ms > left)
		ms = left;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	return hsi_left(deadline) > 0;
}

void
hsi_addr_list(const char (*addrs)[HS_ADDR_MAX], size_t n, const char **urls,
    char *where, size_t len)
{
	where[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		urls[i] = addrs[i];
		size_t used = strlen(where);
		snprintf(where + used, len - used, "%s%s", i ? ", " : "",
		    urls[i]);
	}
}
