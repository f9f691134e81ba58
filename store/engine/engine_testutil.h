/* Helpers the engine's unit tests share, on top of testing/check.h: a
 * CHECK_RC that names engine errors, throwaway data directories under
 * $TEST_TMPDIR, deterministic payloads and small-volume options. */
#ifndef STORE_ENGINE_TESTUTIL_H
#define STORE_ENGINE_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "engine.h"

/* Asserts expr == want, printing both as engine error strings. */
#define CHECK_RC(expr, want)                                                   \
	do {                                                                   \
		int rc_ = (expr);                                              \
		CHECK_MSG(rc_ == (want), "%s returned %d (%s), want %d (%s)",  \
		    #expr, rc_, store_strerror(rc_), (int)(want),              \
		    store_strerror(want));                                     \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* Calls a void helper that CHECKs, and ends the case when it failed. */
#define CHECK_CALL(call)                                                       \
	do {                                                                   \
		int failures_ = check_failures;                                \
		call;                                                          \
		if (check_failures != failures_)                               \
			return;                                                \
	} while (0)

/* A fresh empty directory; returns a malloc'd path (caller frees with
 * test_rmdir). */
char *test_mkdir(const char *tag);
/* rm -rf dir, then free(dir). */
void test_rmdir(char *dir);
/* Deterministic payload for key, len bytes, into buf (the caller's). */
void test_fill(uint64_t key, void *buf, size_t len);
/* Puts key with cookie and the len bytes of test_fill(key, len); returns
 * 0 or the error. */
int test_put(struct store_engine *se, uint64_t key, uint32_t cookie,
    size_t len);
/* Closes *se and opens dir again with o into *se (a restart); 0 or the
 * error. */
int test_reopen(struct store_engine **se, const char *dir,
    const struct store_options *o);
/* Reads key and compares with test_fill(key, len); returns 0 or the error. */
int test_expect(struct store_engine *se, uint64_t key, uint32_t cookie,
    size_t len);
/* Path of a file in dir, in a static buffer: valid until the next call. */
const char *test_path(const char *dir, const char *name);
/* Options with small volumes for tests. */
struct store_options test_opts(uint64_t max_volume_size);

#endif
