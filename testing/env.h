/* Where a test's processes live: loopback ports no other test process is
 * handed, fresh temp folders, the workspace's binaries in Bazel runfiles
 * and the identities (tools:keys' set) a test cluster's processes use. */
#ifndef HS_TEST_ENV_H
#define HS_TEST_ENV_H

#include <stddef.h>

/* A loopback TCP port nobody listens on right now, never handed out twice
 * by one process. -1 if none was found. */
int test_free_port(void);

/* A new empty folder $TEST_TMPDIR/tag-XXXXXX (or under /tmp). 0 or -1. */
int test_temp_dir(char *path, size_t len, const char *tag);

/* Absolute path of a file built by this workspace (e.g. "store/stored"):
 * in the test's runfiles, else relative to the working directory, which
 * is the runfiles tree under `bazel run`. Returns out. */
char *test_runfile(char *out, size_t len, const char *rel);

/* Stores a test cluster may have identities for. */
#define TEST_STORES_MAX 24

/* Makes a test cluster's identities in dir/keys (tools:keys' set, with
 * stores 1..TEST_STORES_MAX); path gets the admin's identity file, which is
 * what tests call with unless they act as a server. 0 or -1. */
int test_key_file(char *path, size_t len, const char *dir);

/* The identity file of principal name beside keyfile. Returns out. */
char *test_identity(char *out, size_t len, const char *keyfile,
    const char *name);
char *test_store_identity(char *out, size_t len, const char *keyfile,
    long store_id);

#endif
