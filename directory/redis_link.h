/* One connection to the metadata Redis, owned by one thread: the election,
 * the writer, the follower sync and the housekeeping thread each hold their
 * own, so a slow commit never delays a lease refresh. A broken connection is
 * re-dialled on the next call; every call is bounded by the timeout. */
#ifndef DIR_REDIS_LINK_H
#define DIR_REDIS_LINK_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dir_redis dir_redis;

/* A Lua script run by EVALSHA, falling back to EVAL when Redis does not
 * know it (first use, or after a Redis restart). sha is the hex SHA1 of
 * text, filled by dir_scripts_init (scripts.c) before any thread starts. */
struct dir_script {
	const char *name; /* for messages */
	const char *text;
	char sha[41];
};

/* addr: "host:port" or "unix:/path". Does not connect yet. 0 or -1 with a
 * message in err. The link is not thread safe: one thread owns it. */
int dir_redis_open(dir_redis **out, const char *addr, int64_t timeout_ms,
    char *err, size_t errlen);
void dir_redis_close(dir_redis *r);

/* Runs one command given as argv (binary safe; lens may be NULL for C
 * strings). Returns the reply (caller frees with freeReplyObject; an error
 * reply is returned as such) or NULL with why in err when Redis could not be
 * reached or did not answer in time. */
redisReply *dir_redis_argv(dir_redis *r, int argc, const char **argv,
    const size_t *lens, char *err, size_t errlen);

/* printf-style convenience for fixed commands ("GET hs:seq"). */
redisReply *dir_redis_cmd(dir_redis *r, char *err, size_t errlen,
    const char *fmt, ...);

/* Runs script with nkeys keys then the other args, all in argv. Same
 * ownership and failures as dir_redis_argv. */
redisReply *dir_redis_eval(dir_redis *r, struct dir_script *s, int nkeys,
    int argc, const char **argv, const size_t *lens, char *err,
    size_t errlen);

/* The live hiredis context for pipelining (redisAppendCommand then
 * redisGetReply), or NULL with err if it cannot connect. On a pipelining
 * error call dir_redis_reset so the next call re-dials. */
redisContext *dir_redis_ctx(dir_redis *r, char *err, size_t errlen);
void dir_redis_reset(dir_redis *r);

#endif
