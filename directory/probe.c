/* The leader probe (see probe.h): a non-blocking connect(2) bounded by a
 * poll, so a refusal (ECONNREFUSED, or no socket file for ipc) is told
 * apart from silence. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "hostport.h"
#include "log.h"
#include "redis.h"
#include "scripts.h"

/* Starts a non-blocking connect to url on a new socket; the socket, or -1
 * with *refused set when the answer is already known. */
static int
start_connect(const char *url, int *refused)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	memset(&ss, 0, sizeof(ss));
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", url + 6);
		sl = sizeof(*un);
	} else if (strncmp(url, "tcp://", 6) == 0) {
		char host[256], port[8];
		int p;
		if (rt_hostport_split(url + 6, host, sizeof(host), &p) != 0)
			return -1;
		snprintf(port, sizeof(port), "%d", p);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			return -1;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	} else {
		return -1;
	}
	int fd = socket(ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0 ||
	    errno == EINPROGRESS)
		return fd;
	/* ipc: no socket file, or nobody listening on it. */
	*refused = errno == ECONNREFUSED || errno == ENOENT;
	close(fd);
	return -1;
}

int
dir_probe_refused(const char *url, int timeout_ms)
{
	int refused = 0;
	int fd = start_connect(url, &refused);
	if (fd < 0)
		return refused;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, timeout_ms) == 1) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		refused = soerr == ECONNREFUSED;
	}
	close(fd);
	return refused;
}

/* Deletes the lease if it still names the leader we found gone. */
static int
depose(struct dir_probe *p, rt_redis *r)
{
	char err[256];
	const char *argv[] = { RK_LEADER, p->lease };
	redisReply *rep = rt_redis_eval(r, &dir_script_release, 1, 2, argv,
	    NULL, err, sizeof(err));
	int done = rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 1;
	if (rep != NULL)
		freeReplyObject(rep);
	if (done)
		rt_log_warn("leader %s refused %d connections in a row: its "
			    "process is gone; lease deleted, taking over",
		    p->lease, p->refusals);
	return 1; /* deleted, or already replaced: look again at once */
}

int
dir_probe_step(struct dir *d, struct dir_probe *p, rt_redis *r)
{
	int64_t now = rt_mono_ms();
	if (d->cfg.leader_probe_ms == 0 || now < p->next)
		return 0;
	p->next = now + d->cfg.leader_probe_ms;
	struct dir_leader k;
	char lease[128];
	pthread_mutex_lock(&d->mu);
	int leader = d->leader;
	k = d->known;
	pthread_mutex_unlock(&d->mu);
	if (leader || k.rpc[0] == '\0' || strcmp(k.id, d->cfg.id) == 0)
		return 0;
	snprintf(lease, sizeof(lease), "%s/%" PRIu64, k.id, k.epoch);
	if (strcmp(lease, p->lease) != 0) {
		snprintf(p->lease, sizeof(p->lease), "%s", lease);
		p->refusals = 0;
	}
	int timeout = (int)(d->cfg.leader_probe_ms / 2);
	if (!dir_probe_refused(k.rpc, timeout > 250 ? 250 : timeout)) {
		p->refusals = 0;
		return 0;
	}
	if (++p->refusals < LEADER_PROBE_REFUSALS)
		return 0;
	p->refusals = 0;
	return depose(p, r);
}
