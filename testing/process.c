/* Test processes (see process.h). */
#include "process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Ports are drawn at random from 20000-32767, below Linux's ephemeral
 * range (32768-60999): a port handed out here cannot be taken meanwhile by
 * some process's outgoing connection, as a kernel-chosen free port can.
 * None is handed out twice by one test process: a cluster picks all its
 * ports before any process binds them. */
#define PORT_BASE 20000
#define PORT_SPAN 12768

int
test_free_port(void)
{
	static uint8_t given[PORT_SPAN / 8 + 1];
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)rand();
		int slot = (int)(r % PORT_SPAN), port = PORT_BASE + slot;
		pthread_mutex_lock(&mu);
		int taken = given[slot / 8] & (1u << (slot % 8));
		given[slot / 8] |= (uint8_t)(1u << (slot % 8));
		pthread_mutex_unlock(&mu);
		if (taken)
			continue;
		struct sockaddr_in a = { .sin_family = AF_INET,
			.sin_port = htons((uint16_t)port) };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	return -1;
}

int
test_temp_dir(char *path, size_t len, const char *tag)
{
	const char *base = getenv("TEST_TMPDIR");
	snprintf(path, len, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
	return mkdtemp(path) ? 0 : -1;
}

void
test_runfile(char *out, size_t len, const char *rel)
{
	const char *srcdir = getenv("TEST_SRCDIR");
	if (srcdir != NULL)
		snprintf(out, len, "%s/haystack_c/%s", srcdir, rel);
	else
		snprintf(out, len, "bazel-bin/%s", rel);
}

static int
spawn(struct test_proc *p)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		setpgid(0, 0);
		execvp(p->argv[0], p->argv);
		fprintf(stderr, "cannot exec %s: %s\n", p->argv[0],
		    strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	return 0;
}

int
test_proc_start(struct test_proc *p, const char *name, const char *log_dir,
    char *const argv[])
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->log, sizeof(p->log), "%s/%s.log", log_dir, name);
	for (p->argc = 0; argv[p->argc] != NULL && p->argc < 47; p->argc++)
		p->argv[p->argc] = strdup(argv[p->argc]);
	p->argv[p->argc] = NULL;
	return spawn(p);
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
	if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) {
		if (test_proc_wait_exit(p, 10000) == -1 && sig != SIGKILL) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		p->pid = 0;
	}
}

int
test_proc_alive(struct test_proc *p)
{
	if (p->pid <= 0)
		return 0;
	int status;
	pid_t r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid) {
		p->pid = 0;
		return 0;
	}
	return 1;
}

int
test_proc_wait_exit(struct test_proc *p, int timeout_ms)
{
	int64_t until = check_mono_ms() + timeout_ms;
	while (check_mono_ms() < until) {
		int status;
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

void
test_proc_dump_log(const struct test_proc *p)
{
	char cmd[700];
	fprintf(stderr, "---- last lines of %s ----\n", p->log);
	snprintf(cmd, sizeof(cmd), "tail -n 30 '%s' >&2", p->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

void
test_proc_free(struct test_proc *p)
{
	for (int i = 0; i < p->argc; i++)
		free(p->argv[i]);
	p->argc = 0;
}

static int
redis_ping(int port)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	int ok = 0;
	if (c != NULL && !c->err) {
		redisReply *r = redisCommand(c, "PING");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return ok;
}

int
test_redis_start(struct test_proc *p, const char *dir, int port)
{
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	char *argv[] = { "redis-server", "--port", portstr, "--bind",
		"127.0.0.1", "--dir", (char *)dir, "--appendonly", "yes",
		"--appendfsync", "always", "--maxmemory-policy", "noeviction",
		"--save", "", "--daemonize", "no", NULL };
	char name[32];
	snprintf(name, sizeof(name), "redis-%d", port);
	if (test_proc_start(p, name, dir, argv) != 0)
		return -1;
	if (!CHECK_WAIT_UNTIL(redis_ping(port), 10000)) {
		test_proc_dump_log(p);
		return -1;
	}
	return 0;
}

int
test_key_file(char *path, size_t len, const char *dir)
{
	snprintf(path, len, "%s/cluster.key", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	fclose(f);
	return 0;
}
