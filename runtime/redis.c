/* The per-thread Redis connection (see runtime/redis.h): the address
 * grammar, lazy connect and login (straight, or through Redis Sentinel),
 * re-dial after any I/O error or a demoted primary, WAIT for replicas. */
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "redis_impl.h"

struct rt_redis {
	redisContext *ctx;
	struct rt_redis_ep ep;
	int64_t timeout_ms;
};

int
rt_redis_check_addr(const char *addr, char *err, size_t errlen)
{
	char host[256];
	int port;
	if (rt_redis_is_sentinel(addr))
		return rt_redis_check_sentinels(addr, err, errlen);
	return rt_redis_parse_addr(addr, host, &port, err, errlen);
}

redisContext *
rt_redis_connect(const struct rt_redis_ep *ep, int64_t timeout_ms, char *err,
    size_t errlen)
{
	char host[256];
	int port, refused;
	const char *addr = ep->addr ? ep->addr : "";
	if (rt_redis_is_sentinel(addr))
		return rt_redis_sentinel_connect(ep, timeout_ms, err, errlen);
	if (rt_redis_parse_addr(addr, host, &port, err, errlen) != 0)
		return NULL;
	return rt_redis_dial(host, port, ep, timeout_ms, &refused, err, errlen);
}

int
rt_redis_check_option(const char *option, struct rt_redis_ep *ep, int optional,
    char *err, size_t errlen)
{
	char why[400], pw[RT_REDIS_PASSWORD_MAX];
	snprintf(ep->pw_option, sizeof(ep->pw_option), "%s_PASSWORD_FILE",
	    option);
	if (optional && (ep->addr == NULL || ep->addr[0] == '\0'))
		return 0;
	if (rt_redis_check_addr(ep->addr ? ep->addr : "", why, sizeof(why)) !=
	    0)
		goto bad;
	if (ep->password_file != NULL && ep->password_file[0] != '\0') {
		if (rt_redis_read_password(ep, pw, why, sizeof(why)) != 0)
			goto bad;
		OPENSSL_cleanse(pw, sizeof(pw));
	}
	redisContext *c = rt_redis_connect(ep, 1000, why, sizeof(why));
	if (c != NULL) {
		redisFree(c);
		return 0;
	}
	/* Not up yet is fine (every link dials again); a refusal is not. */
	if (strncmp(why, "cannot connect", 14) != 0)
		goto bad;
	rt_log_warn("%s: %s (going on: it is dialled again when needed)",
	    option, why);
	return 0;
bad:
	snprintf(err, errlen, "%s: %s", option, why);
	return -1;
}

int
rt_redis_open(rt_redis **out, const struct rt_redis_ep *ep, int64_t timeout_ms,
    char *err, size_t errlen)
{
	if (rt_redis_check_addr(ep->addr ? ep->addr : "", err, errlen) != 0)
		return -1;
	rt_redis *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->ep = *ep;
	r->timeout_ms = timeout_ms;
	*out = r;
	return 0;
}

/* How long a WAIT may block: half the link's timeout, so its answer
 * comes back before the read times out (the script runs first). */
static int64_t
wait_ms(const rt_redis *r)
{
	return r->timeout_ms / 2 > 0 ? r->timeout_ms / 2 : 1;
}

/* rep, unless it says this primary cannot take writes: a demoted primary
 * (READONLY: drop the link so the next call asks the sentinels again) or
 * one without its replicas (NOREPLICAS, min-replicas-to-write). Then NULL
 * with why: nothing was written, and the callers' "unavailable, retry"
 * path is the right one. */
static redisReply *
demoted(rt_redis *r, redisReply *rep, const char *what, char *err,
    size_t errlen)
{
	if (rep == NULL || rep->type != REDIS_REPLY_ERROR ||
	    (strncmp(rep->str, "READONLY", 8) != 0 &&
		strncmp(rep->str, "NOREPLICAS", 10) != 0))
		return rep;
	snprintf(err, errlen, "Redis %s refused: %.200s", what, rep->str);
	if (rep->str[0] == 'R')
		rt_redis_reset(r);
	freeReplyObject(rep);
	return NULL;
}

void
rt_redis_reset(rt_redis *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

void
rt_redis_close(rt_redis *r)
{
	if (r == NULL)
		return;
	rt_redis_reset(r);
	free(r);
}

redisContext *
rt_redis_ctx(rt_redis *r, char *err, size_t errlen)
{
	if (r->ctx != NULL && r->ctx->err == 0)
		return r->ctx;
	rt_redis_reset(r);
	r->ctx = rt_redis_connect(&r->ep, r->timeout_ms, err, errlen);
	return r->ctx;
}

redisReply *
rt_redis_argv(rt_redis *r, int argc, const char **argv, const size_t *lens,
    char *err, size_t errlen)
{
	if (argc <= 0) {
		snprintf(err, errlen, "Redis command with a bad argument list");
		return NULL;
	}
	redisContext *c = rt_redis_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	redisReply *rep = redisCommandArgv(c, argc, argv, lens);
	if (rep == NULL) {
		snprintf(err, errlen, "Redis %s failed: %s", argv[0],
		    c->errstr[0] ? c->errstr : "no reply");
		/* The stream may hold half a reply now: start over. */
		rt_redis_reset(r);
	}
	return demoted(r, rep, argv[0], err, errlen);
}

/* The outcome of a write WAITed for: the reply, or NULL with why. */
static redisReply *
waited(rt_redis *r, redisReply *rep, redisReply *w, const char *what, char *err,
    size_t errlen)
{
	rep = demoted(r, rep, what, err, errlen);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		if (w != NULL)
			freeReplyObject(w);
		return rep; /* nothing was written */
	}
	if (w != NULL && w->type == REDIS_REPLY_INTEGER &&
	    w->integer >= r->ep.wait_replicas) {
		freeReplyObject(w);
		return rep;
	}
	snprintf(err, errlen,
	    "Redis %s: written on the primary but %s %" PRId64
	    " replica(s) within "
	    "%" PRId64 " ms: not acknowledged, outcome unknown",
	    what,
	    w && w->type == REDIS_REPLY_INTEGER ? "not yet on" :
						  "no WAIT answer for",
	    r->ep.wait_replicas, wait_ms(r));
	freeReplyObject(rep);
	if (w != NULL)
		freeReplyObject(w);
	return NULL;
}

redisReply *
rt_redis_argv_replicated(rt_redis *r, int argc, const char **argv,
    const size_t *lens, char *err, size_t errlen)
{
	if (r->ep.wait_replicas <= 0 || argc <= 0)
		return rt_redis_argv(r, argc, argv, lens, err, errlen);
	redisContext *c = rt_redis_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	/* One round trip: the command, then WAIT for what it wrote. */
	void *rep = NULL, *w = NULL;
	if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK ||
	    redisAppendCommand(c, "WAIT %lld %lld",
		(long long)r->ep.wait_replicas,
		(long long)wait_ms(r)) != REDIS_OK ||
	    redisGetReply(c, &rep) != REDIS_OK ||
	    redisGetReply(c, &w) != REDIS_OK) {
		snprintf(err, errlen, "Redis %s failed: %s", argv[0],
		    c->errstr[0] ? c->errstr : "no reply");
		if (rep != NULL)
			freeReplyObject(rep);
		rt_redis_reset(r);
		return NULL;
	}
	return waited(r, rep, w, argv[0], err, errlen);
}

int
rt_redis_ctx_replicated(redisContext *c, const struct rt_redis_ep *ep,
    int64_t timeout_ms)
{
	if (ep->wait_replicas <= 0)
		return 1;
	redisReply *w = redisCommand(c, "WAIT %lld %lld",
	    (long long)ep->wait_replicas, (long long)timeout_ms);
	int ok = w != NULL && w->type == REDIS_REPLY_INTEGER &&
	    w->integer >= ep->wait_replicas;
	if (w != NULL)
		freeReplyObject(w);
	return ok;
}

redisReply *
rt_redis_cmd(rt_redis *r, char *err, size_t errlen, const char *fmt, ...)
{
	redisContext *c = rt_redis_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep == NULL) {
		snprintf(err, errlen, "Redis '%s' failed: %s", fmt,
		    c->errstr[0] ? c->errstr : "no reply");
		rt_redis_reset(r);
	}
	return demoted(r, rep, fmt, err, errlen);
}
