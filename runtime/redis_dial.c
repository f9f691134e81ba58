/* One connection to one Redis (see redis_impl.h): the HOST:PORT and
 * unix:/PATH grammar, the password file, the login. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "hostport.h"
#include "redis_impl.h"

/* Splits "host:port" or "unix:/path". 0, or -1 with a message in err. */
int
rt_redis_parse_addr(const char *addr, char host[256], int *port, char *err,
    size_t errlen)
{
	if (strncmp(addr, "unix:", 5) == 0 && addr[5] != '\0' &&
	    strlen(addr + 5) < 256) {
		snprintf(host, 256, "%s", addr + 5);
		*port = 0;
		return 0;
	}
	if (strncmp(addr, "unix:", 5) != 0 &&
	    rt_hostport_split(addr, host, 256, port) == 0 && *port > 0)
		return 0;
	snprintf(err, errlen,
	    "bad Redis address '%s': use HOST:PORT, unix:/PATH or "
	    "sentinel:HOST:PORT,HOST:PORT,.../NAME",
	    addr);
	return -1;
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

/* Connects to host:port (port 0: a unix socket) within timeout_ms, which
 * then bounds every read and write too, and logs in as ep's user. NULL
 * with err; *refused set when Redis answered but refused the login. */
redisContext *
rt_redis_dial(const char *host, int port, const struct rt_redis_ep *ep,
    int64_t timeout_ms, int *refused, char *err, size_t errlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c = port == 0 ? redisConnectUnixWithTimeout(host, tv) :
				      redisConnectWithTimeout(host, port, tv);
	*refused = 0;
	if (c == NULL || c->err != 0) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s",
		    ep->addr, c ? c->errstr : "no memory");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (login(c, ep, err, errlen) != 0) {
		*refused = c->err == 0;
		redisFree(c);
		return NULL;
	}
	return c;
}
