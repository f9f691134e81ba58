/* Early failover: a follower knocks on the leader's RPC port every
 * LEADER_PROBE_INTERVAL. Only a refused connection (the host answers,
 * nothing listens: the leader's process is gone) counts; a timeout (a
 * paused, cut-off or powered-off leader) never does, and that leader is
 * replaced when its lease runs out. After LEADER_PROBE_REFUSALS refusals
 * in a row the follower deletes the lease through a fenced script (only
 * if it still names that very leader and epoch) and tries for it at once,
 * so the commits resume within a few seconds instead of LEADER_TIMEOUT.
 * A wrong guess costs a term, never safety: every commit is fenced. */
#ifndef DIR_PROBE_H
#define DIR_PROBE_H

#include <stdint.h>

#include "dir.h"

#define LEADER_PROBE_REFUSALS 2

/* 1 if a connection to url ("tcp://host:port" or "ipc:///path") is
 * refused within timeout_ms; 0 if it connects, times out or cannot be
 * tried (an unreachable host is not a dead process). */
int dir_probe_refused(const char *url, int timeout_ms);

/* The probe state a follower's election thread keeps. */
struct dir_probe {
	int64_t next; /* monotonic ms of the next knock */
	int refusals; /* in a row, for lease */
	char lease[128];
};

/* Knocks if it is time; 1 when the leader named in d->known is judged
 * gone and its lease was deleted (the caller tries for it at once). */
int dir_probe_step(struct dir *d, struct dir_probe *p, rt_redis *r);

#endif
