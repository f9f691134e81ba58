/* Scripts and argument lists over the per-thread link (see
 * runtime/redis.h): EVALSHA with an EVAL fallback, each run followed by
 * the link's WAIT in the same round trip (rt_redis_argv_replicated). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

void
rt_redis_arg(struct rt_redis_args *a, const void *s, size_t len)
{
	if (a->argc < 0 || a->argc == RT_REDIS_MAX_ARGS) {
		a->argc = -1;
		return;
	}
	a->argv[a->argc] = s;
	a->lens[a->argc++] = len;
}

void
rt_redis_argz(struct rt_redis_args *a, const char *s)
{
	rt_redis_arg(a, s, strlen(s));
}

void
rt_redis_script_init(struct rt_redis_script *s)
{
	unsigned char d[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)s->text, strlen(s->text), d);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(s->sha + 2 * i, 3, "%02x", d[i]);
}

redisReply *
rt_redis_eval(rt_redis *r, struct rt_redis_script *s, int nkeys, int argc,
    const char **argv, const size_t *lens, char *err, size_t errlen)
{
	enum { SMALL = RT_REDIS_MAX_ARGS + 3 };
	const char *sa[SMALL];
	size_t sl[SMALL];
	/* A batch's script may take thousands of arguments: those go on the
	 * heap, the usual few on the stack. */
	int big = argc + 3 > SMALL;
	const char **a = big ? malloc((size_t)(argc + 3) * sizeof(*a)) : sa;
	size_t *l = big ? malloc((size_t)(argc + 3) * sizeof(*l)) : sl;
	char nk[16];
	redisReply *rep = NULL;
	if (argc < 0 || a == NULL || l == NULL) {
		snprintf(err, errlen, "script %s: %s", s->name,
		    argc < 0 ? "bad argument count" : "out of memory");
		goto out;
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
	rep = rt_redis_argv_replicated(r, argc + 3, a, l, err, errlen);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Redis restarted or flushed its script cache. */
		freeReplyObject(rep);
		a[0] = "EVAL";
		l[0] = 4;
		a[1] = s->text;
		l[1] = strlen(s->text);
		rep = rt_redis_argv_replicated(r, argc + 3, a, l, err, errlen);
	}
out:
	if (big) {
		free(a);
		free(l);
	}
	return rep;
}

uint64_t
rt_redis_info_u64(const char *info, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = info; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strtoull(p + n + 1, NULL, 10);
	}
	return 0;
}
