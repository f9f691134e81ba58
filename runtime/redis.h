/* Redis access for every process: the one address grammar (the same
 * HS_REDIS works everywhere), the one connector (it logs in as the
 * process's ACL user right after every connect), and a connection owned by
 * one thread (in the directory the election, the writer, the follower sync
 * and the housekeeping thread each hold their own, so a slow commit never
 * delays a lease refresh). A broken connection is re-dialled on the next
 * call; every call is bounded by the timeout. Key names are in
 * redis_keys.h.
 *
 * An address is one of
 *   HOST:PORT                       one Redis
 *   unix:/PATH                      one Redis on a unix socket
 *   sentinel:HOST:PORT,.../NAME     the primary Redis Sentinel knows as
 *                                   NAME (1 to RT_REDIS_MAX_SENTINELS)
 * Through sentinels, a connect asks them in turn (SENTINEL
 * get-master-addr-by-name), connects to the answer, logs in and checks
 * that ROLE says master (during a failover a sentinel's answer is stale
 * for a moment: it asks again until the timeout). The process logs in to
 * the sentinels with the same ACL user and password file as to Redis: the
 * sentinels hold those users with only the right to ask where the primary
 * is (docs/reliability.md, "Metadata that survives its Redis"). A link
 * whose primary was demoted (READONLY) re-dials through the sentinels, so
 * every process follows a failover. */
#ifndef RT_REDIS_H
#define RT_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_redis rt_redis;

/* Where a Redis instance is and who this process is to it. Both instances
 * run with ACL users and the default user off (docs/security.md, "Redis"),
 * so every process names its user and a file holding the password (mode
 * 0600 or stricter: one open to group or others is refused). The
 * strings are borrowed (from argv, the environment or a config) and must
 * outlive every link made from them. */
struct rt_redis_ep {
	const char *addr;	   /* see the grammar above */
	const char *user;	   /* ACL user; NULL or "": "default" */
	const char *password_file; /* NULL or "": no AUTH at all */
	char pw_option[64];	   /* what names the file, for messages: e.g.
			       "HS_REDIS_PASSWORD_FILE" */
	/* Every rt_redis_eval on a link is followed by WAIT for this many
	 * replicas in the same round trip; fewer in time and the call
	 * fails as "outcome unknown" (0: no WAIT, a single Redis). */
	int64_t wait_replicas;
};

/* The most sentinels one address names. */
#define RT_REDIS_MAX_SENTINELS 8

/* The three rows of a service's option table (runtime/cfg.h) that name
 * one instance and this process's login there: ENV / --flag (the address,
 * def and help as given), ENV_USER / --flag-user and ENV_PASSWORD_FILE /
 * --flag-password-file, into field, a struct rt_redis_ep of the config. */
#define RT_REDIS_CFG_FIELDS(env, flag, field, def, help)                       \
	RT_CFG_FIELD(env, flag, RT_CFG_STRING, field.addr, 0, 0, def, help),   \
	    RT_CFG_FIELD(env "_USER", flag "-user", RT_CFG_STRING, field.user, \
		0, 0, "", "ACL user there (empty: default)"),                  \
	    RT_CFG_FIELD(env "_PASSWORD_FILE", flag "-password-file",          \
		RT_CFG_STRING, field.password_file, 0, 0, "",                  \
		"that user's password file, mode 0600 (empty: no login)")

/* The longest password read from a password file. */
#define RT_REDIS_PASSWORD_MAX 256

/* A Lua script run by EVALSHA, falling back to EVAL when Redis does not
 * know it (first use, or after a Redis restart). sha is the hex SHA1 of
 * text, filled by rt_redis_script_init before any thread starts. */
struct rt_redis_script {
	const char *name; /* for messages */
	const char *text;
	char sha[41];
};

/* Checks addr's grammar. 0, or -1 with a message for people in err. */
int rt_redis_check_addr(const char *addr, char *err, size_t errlen);

/* A service's start-up check of the instance its option (e.g. "HS_REDIS")
 * names: the address's grammar, the password file (present, not empty,
 * mode 0600), and, when Redis answers within a second, the login itself,
 * so a wrong password stops the process at start instead of failing every
 * call later (a Redis that is not up yet is not an error: the link dials
 * again). Sets ep->pw_option from option. An empty address is taken when
 * optional. 0, or -1 with "OPTION: why" in err. */
int rt_redis_check_option(const char *option, struct rt_redis_ep *ep,
    int optional, char *err, size_t errlen);

/* Reads ep's password file into pw (NUL-terminated, the trailing newline
 * dropped). 0, or -1 with what to do in err: a missing or empty file, or
 * one open to group or others. */
int rt_redis_read_password(const struct rt_redis_ep *ep,
    char pw[RT_REDIS_PASSWORD_MAX], char *err, size_t errlen);

/* Connects to ep within timeout_ms, which then also bounds every read and
 * write, and logs in as ep's user. The context is the caller's
 * (redisFree); NULL with err (unreachable, or "Redis refused the password
 * for user X: check OPTION"). */
redisContext *rt_redis_connect(const struct rt_redis_ep *ep, int64_t timeout_ms,
    char *err, size_t errlen);

/* A command's or script's arguments, built one at a time; binary safe.
 * The strings are borrowed: they must outlive the call they are sent in.
 * An argument past RT_REDIS_MAX_ARGS is dropped and marks the list bad
 * (argc = -1), so the call that sends it fails instead of sending less. */
#define RT_REDIS_MAX_ARGS 64
struct rt_redis_args {
	int argc;
	const char *argv[RT_REDIS_MAX_ARGS];
	size_t lens[RT_REDIS_MAX_ARGS];
};

void rt_redis_arg(struct rt_redis_args *a, const void *s, size_t len);

/* The same for a C string. */
void rt_redis_argz(struct rt_redis_args *a, const char *s);

/* Fills s->sha from s->text. Call before any thread uses s. */
void rt_redis_script_init(struct rt_redis_script *s);

/* A link to ep (copied; its strings are borrowed). Does not connect yet;
 * every (re)connect logs in. 0 or -1 with a message in err. The link is
 * not thread safe: one thread owns it. */
int rt_redis_open(rt_redis **out, const struct rt_redis_ep *ep,
    int64_t timeout_ms, char *err, size_t errlen);
void rt_redis_close(rt_redis *r);

/* Runs one command given as argv (binary safe; lens may be NULL for C
 * strings). Returns the reply (caller frees with freeReplyObject; an error
 * reply is returned as such) or NULL with why in err when Redis could not be
 * reached or did not answer in time, or refused with READONLY (a demoted
 * primary: the link re-dials) or NOREPLICAS (min-replicas-to-write). */
redisReply *rt_redis_argv(rt_redis *r, int argc, const char **argv,
    const size_t *lens, char *err, size_t errlen);

/* rt_redis_argv, then WAIT for the link's ep.wait_replicas in the same
 * round trip (none asked: rt_redis_argv). A reply that is not an error
 * while fewer replicas had it in time: NULL with "outcome unknown" in
 * err, since the write is on the primary and may or may not survive a
 * failover. Every reply but a READONLY or NOREPLICAS refusal (NULL: both
 * mean nothing was written) is returned as is. */
redisReply *rt_redis_argv_replicated(rt_redis *r, int argc, const char **argv,
    const size_t *lens, char *err, size_t errlen);

/* For a link of its own (c from rt_redis_connect): 1 once ep's
 * wait_replicas replicas have this connection's writes (WAIT, bounded by
 * timeout_ms), or at once when it is 0; else 0, and what was written is
 * not to be acted on (the replicator's lease epoch). */
int rt_redis_ctx_replicated(redisContext *c, const struct rt_redis_ep *ep,
    int64_t timeout_ms);

/* printf-style convenience for fixed commands ("GET hs:seq"). */
redisReply *rt_redis_cmd(rt_redis *r, char *err, size_t errlen, const char *fmt,
    ...);

/* Runs script with nkeys keys then the other args, all in argv, by
 * rt_redis_argv_replicated: with ep.wait_replicas set, a script's answer
 * comes back only once that many replicas have what it wrote. Same
 * ownership and failures as rt_redis_argv_replicated. */
redisReply *rt_redis_eval(rt_redis *r, struct rt_redis_script *s, int nkeys,
    int argc, const char **argv, const size_t *lens, char *err, size_t errlen);

/* The live hiredis context for pipelining (redisAppendCommand then
 * redisGetReply), or NULL with err if it cannot connect. On a pipelining
 * error call rt_redis_reset so the next call re-dials. */
redisContext *rt_redis_ctx(rt_redis *r, char *err, size_t errlen);

/* The value of "name:" in an INFO reply's text, 0 when absent. */
uint64_t rt_redis_info_u64(const char *info, const char *name);
void rt_redis_reset(rt_redis *r);

#endif
