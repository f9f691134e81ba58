/* Test processes (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Every child started and not yet reaped, so that a test that crashes, is
 * aborted by a sanitizer or is stopped at its timeout takes its processes
 * (each in a process group of its own) with it instead of leaving them
 * holding their ports. Written only by spawn, read by the handler. */
#define MAX_LIVE 256
static volatile sig_atomic_t live[MAX_LIVE];
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static void (*volatile exit_hook)(void);

static void
kill_live(void)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] > 0) {
			kill(-live[i], SIGKILL);
			kill(live[i],
			    SIGKILL); /* not yet its own group leader */
		}
	void (*fn)(void) = exit_hook;
	if (fn != NULL)
		fn();
}

static void
on_fatal(int sig)
{
	kill_live();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
live_init(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGABRT, SIGSEGV, SIGBUS };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa = { .sa_handler = on_fatal };
		struct sigaction old;
		/* Keep a handler the test set itself (or a sanitizer's). */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
	}
	atexit(kill_live);
}

void
test_proc_on_exit(void (*fn)(void))
{
	pthread_once(&live_once, live_init);
	exit_hook = fn;
}

static void
live_set(pid_t old, pid_t now)
{
	pthread_once(&live_once, live_init);
	pthread_mutex_lock(&live_mu);
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == old) {
			live[i] = now;
			break;
		}
	pthread_mutex_unlock(&live_mu);
}

/* In the child: enters the network namespace p names (a "host",
 * testing/hosts.h) so the process sees only that host's network. */
static void
enter_netns(const struct test_proc *p)
{
	char path[128];
	if (p->netns[0] == '\0')
		return;
	snprintf(path, sizeof(path), "/var/run/netns/%s", p->netns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		fprintf(stderr, "cannot enter network namespace %s: %s\n", path,
		    strerror(errno));
		_exit(125);
	}
	close(fd);
}

/* In the child: stdout and stderr where p says, env changes, cwd, network
 * namespace, exec. */
static void
child(const struct test_proc *p, int ready_fd)
{
	int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	int out = p->out[0] ? open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644) :
			      log;
	dup2(ready_fd >= 0 ? ready_fd : out, STDOUT_FILENO);
	dup2(log, STDERR_FILENO);
	/* The service inherits stdout and stderr, nothing else of ours. */
	if (ready_fd > STDERR_FILENO)
		close(ready_fd);
	if (out > STDERR_FILENO && out != log)
		close(out);
	if (log > STDERR_FILENO)
		close(log);
	for (int i = 0; p->env[i] != NULL; i++) {
		if (strchr(p->env[i], '=') != NULL)
			putenv(p->env[i]);
		else
			unsetenv(p->env[i]);
	}
	if (p->cwd[0] && chdir(p->cwd) != 0)
		_exit(126);
	enter_netns(p);
	setpgid(0, 0);
	execvp(p->argv[0], p->argv);
	fprintf(stderr, "cannot exec %s: %s\n", p->argv[0], strerror(errno));
	_exit(127);
}

/* Reads one line from fd within timeout_ms into line (no newline). */
static int
read_line(int fd, char *line, size_t len, int timeout_ms)
{
	size_t n = 0;
	int64_t until = check_mono_ms() + timeout_ms;
	while (n + 1 < len) {
		int left = (int)(until - check_mono_ms());
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char c;
		if (left <= 0 || poll(&pfd, 1, left) <= 0 ||
		    read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

static int
spawn(struct test_proc *p)
{
	int fds[2] = { -1, -1 };
	if (p->ready_ms > 0 && pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		if (fds[0] >= 0) {
			close(fds[0]);
			close(fds[1]);
		}
		return -1;
	}
	if (pid == 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		child(p, fds[1]);
	}
	p->pid = pid;
	live_set(0, pid);
	if (p->ready_ms <= 0)
		return 0;
	close(fds[1]);
	int rc = read_line(fds[0], p->ready, sizeof(p->ready), p->ready_ms);
	/* Later output goes nowhere: the service prints only the one line. */
	close(fds[0]);
	if (rc != 0) {
		fprintf(stderr, "%s printed no ready line within %d ms\n",
		    p->name, p->ready_ms);
		test_proc_kill(p, SIGKILL);
		test_proc_dump_log(p);
		return -1;
	}
	return 0;
}

/* Copies a NULL-ended list into dst (at most max - 1 entries). */
static int
copy_list(char **dst, int max, const char *const *src)
{
	int n = 0;
	for (; src != NULL && src[n] != NULL && n < max - 1; n++)
		dst[n] = strdup(src[n]);
	dst[n] = NULL;
	return n;
}

int
test_proc_start_opts(struct test_proc *p, const char *name, const char *log_dir,
    char *const argv[], const struct test_proc_opts *o)
{
	static const struct test_proc_opts none;
	if (o == NULL)
		o = &none;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->log, sizeof(p->log), "%s/%s.log", log_dir, name);
	p->argc = copy_list(p->argv, TEST_PROC_MAX_ARGS,
	    (const char *const *)argv);
	copy_list(p->env, TEST_PROC_MAX_ENV, o->env);
	snprintf(p->cwd, sizeof(p->cwd), "%s", o->cwd ? o->cwd : "");
	snprintf(p->out, sizeof(p->out), "%s", o->out ? o->out : "");
	snprintf(p->netns, sizeof(p->netns), "%s", o->netns ? o->netns : "");
	p->ready_ms = o->ready_ms;
	return spawn(p);
}

int
test_proc_start(struct test_proc *p, const char *name, const char *log_dir,
    char *const argv[])
{
	return test_proc_start_opts(p, name, log_dir, argv, NULL);
}

int
test_proc_restart(struct test_proc *p)
{
	return spawn(p);
}

void
test_proc_kill(struct test_proc *p, int sig)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, sig);
	if (sig != SIGKILL && sig != SIGTERM && sig != SIGINT)
		return;
	kill(p->pid, SIGCONT); /* a stopped process handles nothing */
	if (test_proc_wait_exit(p, 10000) == -1) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	live_set(p->pid, 0);
	p->pid = 0;
}

int
test_proc_term(struct test_proc *p)
{
	if (p->pid <= 0)
		return 0;
	kill(p->pid, SIGTERM);
	kill(p->pid, SIGCONT);
	int rc = test_proc_wait_exit(p, 30000);
	if (rc == -1) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		live_set(p->pid, 0);
		p->pid = 0;
	}
	return rc;
}

void
test_proc_stop(struct test_proc *p)
{
	if (p->pid > 0)
		kill(p->pid, SIGSTOP);
}

void
test_proc_cont(struct test_proc *p)
{
	if (p->pid > 0)
		kill(p->pid, SIGCONT);
}

int
test_proc_stopped(const struct test_proc *p)
{
	char path[64], buf[256];
	if (p->pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
	return paren != NULL && paren[1] == ' ' && paren[2] == 'T';
}

int
test_proc_alive(struct test_proc *p)
{
	if (p->pid <= 0)
		return 0;
	if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
		live_set(p->pid, 0);
		p->pid = 0;
		return 0;
	}
	return 1;
}

int
test_proc_wait_exit(struct test_proc *p, int timeout_ms)
{
	int64_t until = check_mono_ms() + timeout_ms;
	while (p->pid > 0) {
		int status;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			live_set(p->pid, 0);
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		}
		if (check_mono_ms() >= until)
			break;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

size_t
test_read_file(const char *path, char *buf, size_t len, int tail)
{
	size_t n = 0;
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (tail && fseek(f, -(long)(len - 1), SEEK_END) != 0)
			rewind(f);
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

void
test_proc_dump_log(const struct test_proc *p)
{
	char tail[4096];
	test_read_file(p->log, tail, sizeof(tail), 1);
	fprintf(stderr, "---- end of %s ----\n%s", p->log,
	    tail[0] ? tail : "(no log)\n");
}

void
test_proc_free(struct test_proc *p)
{
	for (int i = 0; i < p->argc; i++)
		free(p->argv[i]);
	for (int i = 0; p->env[i] != NULL; i++)
		free(p->env[i]);
	p->argc = 0;
	p->env[0] = NULL;
}

int
test_proc_run(char *const argv[], const struct test_proc_opts *o,
    const char *dir, char *out, size_t outlen, char *err, size_t errlen,
    int timeout_ms)
{
	char scratch[600], outf[640];
	struct test_proc p;
	struct test_proc_opts ro = o ? *o : (struct test_proc_opts){ 0 };
	snprintf(scratch, sizeof(scratch), "%s/run-XXXXXX", dir);
	if (mkdtemp(scratch) == NULL)
		return -1;
	snprintf(outf, sizeof(outf), "%s/out", scratch);
	ro.out = outf;
	ro.ready_ms = 0;
	int rc = test_proc_start_opts(&p, "err", scratch, argv, &ro);
	if (rc == 0 && (rc = test_proc_wait_exit(&p, timeout_ms)) == -1)
		test_proc_kill(&p, SIGKILL);
	if (out != NULL)
		test_read_file(outf, out, outlen, 0);
	if (err != NULL)
		test_read_file(p.log, err, errlen, 0);
	unlink(outf);
	unlink(p.log);
	rmdir(scratch);
	test_proc_free(&p);
	return rc;
}
