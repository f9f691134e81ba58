/* The per-thread Redis connection (see redis_link.h): lazy connect,
 * re-dial after any I/O error, EVALSHA with an EVAL fallback. */
#include "redis_link.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct dir_redis {
	redisContext *ctx;
	char host[256];
	char unix_path[256];
	int port;
	struct timeval tv;
};

int
dir_redis_open(dir_redis **out, const char *addr, int64_t timeout_ms,
    char *err, size_t errlen)
{
	dir_redis *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->tv.tv_sec = timeout_ms / 1000;
	r->tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (strncmp(addr, "unix:", 5) == 0) {
		snprintf(r->unix_path, sizeof(r->unix_path), "%s", addr + 5);
	} else {
		const char *colon = strrchr(addr, ':');
		char *end;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (colon == NULL || colon == addr || *end != '\0' || port <= 0 ||
		    port > 65535 || (size_t)(colon - addr) >= sizeof(r->host)) {
			snprintf(err, errlen, "bad Redis address '%s': use "
			    "HOST:PORT or unix:/PATH", addr);
			free(r);
			return -1;
		}
		memcpy(r->host, addr, (size_t)(colon - addr));
		r->port = (int)port;
	}
	*out = r;
	return 0;
}

void
dir_redis_reset(dir_redis *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

void
dir_redis_close(dir_redis *r)
{
	if (r == NULL)
		return;
	dir_redis_reset(r);
	free(r);
}

redisContext *
dir_redis_ctx(dir_redis *r, char *err, size_t errlen)
{
	if (r->ctx != NULL && r->ctx->err == 0)
		return r->ctx;
	dir_redis_reset(r);
	redisContext *c = r->unix_path[0] ?
	    redisConnectUnixWithTimeout(r->unix_path, r->tv) :
	    redisConnectWithTimeout(r->host, r->port, r->tv);
	if (c == NULL || c->err != 0) {
		snprintf(err, errlen, "cannot connect to Redis at %s%s:%d: %s",
		    r->unix_path, r->host, r->port, c ? c->errstr : "no memory");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	/* Bounds every later read and write, not only the connect. */
	redisSetTimeout(c, r->tv);
	r->ctx = c;
	return c;
}

redisReply *
dir_redis_argv(dir_redis *r, int argc, const char **argv, const size_t *lens,
    char *err, size_t errlen)
{
	redisContext *c = dir_redis_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	redisReply *rep = redisCommandArgv(c, argc, argv, lens);
	if (rep == NULL) {
		snprintf(err, errlen, "Redis %s failed: %s", argv[0],
		    c->errstr[0] ? c->errstr : "no reply");
		/* The stream may hold half a reply now: start over. */
		dir_redis_reset(r);
	}
	return rep;
}

redisReply *
dir_redis_cmd(dir_redis *r, char *err, size_t errlen, const char *fmt, ...)
{
	redisContext *c = dir_redis_ctx(r, err, errlen);
	if (c == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep == NULL) {
		snprintf(err, errlen, "Redis '%s' failed: %s", fmt,
		    c->errstr[0] ? c->errstr : "no reply");
		dir_redis_reset(r);
	}
	return rep;
}

redisReply *
dir_redis_eval(dir_redis *r, struct dir_script *s, int nkeys, int argc,
    const char **argv, const size_t *lens, char *err, size_t errlen)
{
	enum { MAXARGS = 64 };
	const char *a[MAXARGS + 3];
	size_t l[MAXARGS + 3];
	char nk[16];
	if (argc > MAXARGS) {
		snprintf(err, errlen, "script %s: too many arguments", s->name);
		return NULL;
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	a[0] = "EVALSHA";
	l[0] = 7;
	a[1] = s->sha;
	l[1] = 40;
	a[2] = nk;
	l[2] = strlen(nk);
	for (int i = 0; i < argc; i++) {
		a[i + 3] = argv[i];
		l[i + 3] = lens ? lens[i] : strlen(argv[i]);
	}
	redisReply *rep = dir_redis_argv(r, argc + 3, a, l, err, errlen);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Redis restarted or flushed its script cache. */
		freeReplyObject(rep);
		a[0] = "EVAL";
		l[0] = 4;
		a[1] = s->text;
		l[1] = strlen(s->text);
		rep = dir_redis_argv(r, argc + 3, a, l, err, errlen);
	}
	return rep;
}
