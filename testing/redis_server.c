/* Test Redis instances (see redis_server.h): the ACL template filled with
 * fresh random passwords, then redis-server started on it. */
#include "redis_server.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "env.h"

const char *const test_redis_users[TEST_REDIS_NUSERS] = { "admin", "directory",
	"replicator", "store", "client" };

/* Index of user in test_redis_users, or -1. */
static int
user_index(const char *user)
{
	for (int i = 0; user != NULL && i < TEST_REDIS_NUSERS; i++)
		if (strcmp(user, test_redis_users[i]) == 0)
			return i;
	return -1;
}

struct rt_redis_ep
test_redis_ep(const struct test_redis *r, const char *user)
{
	int i = user_index(user);
	struct rt_redis_ep ep = { .addr = r->addr };
	if (i >= 0) {
		ep.user = test_redis_users[i];
		ep.password_file = r->pw[i];
	}
	return ep;
}

redisContext *
test_redis_connect(const struct test_redis *r, const char *user)
{
	char err[512];
	struct rt_redis_ep ep = test_redis_ep(r, user);
	redisContext *c = rt_redis_connect(&ep, 1000, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "test redis as %s: %s\n", user ? user : "-",
		    err);
	return c;
}

void
test_redis_flags(const struct test_redis *r, const char *flag, const char *user,
    char *out, size_t len)
{
	int i = user_index(user);
	size_t used = strlen(out);
	snprintf(out + used, len - used,
	    " --%s=%s --%s-user=%s "
	    "--%s-password-file=%s",
	    flag, r->addr, flag, i >= 0 ? test_redis_users[i] : "", flag,
	    i >= 0 ? r->pw[i] : "");
}

int
test_redis_ping(const struct test_redis *r)
{
	char err[512];
	struct rt_redis_ep ep = test_redis_ep(r, "admin");
	redisContext *c = rt_redis_connect(&ep, 200, err, sizeof(err));
	int ok = 0;
	if (c != NULL) {
		redisReply *rep = redisCommand(c, "PING");
		ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
		if (rep != NULL)
			freeReplyObject(rep);
		redisFree(c);
	}
	return ok;
}

/* Makes user i's password file in r->dir unless a start before made it,
 * and puts the password's SHA-256 in hex (what an ACL file holds). */
static int
password(struct test_redis *r, int i, char hex[65])
{
	char pw[33] = "";
	unsigned char raw[16], d[SHA256_DIGEST_LENGTH];
	snprintf(r->pw[i], sizeof(r->pw[i]), "%s/%s.password", r->dir,
	    test_redis_users[i]);
	int fd = open(r->pw[i], O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, pw, 32);
		close(fd);
		pw[n > 0 ? n : 0] = '\0';
	}
	if (strlen(pw) != 32) {
		fd = open("/dev/urandom", O_RDONLY);
		if (fd < 0 || read(fd, raw, sizeof(raw)) != sizeof(raw))
			return -1;
		close(fd);
		for (int k = 0; k < 16; k++)
			snprintf(pw + 2 * k, 3, "%02x", raw[k]);
		fd = open(r->pw[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, pw, 32) != 32)
			return -1;
		close(fd);
	}
	SHA256((unsigned char *)pw, 32, d);
	for (int k = 0; k < SHA256_DIGEST_LENGTH; k++)
		snprintf(hex + 2 * k, 3, "%02x", d[k]);
	return 0;
}

/* Writes r->acl from the role's template: comment lines dropped, each
 * @USER@ replaced by that user's password hash. 0 or -1. */
static int
write_acl(struct test_redis *r, const char *name)
{
	char tpath[512], rel[64], t[8192], hex[TEST_REDIS_NUSERS][65];
	snprintf(rel, sizeof(rel), "testing/%s.acl", name);
	test_runfile(tpath, sizeof(tpath), rel);
	test_read_file(tpath, t, sizeof(t), 0);
	for (int i = 0; i < TEST_REDIS_NUSERS; i++)
		if (password(r, i, hex[i]) != 0)
			return -1;
	snprintf(r->acl, sizeof(r->acl), "%s/users.acl", r->dir);
	FILE *f = fopen(r->acl, "w");
	if (t[0] == '\0' || f == NULL) {
		fprintf(stderr, "cannot write %s from %s\n", r->acl, tpath);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	for (char *save = NULL, *l = strtok_r(t, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		for (char *p = l; *p != '\0'; p++) {
			char *end = *p == '@' ? strchr(p + 1, '@') : NULL;
			int u = -1;
			for (int i = 0;
			     end != NULL && u < 0 && i < TEST_REDIS_NUSERS; i++)
				if ((size_t)(end - p - 1) ==
					strlen(test_redis_users[i]) &&
				    strncasecmp(p + 1, test_redis_users[i],
					(size_t)(end - p - 1)) == 0)
					u = i;
			if (u < 0) {
				fputc(*p, f);
				continue;
			}
			fputs(hex[u], f);
			p = end;
		}
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
wait_ready(struct test_redis *r)
{
	if (CHECK_WAIT_UNTIL(test_redis_ping(r) || !test_proc_alive(&r->proc),
		10000) &&
	    test_proc_alive(&r->proc))
		return 0;
	fprintf(stderr, "redis-server on port %d did not answer\n", r->port);
	test_proc_dump_log(&r->proc);
	test_proc_kill(&r->proc, SIGKILL);
	return -1;
}

/* A copy of the template rel in r->dir (mode 0600) for the instance to
 * start from: under Sentinel a failover CONFIG REWRITEs it, with the
 * replication password, which must land in this instance's folder and
 * not in the shared template. 0 or -1. */
static int
own_conf(const struct test_redis *r, const char *rel, const char *name,
    char *conf, size_t len)
{
	char tpath[512], t[8192];
	test_runfile(tpath, sizeof(tpath), rel);
	size_t n = test_read_file(tpath, t, sizeof(t), 0);
	snprintf(conf, len, "%s/%s.conf", r->dir, name);
	int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t w = fd >= 0 ? write(fd, t, n) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0 && w == (ssize_t)n)
		return 0;
	fprintf(stderr, "cannot copy %s to %s\n", tpath, conf);
	return -1;
}

int
test_redis_start(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port)
{
	return test_redis_start_in(r, role, dir, port, NULL, NULL);
}

int
test_redis_start_in(struct test_redis *r, enum test_redis_role role,
    const char *dir, int port, const char *ip, const char *netns)
{
	const char *name = role == TEST_REDIS_META ? "redis-meta" :
						     "redis-cache";
	char conf[600], portstr[16], rel[64];
	memset(r, 0, sizeof(*r));
	r->role = role;
	if (dir != NULL)
		snprintf(r->dir, sizeof(r->dir), "%s", dir);
	else if (test_temp_dir(r->dir, sizeof(r->dir), name) != 0)
		return -1;
	if (write_acl(r, name) != 0)
		return -1;
	r->port = port ? port : test_free_port();
	if (ip == NULL)
		ip = "127.0.0.1";
	snprintf(portstr, sizeof(portstr), "%d", r->port);
	snprintf(r->addr, sizeof(r->addr), "%s:%d", ip, r->port);
	snprintf(rel, sizeof(rel), "testing/%s.conf", name);
	if (own_conf(r, rel, name, conf, sizeof(conf)) != 0)
		return -1;
	char *argv[] = { "redis-server", conf, "--port", portstr, "--dir",
		r->dir, "--aclfile", r->acl, "--bind", (char *)ip, NULL };
	struct test_proc_opts o = { .netns = netns };
	if (test_proc_start_opts(&r->proc, name, r->dir, argv, &o) != 0)
		return -1;
	return wait_ready(r);
}

int
test_redis_restart(struct test_redis *r)
{
	if (test_proc_restart(&r->proc) != 0)
		return -1;
	return wait_ready(r);
}

void
test_redis_stop(struct test_redis *r)
{
	test_proc_kill(&r->proc, SIGTERM);
	test_proc_free(&r->proc);
}

void
test_redis_kill(struct test_redis *r)
{
	test_proc_kill(&r->proc, SIGKILL);
}
