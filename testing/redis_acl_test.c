/* Redis behind passwords (issue 12 §4, docs/security.md "Redis"): both
 * instances refuse anyone who has not logged in, each process's user
 * holds only what that process needs, and a process given a wrong or
 * exposed password stops at start saying which option to fix. Real
 * redis-server, redis-cli and service binaries. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "env.h"
#include "hs.h"
#include "redis_keys.h"
#include "redis_server.h"

static struct test_redis meta, cache;
static char dir[512], keyfile[600];

/* redis-cli ARGS against r with no password: what it printed. */
static void
cli(const struct test_redis *r, const char *cmd, char *out, size_t len)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", r->port);
	char *argv[] = { "redis-cli", "-p", port, (char *)cmd, NULL };
	out[0] = '\0';
	test_proc_run(argv, NULL, dir, out, len, NULL, 0, 5000);
}

static void
test_no_password_is_refused_on_both(void)
{
	char out[512];
	const struct test_redis *both[] = { &meta, &cache };
	for (int i = 0; i < 2; i++) {
		cli(both[i], "PING", out, sizeof(out));
		CHECK_MSG(strstr(out, "NOAUTH") != NULL, "%s: %s",
		    both[i]->addr, out);
		cli(both[i], "DBSIZE", out, sizeof(out));
		CHECK_MSG(strstr(out, "NOAUTH") != NULL, "%s: %s",
		    both[i]->addr, out);
	}
}

/* The reply to cmd (printf-style) sent by user to r, as "OK", the
 * error's first word ("NOPERM"), or "-" when there was no login. */
static void
as_user(const struct test_redis *r, const char *user, char *out, size_t len,
    const char *fmt, ...)
{
	redisContext *c = test_redis_connect(r, user);
	snprintf(out, len, "-");
	if (c == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
		snprintf(out, len, "%.*s", (int)strcspn(rep->str, " "),
		    rep->str);
	else if (rep != NULL)
		snprintf(out, len, "OK");
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
}

#define CHECK_REPLY(want, r, user, fmt, ...)                                   \
	do {                                                                   \
		char got_[64];                                                 \
		as_user(r, user, got_, sizeof(got_), fmt, __VA_ARGS__);        \
		CHECK_MSG(strcmp(got_, want) == 0, "%s as %s: %s, not %s",     \
		    fmt, user, got_, want);                                    \
	} while (0)

/* One command a user sends and the reply's first word it must get (see
 * as_user); cmd has one %s, key, or none. */
struct right {
	const char *want;
	const struct test_redis *r;
	const char *user, *cmd, *key;
};

static void
test_each_user_holds_only_its_rights(void)
{
	static const struct right t[] = {
		/* The metadata: only the directory writes records and the
		 * leader's address; a store only reads where the leader is. */
		{ "OK", &meta, "admin", "HSET %s rpc tcp://x:1",
		    RK_LEADER_INFO },
		{ "OK", &meta, "store", "HMGET %s rpc pub", RK_LEADER_INFO },
		{ "NOPERM", &meta, "store", "SET %s evil", RK_LEADER_INFO },
		{ "NOPERM", &meta, "store", "HSET %s rpc tcp://evil:1",
		    RK_LEADER_INFO },
		{ "NOPERM", &meta, "store", "HSET %s0000000000000001 rec x",
		    RK_PHOTO_PREFIX },
		{ "NOPERM", &meta, "replicator", "HSET %s rpc tcp://evil:1",
		    RK_LEADER_INFO },
		{ "NOPERM", &meta, "replicator", "DEL %s", RK_LOG },
		{ "NOPERM", &meta, "directory", "FLUSHALL", NULL },
		{ "NOPERM", &meta, "directory", "CONFIG SET dir /tmp", NULL },
		{ "OK", &meta, "directory", "GET %s", RK_SEQ },
		/* No client user at the metadata Redis at all. */
		{ "-", &meta, "client", "GET %s", RK_SEQ },
		/* The cache: stores and the directory write, clients only
		 * read. */
		{ "OK", &cache, "store", "SET %sab v PX 60000 NX",
		    RK_CACHE_PREFIX },
		{ "NOPERM", &cache, "store", "GET %sab", RK_CACHE_PREFIX },
		{ "OK", &cache, "client", "GET %sab", RK_CACHE_PREFIX },
		{ "NOPERM", &cache, "client", "SET %sab forged",
		    RK_CACHE_PREFIX },
		{ "NOPERM", &cache, "client", "DEL %sab", RK_CACHE_PREFIX },
		{ "NOPERM", &cache, "client", "FLUSHALL", NULL },
		{ "NOPERM", &cache, "store", "SET other-key x", NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_REPLY(t[i].want, t[i].r, t[i].user, t[i].cmd, t[i].key);
}

/* Runs stored against meta with its metadata password file at pw:
 * its exit code, stderr in err. */
static int
run_store(const char *pw, char *err, size_t errlen)
{
	char bin[512], redis[160], pwf[700], kf[640], data[600];
	test_runfile(bin, sizeof(bin), "store/stored");
	snprintf(redis, sizeof(redis), "--redis=%s", meta.addr);
	snprintf(pwf, sizeof(pwf), "--redis-password-file=%s", pw);
	snprintf(kf, sizeof(kf), "--key-file=%s", keyfile);
	snprintf(data, sizeof(data), "--data-dir=%s", dir);
	char *argv[] = { bin, "--id=1", redis, "--redis-user=store", pwf, kf,
		data, "--listen=tcp://127.0.0.1:9", NULL };
	return test_proc_run(argv, NULL, dir, NULL, 0, err, errlen, 10000);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
}

static void
test_wrong_password_stops_the_process_at_start(void)
{
	char pw[700], err[4096];
	snprintf(pw, sizeof(pw), "%s/wrong.password", dir);
	write_file(pw, "not-the-password\n", 0600);
	int rc = run_store(pw, err, sizeof(err));
	CHECK_MSG(rc > 0 && rc < 128, "exit %d: %s", rc, err);
	CHECK_MSG(strstr(err, "refused the password for user store") != NULL &&
		strstr(err, "HS_REDIS_PASSWORD_FILE") != NULL,
	    "%s", err);
}

static void
test_exposed_password_file_is_refused(void)
{
	char pw[700], err[4096], good[4096];
	struct rt_redis_ep ep = test_redis_ep(&meta, "store");
	snprintf(pw, sizeof(pw), "%s/exposed.password", dir);
	FILE *f = fopen(ep.password_file, "r");
	CHECK(f != NULL && fgets(good, sizeof(good), f) != NULL);
	fclose(f);
	/* The right password, but readable by others. */
	write_file(pw, good, 0644);
	int rc = run_store(pw, err, sizeof(err));
	CHECK_MSG(rc > 0 && rc < 128, "exit %d: %s", rc, err);
	CHECK_MSG(strstr(err, "open to group or others") != NULL &&
		strstr(err, "chmod 600") != NULL,
	    "%s", err);
	/* libhs refuses it for the cache too, naming the cluster file's
	 * entry. */
	struct hs_cluster cl;
	memset(&cl, 0, sizeof(cl));
	cl.ndirectories = 1;
	snprintf(cl.directories[0], HS_ADDR_MAX, "tcp://127.0.0.1:9");
	snprintf(cl.key_file, sizeof(cl.key_file), "%s", keyfile);
	snprintf(cl.cache, HS_ADDR_MAX, "%s", cache.addr);
	snprintf(cl.cache_user, sizeof(cl.cache_user), "client");
	snprintf(cl.cache_password_file, sizeof(cl.cache_password_file), "%s",
	    pw);
	hs_client *c = NULL;
	hs_error e;
	CHECK(hs_open(&c, &cl, &e) != HS_OK);
	CHECK_MSG(strstr(e.message, "cache_password_file") != NULL &&
		strstr(e.message, "open to group") != NULL,
	    "%s", e.message);
}

/* A script's writes (two or more) reach the AOF as MULTI/EXEC, which
 * Redis 7.0 replays as the default user: a restart after a crash must keep them although
 * nobody can log in as default. */
static void
test_a_crash_keeps_what_scripts_wrote(void)
{
	char got[64];
	CHECK_REPLY("OK", &meta, "directory", "EVAL %s 1 %s",
	    "redis.call('INCRBY', KEYS[1], 40) "
	    "return redis.call('INCR', KEYS[1])",
	    RK_GRANT_SEQ);
	test_redis_kill(&meta);
	CHECK(test_redis_restart(&meta) == 0);
	redisContext *c = test_redis_connect(&meta, "admin");
	CHECK(c != NULL);
	redisReply *r = redisCommand(c, "GET %s", RK_GRANT_SEQ);
	snprintf(got, sizeof(got), "%s",
	    r != NULL && r->type == REDIS_REPLY_STRING ? r->str : "(none)");
	CHECK_MSG(strcmp(got, "41") == 0, "%s after the restart: %s",
	    RK_GRANT_SEQ, got);
	freeReplyObject(r);
	redisFree(c);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "redis-cli without a password is refused on both instances",
		    test_no_password_is_refused_on_both },
		{ "each user holds only its process's rights",
		    test_each_user_holds_only_its_rights },
		{ "a wrong password stops a process at start",
		    test_wrong_password_stops_the_process_at_start },
		{ "a password file others can read is refused",
		    test_exposed_password_file_is_refused },
		{ "a crash keeps what scripts wrote",
		    test_a_crash_keeps_what_scripts_wrote },
		{ NULL, NULL },
	};
	if (test_temp_dir(dir, sizeof(dir), "redis-acl") != 0 ||
	    test_key_file(keyfile, sizeof(keyfile), dir) != 0 ||
	    test_redis_start(&meta, TEST_REDIS_META, NULL, 0) != 0)
		return 1;
	if (test_redis_start(&cache, TEST_REDIS_CACHE, NULL, 0) != 0) {
		test_redis_stop(&meta);
		return 1;
	}
	int rc = check_run(cases, argc, argv);
	test_redis_stop(&cache);
	test_redis_stop(&meta);
	return rc;
}
