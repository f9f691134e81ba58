/* The process harness (see procs.h). */
#include "procs.h"
#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
procs_free_port(void)
{
	return test_free_port();
}

int
procs_tempdir(char *out, size_t len, const char *tag)
{
	const char *base = getenv("TEST_TMPDIR");
	snprintf(out, len, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
	return mkdtemp(out) ? 0 : -1;
}

char *
procs_runfile(const char *rel, char *out, size_t len)
{
	const char *srcdir = getenv("TEST_SRCDIR");
	snprintf(out, len, "%s/haystack_c/%s", srcdir ? srcdir : ".", rel);
	return out;
}

static int
read_line(int fd, char *line, size_t len, int timeout_ms)
{
	size_t n = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n + 1 < len) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		char c;
		if (read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

pid_t
procs_spawn(char *const argv[], char *const env[], const char *log_path,
    char *line, size_t linelen, int timeout_ms)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		int logfd = open(log_path ? log_path : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(line ? fds[1] : devnull, STDOUT_FILENO);
		dup2(logfd >= 0 ? logfd : devnull, STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if (line != NULL && read_line(fds[0], line, linelen, timeout_ms) != 0) {
		fprintf(stderr, "%s printed no ready line within %d ms\n",
		    argv[0], timeout_ms);
		close(fds[0]);
		procs_kill(pid, SIGKILL);
		return -1;
	}
	/* Later output goes nowhere: the child's writes to a closed pipe
	 * fail with EPIPE (directoryd prints only the one line). */
	close(fds[0]);
	return pid;
}

void
procs_kill(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT)
		waitpid(pid, NULL, 0);
}

int
procs_term(pid_t pid)
{
	int st = 0;
	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void
procs_dump_log(const char *path, int lines)
{
	char cmd[600];
	fprintf(stderr, "---- last %d lines of %s ----\n", lines, path);
	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, path);
	if (system(cmd) != 0)
		fprintf(stderr, "(cannot read it)\n");
}

static int
redis_ping(int port)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	int ok = 0;
	if (c != NULL && c->err == 0) {
		redisReply *r = redisCommand(c, "PING");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

int
procs_redis_start(struct procs_redis *r, const char *dir, int port)
{
	char portstr[16], logf[300];
	if (dir == NULL) {
		if (procs_tempdir(r->dir, sizeof(r->dir), "redis") != 0)
			return -1;
	} else if (dir != r->dir) { /* a restart passes r->dir itself */
		snprintf(r->dir, sizeof(r->dir), "%s", dir);
	}
	r->port = port ? port : procs_free_port();
	snprintf(portstr, sizeof(portstr), "%d", r->port);
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
	snprintf(logf, sizeof(logf), "%s/redis.log", r->dir);
	/* The metadata instance as docs/directory.md prescribes. */
	char *argv[] = { "/usr/bin/redis-server", "--port", portstr, "--bind",
		"127.0.0.1", "--dir", r->dir, "--appendonly", "yes",
		"--appendfsync", "always", "--maxmemory-policy", "noeviction",
		"--save", "", "--protected-mode", "no", "--logfile", logf, NULL };
	r->pid = procs_spawn(argv, NULL, logf, NULL, 0, 0);
	if (r->pid < 0)
		return -1;
	for (int i = 0; i < 500; i++) {
		if (redis_ping(r->port))
			return 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "redis-server on port %d did not answer\n", r->port);
	procs_dump_log(logf, 20);
	procs_kill(r->pid, SIGKILL);
	return -1;
}

void
procs_redis_stop(struct procs_redis *r)
{
	procs_kill(r->pid, SIGTERM);
	r->pid = 0;
}

void
procs_redis_kill(struct procs_redis *r)
{
	procs_kill(r->pid, SIGKILL);
	r->pid = 0;
}
