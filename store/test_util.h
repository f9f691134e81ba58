/* Tiny test harness for the store unit tests: a table of scenario-named
 * cases, assertion macros that print the engine's error string, and
 * throwaway data directories under $TEST_TMPDIR. */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

struct test_case {
	const char *name;
	int (*fn)(void); /* 0 = pass */
};

/* Runs every case, prints one line each and "N passed, M failed". */
int test_run(const struct test_case *cases);

#define CHECK(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                     \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed: ", __FILE__,       \
			    __LINE__, #cond);                                          \
			fprintf(stderr, __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                         \
			return 1;                                                      \
		}                                                                  \
	} while (0)

/* Asserts expr == want, printing both as engine error strings. */
#define CHECK_RC(expr, want)                                               \
	do {                                                                   \
		int rc_ = (expr);                                                  \
		CHECK(rc_ == (want), "%s returned %d (%s), want %d (%s)", #expr,  \
		    rc_, store_strerror(rc_), (int)(want), store_strerror(want)); \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* A fresh empty directory; returns a malloc'd path (caller frees). */
char *test_mkdir(const char *tag);
/* rm -rf dir, then free(dir). */
void test_rmdir(char *dir);
/* Deterministic payload for key, len bytes. */
void test_fill(uint64_t key, void *buf, size_t len);
/* Reads key and compares with test_fill(key, len); returns 0 or the error. */
int test_expect(struct store_engine *se, uint64_t key, uint32_t cookie,
    size_t len);
/* Path of a file in dir (static buffer, one at a time). */
const char *test_path(const char *dir, const char *name);
/* Options with small volumes for tests. */
struct store_options test_opts(uint64_t max_volume_size);

#endif
