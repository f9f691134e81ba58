/* The per-thread Redis connection (see runtime/redis.h): lazy connect and
 * login, re-dial after any I/O error, EVALSHA with an EVAL fallback. */
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

struct rt_redis {
	redisContext *ctx;
	struct rt_redis_ep ep;
	int64_t timeout_ms;
};

/* Splits "host:port" or "unix:/path". 0, or -1 with a message in err. */
static int
parse_addr(const char *addr, char host[256], int *port, char *err,
    size_t errlen)
{
	if (strncmp(addr, "unix:", 5) == 0 && addr[5] != '\0' &&
	    strlen(addr + 5) < 256) {
		snprintf(host, 256, "%s", addr + 5);
		*port = 0;
		return 0;
	}
	const char *colon = strrchr(addr, ':');
	char *end;
	long p = colon ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == addr || *end != '\0' || p <= 0 ||
	    p > 65535 || (size_t)(colon - addr) >= 256 ||
	    strncmp(addr, "unix:", 5) == 0) {
		snprintf(err, errlen,
		    "bad Redis address '%s': use HOST:PORT "
		    "or unix:/PATH",
		    addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (int)p;
	return 0;
}

int
rt_redis_check_addr(const char *addr, char *err, size_t errlen)
{
	char host[256];
	int port;
	return parse_addr(addr, host, &port, err, errlen);
}

/* What names ep's password file, for messages. */
static const char *
pw_option(const struct rt_redis_ep *ep)
{
	return ep->pw_option[0] ? ep->pw_option : "the Redis password file";
}

static const char *
user_of(const struct rt_redis_ep *ep)
{
	return ep->user && ep->user[0] ? ep->user : "default";
}

static int
has_password(const struct rt_redis_ep *ep)
{
	return ep->password_file != NULL && ep->password_file[0] != '\0';
}

int
rt_redis_read_password(const struct rt_redis_ep *ep,
    char pw[RT_REDIS_PASSWORD_MAX], char *err, size_t errlen)
{
	const char *path = ep->password_file;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen,
		    "cannot read the password file %s (%s): %s", path,
		    pw_option(ep), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* A secret others can read is no secret: say so rather than use it. */
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "the password file %s (%s) is open to group or others "
		    "(mode 0%o): run chmod 600 %s",
		    path, pw_option(ep), (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -1;
	}
	ssize_t n = read(fd, pw, RT_REDIS_PASSWORD_MAX);
	close(fd);
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		n--;
	if (n <= 0 || n == RT_REDIS_PASSWORD_MAX) {
		OPENSSL_cleanse(pw, RT_REDIS_PASSWORD_MAX);
		snprintf(err, errlen,
		    "the password file %s (%s) is %s: put the user's password "
		    "on its one line",
		    path, pw_option(ep),
		    n <= 0 ? "empty" : "longer than 255 characters");
		return -1;
	}
	pw[n] = '\0';
	return 0;
}

/* Says what to do about Redis's answer rep to the login. */
static void
login_error(const struct rt_redis_ep *ep, const char *rep, char *err,
    size_t errlen)
{
	if (strncmp(rep, "NOAUTH", 6) == 0)
		snprintf(err, errlen,
		    "Redis at %s requires a login: give the ACL user and its "
		    "password file (%s)",
		    ep->addr, pw_option(ep));
	else if (strncmp(rep, "WRONGPASS", 9) == 0)
		snprintf(err, errlen,
		    "Redis at %s refused the password for user %s: check %s "
		    "(%s)",
		    ep->addr, user_of(ep), pw_option(ep), ep->password_file);
	else
		snprintf(err, errlen,
		    "Redis at %s refused the login of user %s: %.200s",
		    ep->addr, user_of(ep), rep);
}

/* Logs c in as ep's user; with no password file, checks that Redis takes
 * commands without one. 0, or -1 with what to do in err. */
static int
login(redisContext *c, const struct rt_redis_ep *ep, char *err, size_t errlen)
{
	char pw[RT_REDIS_PASSWORD_MAX];
	redisReply *r;
	if (!has_password(ep)) {
		r = redisCommand(c, "PING");
	} else {
		if (rt_redis_read_password(ep, pw, err, errlen) != 0)
			return -1;
		r = redisCommand(c, "AUTH %s %s", user_of(ep), pw);
		OPENSSL_cleanse(pw, sizeof(pw));
	}
	if (r == NULL) {
		snprintf(err, errlen,
		    "Redis at %s did not answer the login: %s", ep->addr,
		    c->errstr[0] ? c->errstr : "no reply");
		return -1;
	}
	int rc = r->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rc != 0)
		login_error(ep, r->str, err, errlen);
	freeReplyObject(r);
	return rc;
}

redisContext *
rt_redis_connect(const struct rt_redis_ep *ep, int64_t timeout_ms, char *err,
    size_t errlen)
{
	char host[256];
	int port;
	const char *addr = ep->addr ? ep->addr : "";
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	if (parse_addr(addr, host, &port, err, errlen) != 0)
		return NULL;
	redisContext *c = port == 0 ? redisConnectUnixWithTimeout(host, tv) :
				      redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err != 0) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", addr,
		    c ? c->errstr : "no memory");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	/* Bounds every later read and write, not only the connect. */
	redisSetTimeout(c, tv);
	if (login(c, ep, err, errlen) != 0) {
		redisFree(c);
		return NULL;
	}
	return c;
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
	if (has_password(ep)) {
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
	return rep;
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
	return rep;
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
	rep = rt_redis_argv(r, argc + 3, a, l, err, errlen);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Redis restarted or flushed its script cache. */
		freeReplyObject(rep);
		a[0] = "EVAL";
		l[0] = 4;
		a[1] = s->text;
		l[1] = strlen(s->text);
		rep = rt_redis_argv(r, argc + 3, a, l, err, errlen);
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
