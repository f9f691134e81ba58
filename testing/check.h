/* A minimal test harness for C unit and process tests: CHECK macros that
 * print what failed and where, a named case table, and helpers to wait on a
 * condition with a bound (never a fixed sleep). */
#ifndef HS_CHECK_H
#define HS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern int check_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			    __LINE__, #cond);                                  \
			check_failures++;                                      \
			return;                                                \
		}                                                              \
	} while (0)

/* CHECK with a printf-style explanation of what was expected. */
#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, \
			    __LINE__, #cond);                                  \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			check_failures++;                                      \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b) {                                                \
			fprintf(stderr,                                        \
			    "%s:%d: CHECK_EQ failed: %s == %lld, "             \
			    "%s == %lld\n",                                    \
			    __FILE__, __LINE__, #a, _a, #b, _b);               \
			check_failures++;                                      \
			return;                                                \
		}                                                              \
	} while (0)

/* Status checks print the status names and the message. */
#define CHECK_STATUS(got, want, msg)                                           \
	do {                                                                   \
		int _g = (int)(got), _w = (int)(want);                         \
		if (_g != _w) {                                                \
			fprintf(stderr, "%s:%d: got %s, want %s (%s)\n",       \
			    __FILE__, __LINE__, hs_status_str(_g),             \
			    hs_status_str(_w), (msg));                         \
			check_failures++;                                      \
			return;                                                \
		}                                                              \
	} while (0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

/* Runs every case (or those whose name contains argv[1]); prints one line
 * per case; returns the exit code. */
int check_run(const struct check_case *cases, int argc, char **argv);

/* Fills buf with len bytes of a xorshift stream started at state (never
 * 0): test data that is the same every run for the same state. */
void test_fill_bytes(void *buf, size_t len, uint64_t state);

/* A malloc'd buffer (the caller frees; never NULL for len 0) of len bytes
 * of test data for seed. */
uint8_t *test_bytes(size_t len, uint64_t seed);

/* Milliseconds on the monotonic clock. */
int64_t check_mono_ms(void);

/* Polls cond() every 5 ms until it holds or timeout_ms passes. 1 if held. */
#define CHECK_WAIT_UNTIL(expr, timeout_ms)                                     \
	({                                                                     \
		int64_t _until = check_mono_ms() + (timeout_ms);               \
		int _ok;                                                       \
		while (!(_ok = (expr)) && check_mono_ms() < _until) {          \
			struct timespec _ts = { 0, 5000000 };                  \
			nanosleep(&_ts, NULL);                                 \
		}                                                              \
		_ok;                                                           \
	})

#endif
