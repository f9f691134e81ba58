/* Multi-process test support: free loopback ports, temp dirs, binaries
 * from Bazel runfiles, child processes with their stdout's first line
 * (the "ready" line) and their stderr in a log file, and a real
 * redis-server configured as the metadata instance (AOF, appendfsync
 * always, no eviction) on a random port in a temp dir. */
#ifndef HS_PROCS_H
#define HS_PROCS_H

#include <stddef.h>
#include <sys/types.h>

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int procs_free_port(void);

/* A fresh directory under $TEST_TMPDIR (or /tmp). 0 or -1. */
int procs_tempdir(char *out, size_t len, const char *tag);

/* $TEST_SRCDIR/haystack_c/<rel> into out; returns out. */
char *procs_runfile(const char *rel, char *out, size_t len);

/* Starts argv[0] with env (NULL-terminated "K=V" list added to ours, may
 * be NULL), stderr appended to log_path. With line != NULL, waits up to
 * timeout_ms for the first stdout line and copies it (no newline); the
 * rest of stdout is discarded. Returns the pid or -1 (the child is
 * killed if it printed nothing in time). */
pid_t procs_spawn(char *const argv[], char *const env[], const char *log_path,
    char *line, size_t linelen, int timeout_ms);

/* Sends sig and, for SIGKILL/SIGTERM/SIGINT, reaps the child. */
void procs_kill(pid_t pid, int sig);

/* SIGTERM, then reaps: the exit code, or 128 + the signal that ended it.
 * A sanitizer finding at exit (leaks under --config=asan) shows here. */
int procs_term(pid_t pid);

/* Prints the last lines of a log file to stderr (after a failure). */
void procs_dump_log(const char *path, int lines);

struct procs_redis {
	pid_t pid;
	int port;
	char dir[256];
	char addr[64];	 /* "127.0.0.1:PORT" */
};

/* Starts redis-server in dir (made if NULL-terminated empty) on port (0 =
 * random) and waits until it answers PING. 0 or -1. */
int procs_redis_start(struct procs_redis *r, const char *dir, int port);
/* SIGTERM (Redis flushes the AOF), reaped. */
void procs_redis_stop(struct procs_redis *r);
/* SIGKILL: a crash. */
void procs_redis_kill(struct procs_redis *r);

#endif
