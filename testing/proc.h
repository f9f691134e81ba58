/* Real processes for tests: the project's binaries, Debian's redis-server
 * and nginx, or the hs CLI, each with its output in a log file. Start one
 * (optionally waiting for its ready line), stop and continue it, kill it,
 * start it again with the same arguments, run one to completion, and show
 * its log when a test fails. Nothing is mocked. */
#ifndef HS_TEST_PROC_H
#define HS_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define TEST_PROC_MAX_ARGS 48
#define TEST_PROC_MAX_ENV 32

/* How to run a process; every field may be left zero. */
struct test_proc_opts {
	const char *const *env; /* "K=V" to set, "K" to unset; NULL-ended */
	const char *cwd;	/* run there instead of here */
	const char *out;   /* stdout into this file (truncated), not the log */
	int ready_ms;	   /* > 0: the first stdout line must come within
				 * this long (p->ready); later stdout is lost */
	const char *netns; /* run in this network namespace (a name under
			      /var/run/netns, testing/hosts.h), not ours */
};

struct test_proc {
	pid_t pid; /* 0 when not running */
	char name[64];
	char log[512];	 /* stderr, and stdout unless opts say otherwise */
	char ready[256]; /* the ready line, without its newline */
	char *argv[TEST_PROC_MAX_ARGS]; /* owned copies, for restarts */
	int argc;
	char *env[TEST_PROC_MAX_ENV]; /* owned copies of opts.env */
	char cwd[512], out[512];
	char netns[64];
	int ready_ms;
};

/* Starts argv[0] (NULL-ended argv, copied; looked up in PATH unless it
 * has a slash) with its output in log_dir/name.log. 0 or -1 (the log is
 * shown if a ready line did not come). */
int test_proc_start(struct test_proc *p, const char *name, const char *log_dir,
    char *const argv[]);
int test_proc_start_opts(struct test_proc *p, const char *name,
    const char *log_dir, char *const argv[], const struct test_proc_opts *o);

/* Starts it again with the same arguments and options. 0 or -1. */
int test_proc_restart(struct test_proc *p);

/* Sends sig. For SIGTERM, SIGINT and SIGKILL the process is also woken
 * if stopped and reaped (SIGKILL after 10 s if it does not exit). */
void test_proc_kill(struct test_proc *p, int sig);

/* SIGTERM, then reaps: the exit code, 128 + the signal that ended it, or
 * -1 if it had to be SIGKILLed. A sanitizer finding at exit shows here. */
int test_proc_term(struct test_proc *p);

/* Pauses (SIGSTOP) and resumes (SIGCONT) it. */
void test_proc_stop(struct test_proc *p);
void test_proc_cont(struct test_proc *p);
/* 1 once the kernel shows it stopped (a SIGSTOP is not instant). */
int test_proc_stopped(const struct test_proc *p);

/* 1 while the process runs. */
int test_proc_alive(struct test_proc *p);

/* Waits up to timeout_ms for it to exit: its exit code (128 + signal), or
 * -1 if it still runs. */
int test_proc_wait_exit(struct test_proc *p, int timeout_ms);

/* Prints the last lines of its log to stderr (on failure). */
void test_proc_dump_log(const struct test_proc *p);

/* Frees the copies; the process must be gone. */
void test_proc_free(struct test_proc *p);

/* Runs argv to completion in dir's scratch files, killed after timeout_ms:
 * stdout into out, stderr into err (NUL-ended; either may be NULL). Its
 * exit code, 128 + a signal, or -1. */
int test_proc_run(char *const argv[], const struct test_proc_opts *o,
    const char *dir, char *out, size_t outlen, char *err, size_t errlen,
    int timeout_ms);

/* fn runs once every live process has been sent SIGKILL on a fatal signal
 * and at exit (NULL: nothing): undoing what the processes needed, such as
 * their network namespaces (testing/hosts.h). It must be
 * async-signal-safe. */
void test_proc_on_exit(void (*fn)(void));

/* Up to len - 1 bytes of a file, its start or (tail) its end, NUL-ended;
 * how many. */
size_t test_read_file(const char *path, char *buf, size_t len, int tail);

#endif
