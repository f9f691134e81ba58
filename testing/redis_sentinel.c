/* The sentinel set for tests (see redis_sentinel.h): two metadata
 * instances sharing one folder of password files, the replica pointed at
 * the primary, then three sentinels whose config files are written here
 * (Sentinel rewrites its own file, so each gets a fresh one). On hosts
 * each binds its host's address and the sentinels name the primary by
 * its host's address. */
#include "redis_sentinel.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "env.h"

#define MASTER "meta"

/* Host h's namespace and address, or loopback's without hosts. */
static const char *
ns_of(const struct test_sentinel *s, int h)
{
	return s->hosts != NULL ? s->hosts->h[h].name : NULL;
}

static const char *
ip_of(const struct test_sentinel *s, int h)
{
	return s->hosts != NULL ? s->hosts->h[h].ip : "127.0.0.1";
}

/* The password in user i's file of r, NUL-ended. 0 or -1. */
static int
read_pw(const struct test_redis *r, int i, char pw[64])
{
	size_t n = test_read_file(r->pw[i], pw, 64, 0);
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Runs a command on r as admin; 1 if the reply is not an error. */
static int
admin_cmd(const struct test_redis *r, const char *fmt, const char *a,
    const char *b)
{
	redisContext *c = test_redis_connect(r, "admin");
	if (c == NULL)
		return 0;
	redisReply *rep = redisCommand(c, fmt, a, b);
	int ok = rep != NULL && rep->type != REDIS_REPLY_ERROR;
	if (!ok)
		fprintf(stderr, "redis %d: '%s' failed: %s\n", r->port, fmt,
		    rep ? rep->str : c->errstr);
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
	return ok;
}

/* Replication logs in as admin; no write without a replica; a replica's
 * full sync starts at once (not after the default 5 s wait for others);
 * and, given a primary, follow it. */
static int
configure(struct test_sentinel *s, int i, int primary)
{
	struct test_redis *r = &s->redis[i];
	char pw[64], port[16];
	if (read_pw(r, 0, pw) != 0)
		return -1;
	int ok = admin_cmd(r, "CONFIG SET masteruser %s", "admin", NULL) &&
	    admin_cmd(r, "CONFIG SET masterauth %s", pw, NULL) &&
	    admin_cmd(r, "CONFIG SET min-replicas-to-write %s", "1", NULL) &&
	    admin_cmd(r, "CONFIG SET repl-diskless-sync-delay %s", "0", NULL);
	if (ok && primary >= 0) {
		snprintf(port, sizeof(port), "%d", s->redis[primary].port);
		ok = admin_cmd(r, "REPLICAOF %s %s",
		    ip_of(s, s->h_redis[primary]), port);
	}
	return ok ? 0 : -1;
}

/* One "user NAME on #SHA256 RULES" line per metadata user: admin may do
 * anything (the other sentinels log in as it), the others only ask where
 * the primary is. */
static void
users(FILE *f, const struct test_redis *r)
{
	fprintf(f, "user default off\n");
	for (int i = 0; i < TEST_REDIS_NUSERS; i++) {
		char pw[64];
		unsigned char d[SHA256_DIGEST_LENGTH];
		if (read_pw(r, i, pw) != 0)
			continue;
		SHA256((unsigned char *)pw, strlen(pw), d);
		fprintf(f, "user %s on #", test_redis_users[i]);
		for (int k = 0; k < SHA256_DIGEST_LENGTH; k++)
			fprintf(f, "%02x", d[k]);
		fprintf(f, "%s\n",
		    i == 0 ? " ~* &* +@all" :
			     " -@all +sentinel|get-master-addr-by-name");
	}
}

static int
start_sentinel(struct test_sentinel *s, int i)
{
	char dir[600], conf[640], pw[64], name[32];
	snprintf(dir, sizeof(dir), "%s/sentinel-%d", s->dir, i + 1);
	mkdir(dir, 0700);
	snprintf(conf, sizeof(conf), "%s/sentinel.conf", dir);
	if (read_pw(&s->redis[0], 0, pw) != 0)
		return -1;
	int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f,
	    "port %d\nbind %s\ndir %s\n"
	    "sentinel monitor " MASTER " %s %d 2\n"
	    "sentinel auth-user " MASTER " admin\n"
	    "sentinel auth-pass " MASTER " %s\n"
	    "sentinel down-after-milliseconds " MASTER " 1000\n"
	    "sentinel failover-timeout " MASTER " 3000\n"
	    "sentinel parallel-syncs " MASTER " 1\n"
	    "sentinel sentinel-user admin\nsentinel sentinel-pass %s\n",
	    s->sport[i], s->sip[i], dir, ip_of(s, s->h_redis[0]),
	    s->redis[0].port, pw, pw);
	users(f, &s->redis[0]);
	if (fclose(f) != 0)
		return -1;
	snprintf(name, sizeof(name), "sentinel-%d", i + 1);
	char *argv[] = { "redis-server", conf, "--sentinel", NULL };
	struct test_proc_opts o = { .netns = ns_of(s, s->h_sent[i]) };
	return test_proc_start_opts(&s->sent[i], name, s->dir, argv, &o);
}

/* Copies the primary's password files into dir, so the replica has the
 * same users (a process logs in to whichever is primary). */
static int
share_passwords(const struct test_sentinel *s, const char *dir)
{
	for (int i = 0; i < TEST_REDIS_NUSERS; i++) {
		char pw[64], path[700];
		if (read_pw(&s->redis[0], i, pw) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/%s.password", dir,
		    test_redis_users[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ssize_t n = fd >= 0 ? write(fd, pw, strlen(pw)) : -1;
		if (fd >= 0)
			close(fd);
		if (n != (ssize_t)strlen(pw))
			return -1;
	}
	return 0;
}

int
test_sentinel_healthy(struct test_sentinel *s)
{
	int p = test_sentinel_primary(s);
	if (p < 0)
		return 0;
	redisContext *c = test_redis_connect(&s->redis[p], "admin");
	redisReply *rep = c ?
	    redisCommand(c, "WAIT %d 100", TEST_SENTINEL_REDIS - 1) :
	    NULL;
	int ok = rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer >= TEST_SENTINEL_REDIS - 1;
	if (rep != NULL)
		freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* 1 if every sentinel names redis[0] and its replica is in sync. */
static int
settled(struct test_sentinel *s)
{
	return test_sentinel_primary(s) == 0 && test_sentinel_healthy(s);
}

/* Each of the five on a host of its own (with hosts). 0 or -1. */
static int
place(struct test_sentinel *s)
{
	char role[32];
	int rc = 0;
	for (int i = 0; i < TEST_SENTINEL_REDIS; i++) {
		snprintf(role, sizeof(role), "redis-meta-%d", i + 1);
		rc |= s->h_redis[i] = test_hosts_place(s->hosts, role, NULL,
		    NULL);
	}
	for (int i = 0; i < TEST_SENTINELS; i++) {
		snprintf(role, sizeof(role), "sentinel-%d", i + 1);
		rc |= s->h_sent[i] = test_hosts_place(s->hosts, role, NULL,
		    s->sip[i]);
	}
	return rc < 0 ? -1 : 0;
}

static void
dump(struct test_proc *p)
{
	if (p->argc > 0)
		test_proc_dump_log(p);
}

int
test_sentinel_start(struct test_sentinel *s, const char *dir)
{
	return test_sentinel_start_on(s, dir, NULL);
}

int
test_sentinel_start_on(struct test_sentinel *s, const char *dir,
    struct test_hosts *hs)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->hosts = hs;
	mkdir(dir, 0755);
	if (place(s) != 0)
		return -1;
	for (int i = 0; i < TEST_SENTINEL_REDIS; i++) {
		char d[600];
		if (i == 0)
			snprintf(d, sizeof(d), "%s/redis-meta", dir);
		else
			snprintf(d, sizeof(d), "%s/redis-meta-replica-%d", dir,
			    i);
		mkdir(d, 0755);
		if ((i > 0 && share_passwords(s, d) != 0) ||
		    test_redis_start_in(&s->redis[i], TEST_REDIS_META, d, 0,
			ip_of(s, s->h_redis[i]),
			ns_of(s, s->h_redis[i])) != 0 ||
		    configure(s, i, i ? 0 : -1) != 0)
			return -1;
	}
	int n = snprintf(s->addr, sizeof(s->addr), "sentinel:");
	for (int i = 0; i < TEST_SENTINELS; i++) {
		s->sport[i] = test_free_port();
		n += snprintf(s->addr + n, sizeof(s->addr) - (size_t)n,
		    "%s%s:%d", i ? "," : "", s->sip[i], s->sport[i]);
		if (start_sentinel(s, i) != 0)
			return -1;
	}
	snprintf(s->addr + n, sizeof(s->addr) - (size_t)n, "/" MASTER);
	if (CHECK_WAIT_UNTIL(settled(s), 15000))
		return 0;
	fprintf(stderr, "the sentinel set did not settle\n");
	test_sentinel_each(s, dump);
	return -1;
}

/* The port every live sentinel names as the primary, or 0 when they
 * disagree or one cannot be asked. */
static int
named_port(struct test_sentinel *s)
{
	int port = 0;
	struct rt_redis_ep ep = test_redis_ep(&s->redis[0], "directory");
	for (int i = 0; i < TEST_SENTINELS; i++) {
		char err[256], addr[64];
		if (!test_proc_alive(&s->sent[i]))
			continue;
		snprintf(addr, sizeof(addr), "%s:%d", s->sip[i], s->sport[i]);
		ep.addr = addr;
		redisContext *c = rt_redis_connect(&ep, 500, err, sizeof(err));
		redisReply *rep = c ? redisCommand(c,
					  "SENTINEL get-master-addr-by-name "
					  "%s",
					  MASTER) :
				      NULL;
		int p = rep && rep->type == REDIS_REPLY_ARRAY &&
			rep->elements == 2 ?
		    atoi(rep->element[1]->str) :
		    -1;
		if (rep != NULL)
			freeReplyObject(rep);
		if (c != NULL)
			redisFree(c);
		if (p <= 0 || (port != 0 && p != port))
			return 0;
		port = p;
	}
	return port;
}

int
test_sentinel_primary(struct test_sentinel *s)
{
	int port = named_port(s);
	for (int i = 0; i < TEST_SENTINEL_REDIS; i++)
		if (port != 0 && s->redis[i].port == port)
			return i;
	return -1;
}

int
test_sentinel_moved_on(struct test_sentinel *s, int i)
{
	int p = test_sentinel_primary(s);
	return p >= 0 && p != i;
}

int
test_sentinel_rejoin(struct test_sentinel *s, int i)
{
	int p = -1;
	/* Right after a failover the sentinels may disagree for a moment
	 * (one still names the old primary): wait until they agree. */
	CHECK_WAIT_UNTIL((p = test_sentinel_primary(s)) >= 0 && p != i, 10000);
	/* Alive: a start that came up but failed to follow, tried again. */
	if (p < 0 || p == i ||
	    (!test_proc_alive(&s->redis[i].proc) &&
		test_redis_restart(&s->redis[i]) != 0))
		return -1;
	return configure(s, i, p);
}

void
test_sentinel_each(struct test_sentinel *s, void (*fn)(struct test_proc *))
{
	for (int i = 0; i < TEST_SENTINELS; i++)
		fn(&s->sent[i]);
	for (int i = TEST_SENTINEL_REDIS - 1; i >= 0; i--)
		fn(&s->redis[i].proc);
}
