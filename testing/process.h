/* Real processes for tests: free loopback ports, temp dirs, spawning the
 * project's binaries from runfiles (and Debian's redis-server) with their
 * output in log files, and killing them. Nothing is mocked. */
#ifndef HS_TEST_PROCESS_H
#define HS_TEST_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

struct test_proc {
	pid_t pid;
	char name[64];
	char log[512];	/* stdout and stderr go here */
	char *argv[48]; /* owned copies, for restarts */
	int argc;
};

/* A loopback TCP port nobody listens on right now. */
int test_free_port(void);

/* A new empty folder under $TEST_TMPDIR (or /tmp); path has room for 512. */
int test_temp_dir(char *path, size_t len, const char *tag);

/* Absolute path of a binary built by this workspace (e.g. "store/stored"). */
void test_runfile(char *out, size_t len, const char *rel);

/* Starts argv[0] (NULL-terminated argv, copied) with output in log_dir/name.log.
 * 0 or -1. */
int test_proc_start(struct test_proc *p, const char *name, const char *log_dir,
    char *const argv[]);
/* Starts it again with the same arguments. */
int test_proc_restart(struct test_proc *p);
/* Sends sig and reaps the process. */
void test_proc_kill(struct test_proc *p, int sig);
/* 1 while the process runs. */
int test_proc_alive(struct test_proc *p);
/* Waits up to timeout_ms for it to exit; its exit code, or -1. */
int test_proc_wait_exit(struct test_proc *p, int timeout_ms);
/* Prints the last lines of its log to stderr (on failure). */
void test_proc_dump_log(const struct test_proc *p);
void test_proc_free(struct test_proc *p);

/* Starts Debian's redis-server on port in dir (AOF on, appendfsync always,
 * noeviction); waits until it answers PING. 0 or -1. */
int test_redis_start(struct test_proc *p, const char *dir, int port);

/* Writes a fresh cluster key file into dir; path gets its name. */
int test_key_file(char *path, size_t len, const char *dir);

#endif
