/* Redis access for every process: the one address grammar ("host:port" or
 * "unix:/path", the same HS_REDIS works everywhere), the one connector, and
 * a connection owned by one thread (in the directory the election, the
 * writer, the follower sync and the housekeeping thread each hold their
 * own, so a slow commit never delays a lease refresh). A broken connection
 * is re-dialled on the next call; every call is bounded by the timeout.
 * Key names are in redis_keys.h. */
#ifndef RT_REDIS_H
#define RT_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_redis rt_redis;

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

/* The same for an option's value, for a service's start-up checks: err
 * says "OPTION: why". An empty addr is taken when optional. */
int rt_redis_check_option(const char *option, const char *addr, int optional,
    char *err, size_t errlen);

/* Connects to addr within timeout_ms, which then also bounds every read and
 * write. The context is the caller's (redisFree); NULL with err. */
redisContext *rt_redis_connect(const char *addr, int64_t timeout_ms, char *err,
    size_t errlen);

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

/* addr: "host:port" or "unix:/path". Does not connect yet. 0 or -1 with a
 * message in err. The link is not thread safe: one thread owns it. */
int rt_redis_open(rt_redis **out, const char *addr, int64_t timeout_ms,
    char *err, size_t errlen);
void rt_redis_close(rt_redis *r);

/* Runs one command given as argv (binary safe; lens may be NULL for C
 * strings). Returns the reply (caller frees with freeReplyObject; an error
 * reply is returned as such) or NULL with why in err when Redis could not be
 * reached or did not answer in time. */
redisReply *rt_redis_argv(rt_redis *r, int argc, const char **argv,
    const size_t *lens, char *err, size_t errlen);

/* printf-style convenience for fixed commands ("GET hs:seq"). */
redisReply *rt_redis_cmd(rt_redis *r, char *err, size_t errlen, const char *fmt,
    ...);

/* Runs script with nkeys keys then the other args, all in argv. Same
 * ownership and failures as rt_redis_argv. */
redisReply *rt_redis_eval(rt_redis *r, struct rt_redis_script *s, int nkeys,
    int argc, const char **argv, const size_t *lens, char *err, size_t errlen);

/* The live hiredis context for pipelining (redisAppendCommand then
 * redisGetReply), or NULL with err if it cannot connect. On a pipelining
 * error call rt_redis_reset so the next call re-dials. */
redisContext *rt_redis_ctx(rt_redis *r, char *err, size_t errlen);
void rt_redis_reset(rt_redis *r);

#endif
