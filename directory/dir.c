/* The leadership state every thread consults (see dir.h). "Leader" here
 * always means: the lease is ours, it cannot have run out yet by our own
 * monotonic clock, and the new term's catch-up is done. Redis fencing in
 * every commit script is the second, independent guard. */
#include "dir.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "recent.h"

int
dir_is_leader(struct dir *d, char *lease, size_t leaselen, uint64_t *epoch)
{
	pthread_mutex_lock(&d->mu);
	int ok = d->leader && d->ready && rt_mono_ms() < d->lease_until;
	if (ok && lease != NULL)
		snprintf(lease, leaselen, "%s", d->lease);
	if (ok && epoch != NULL)
		*epoch = d->known.epoch;
	pthread_mutex_unlock(&d->mu);
	return ok;
}

int
dir_loaded_or_fail(struct dir *d, rpc_call *call)
{
	if (atomic_load(&d->loaded))
		return 1;
	rpc_fail(call, HS_UNAVAILABLE,
	    "directory %s is still loading its records; retry (another "
	    "directory may answer now)",
	    d->cfg.id);
	return 0;
}

void
dir_known_leader(struct dir *d, struct dir_leader *out)
{
	pthread_mutex_lock(&d->mu);
	*out = d->known;
	pthread_mutex_unlock(&d->mu);
}

uint64_t
dir_epoch_seen(struct dir *d)
{
	uint64_t e = rpc_server_epoch(d->rpc);
	uint64_t f = atomic_load(&d->floor_seen);
	return e > f ? e : f;
}

void
dir_publish(struct dir *d, Hs__Event *ev)
{
	struct dir_leader k;
	dir_known_leader(d, &k);
	ev->epoch = k.epoch;
	int rv = rt_pub_publish(d->pub, ev);
	if (rv != 0)
		rt_log_warn("cannot publish %s: error %d", ev->topic, rv);
	dir_recent_note(d->recent, ev, 1);
}

void
dir_step_down(struct dir *d, const char *why)
{
	struct dir_leader old;
	pthread_mutex_lock(&d->mu);
	int was = d->leader;
	old = d->known;
	d->leader = 0;
	d->ready = 0;
	d->lease[0] = '\0';
	d->lease_until = 0;
	if (was) {
		/* Someone else leads now or soon; the election thread learns
		 * who on its next round. */
		memset(&d->known, 0, sizeof(d->known));
		d->known.epoch = old.epoch;
	}
	pthread_mutex_unlock(&d->mu);
	if (!was)
		return;
	rt_log_set_role('F');
	rt_log_warn("stepping down as leader (epoch %llu): %s",
	    (unsigned long long)old.epoch, why);
	Hs__Event ev = HS__EVENT__INIT;
	Hs__LeaderEvent le = HS__LEADER_EVENT__INIT;
	le.leader_id = old.id;
	le.epoch = old.epoch;
	le.rpc_addr = old.rpc;
	le.pub_addr = old.pub;
	ev.topic = "leader.stepped_down";
	ev.body_case = HS__EVENT__BODY_LEADER;
	ev.leader = &le;
	dir_publish(d, &ev);
}

int
dir_lane_open(struct dir *d, struct dir_lane *l, const char *name,
    const char *what)
{
	char err[256];
	if (rt_redis_open(&l->link, &d->cfg.redis, d->cfg.redis_timeout_ms, err,
		sizeof(err)) != 0) {
		rt_log_error("%s: %s", what, err);
		return -1;
	}
	if (rt_workq_open(&l->q, 1, name) != 0) {
		rt_log_error("%s: cannot start its thread", what);
		rt_redis_close(l->link);
		l->link = NULL;
		return -1;
	}
	return 0;
}

void
dir_lane_drain(struct dir_lane *l)
{
	rt_workq_drain(l->q);
}

void
dir_lane_close(struct dir_lane *l)
{
	if (l->q == NULL)
		return;
	rt_workq_close(l->q); /* its jobs may still use the link */
	l->q = NULL;
	rt_redis_close(l->link);
	l->link = NULL;
}
