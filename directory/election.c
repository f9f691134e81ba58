/* The election thread: takes the lease when it is free (a new fencing
 * epoch each term), refreshes it while leading, and steps down as soon as
 * a refresh fails or the lease may have run out.
 *
 * Timing: a refresh that succeeds was executed by Redis after we sent it,
 * so the lease lasts at least until send time + LEADER_TIMEOUT. We stop
 * acting as leader a quarter of LEADER_TIMEOUT before that (lease_until),
 * which leaves room for clock-rate drift and a late wake-up; a leader
 * paused past it (SIGSTOP) finds lease_until behind it on waking and
 * steps down before it serves anything. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dir.h"
#include "log.h"
#include "probe.h"
#include "redis.h"
#include "scripts.h"
#include "writer.h"

static void
set_redis_ok(struct dir *d, int ok, const char *err)
{
	pthread_mutex_lock(&d->mu);
	int was = d->redis_ok;
	d->redis_ok = ok;
	pthread_mutex_unlock(&d->mu);
	/* err says which: no connection, or a write no replica took. */
	if (was && !ok)
		rt_log_warn("Redis failing: %s", err);
	else if (!was && ok)
		rt_log_info("Redis answering");
}

/* "id/epoch" -> the parts. 0 or -1. */
static int
parse_lease(const char *v, char *id, size_t idlen, uint64_t *epoch)
{
	const char *slash = strrchr(v, '/');
	if (slash == NULL || (size_t)(slash - v) >= idlen)
		return -1;
	memcpy(id, v, (size_t)(slash - v));
	id[slash - v] = '\0';
	*epoch = strtoull(slash + 1, NULL, 10);
	return 0;
}

static void
learn_leader(struct dir *d, const char *value, const char *rpc, const char *pub)
{
	struct dir_leader k = { .epoch = 0 };
	if (parse_lease(value, k.id, sizeof(k.id), &k.epoch) != 0)
		return;
	snprintf(k.rpc, sizeof(k.rpc), "%s", rpc);
	snprintf(k.pub, sizeof(k.pub), "%s", pub);
	pthread_mutex_lock(&d->mu);
	int changed = strcmp(d->known.id, k.id) != 0 ||
	    d->known.epoch != k.epoch || strcmp(d->known.pub, k.pub) != 0;
	if (changed && k.epoch >= d->known.epoch)
		d->known = k;
	else
		changed = 0;
	pthread_mutex_unlock(&d->mu);
	if (changed) {
		rpc_server_observe_epoch(d->rpc, k.epoch);
		rt_log_info("leader is %s (epoch %" PRIu64 ", rpc %s, pub %s)",
		    k.id, k.epoch, k.rpc, k.pub);
	}
}

static void
become_leader(struct dir *d, const char *value, int64_t sent)
{
	struct dir_leader k = { .epoch = 0 };
	parse_lease(value, k.id, sizeof(k.id), &k.epoch);
	snprintf(k.rpc, sizeof(k.rpc), "%s", d->cfg.advertise);
	snprintf(k.pub, sizeof(k.pub), "%s", d->cfg.pub);
	pthread_mutex_lock(&d->mu);
	d->leader = 1;
	d->ready = 0;
	snprintf(d->lease, sizeof(d->lease), "%s", value);
	d->lease_until = sent + d->cfg.leader_timeout_ms -
	    d->cfg.leader_timeout_ms / 4;
	d->known = k;
	pthread_mutex_unlock(&d->mu);
	rpc_server_observe_epoch(d->rpc, k.epoch);
	rt_log_set_role('L');
	rt_log_info("won the lease: leader with epoch %" PRIu64 "; catching up",
	    k.epoch);
	/* The writer catches up before it commits anything new; writes
	 * queued meanwhile wait behind it (FIFO). */
	dir_writer_takeover(d);
}

static void
try_acquire(struct dir *d, rt_redis *r)
{
	char err[256], ttl[32];
	snprintf(ttl, sizeof(ttl), "%" PRId64, d->cfg.leader_timeout_ms);
	/* Lead only with every record loaded; until then only learn. */
	const char *argv[] = { RK_LEADER, RK_EPOCH, RK_LEADER_INFO, d->cfg.id,
		ttl, d->cfg.advertise, d->cfg.pub,
		atomic_load(&d->loaded) ? "1" : "0" };
	int64_t sent = rt_mono_ms();
	redisReply *rep = rt_redis_eval(r, &dir_script_acquire, 3, 8, argv,
	    NULL, err, sizeof(err));
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 4) {
		set_redis_ok(d, 0,
		    rep && rep->type == REDIS_REPLY_ERROR ? rep->str : err);
		if (rep != NULL)
			freeReplyObject(rep);
		return;
	}
	set_redis_ok(d, 1, NULL);
	const char *value = rep->element[1]->str;
	if (rep->element[0]->integer == 1)
		become_leader(d, value, sent);
	else
		learn_leader(d, value, rep->element[2]->str,
		    rep->element[3]->str);
	freeReplyObject(rep);
}

static void
refresh(struct dir *d, rt_redis *r)
{
	char err[256], ttl[32], lease[128];
	int64_t sent = rt_mono_ms();
	pthread_mutex_lock(&d->mu);
	int64_t until = d->lease_until;
	snprintf(lease, sizeof(lease), "%s", d->lease);
	pthread_mutex_unlock(&d->mu);
	if (sent >= until) {
		dir_step_down(d,
		    "the lease may have run out (no successful "
		    "refresh in time)");
		return;
	}
	snprintf(ttl, sizeof(ttl), "%" PRId64, d->cfg.leader_timeout_ms);
	const char *argv[] = { RK_LEADER, lease, ttl };
	redisReply *rep = rt_redis_eval(r, &dir_script_refresh, 1, 3, argv,
	    NULL, err, sizeof(err));
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		set_redis_ok(d, 0,
		    rep && rep->type == REDIS_REPLY_ERROR ? rep->str : err);
		if (rep != NULL)
			freeReplyObject(rep);
		dir_step_down(d, "lease refresh failed");
		return;
	}
	set_redis_ok(d, 1, NULL);
	long long still = rep->integer;
	freeReplyObject(rep);
	if (!still) {
		dir_step_down(d, "the lease now names another directory");
		return;
	}
	pthread_mutex_lock(&d->mu);
	if (d->leader && strcmp(d->lease, lease) == 0)
		d->lease_until = sent + d->cfg.leader_timeout_ms -
		    d->cfg.leader_timeout_ms / 4;
	pthread_mutex_unlock(&d->mu);
}

static void
release(struct dir *d, rt_redis *r)
{
	char err[256], lease[128];
	pthread_mutex_lock(&d->mu);
	int leader = d->leader;
	snprintf(lease, sizeof(lease), "%s", d->lease);
	pthread_mutex_unlock(&d->mu);
	if (!leader)
		return;
	/* Stop acting first, then free the lease: the other way round a
	 * successor could lead while we still think we do. */
	dir_step_down(d, "shutting down (releasing the lease)");
	const char *argv[] = { RK_LEADER, lease };
	redisReply *rep = rt_redis_eval(r, &dir_script_release, 1, 2, argv,
	    NULL, err, sizeof(err));
	if (rep != NULL)
		freeReplyObject(rep);
}

/* Until the records are loaded: learn who leads (so writes can be
 * forwarded), never lead; then go for the lease at once. */
static void
wait_loaded(struct dir *d, rt_redis *r)
{
	int64_t next = 0;
	while (!atomic_load(&d->stop) && !atomic_load(&d->loaded)) {
		if (rt_mono_ms() >= next) {
			try_acquire(d, r); /* learns only: not loaded */
			next = rt_mono_ms() + 50;
		}
		rt_sleep_ms(2);
	}
}

static int
knows_leader(struct dir *d)
{
	pthread_mutex_lock(&d->mu);
	int known = d->known.id[0] != '\0';
	pthread_mutex_unlock(&d->mu);
	return known;
}

void *
dir_election_main(void *arg)
{
	struct dir *d = arg;
	rt_redis *r;
	char err[256];
	if (rt_redis_open(&r, &d->cfg.redis, d->cfg.redis_timeout_ms, err,
		sizeof(err)) != 0) {
		rt_log_error("election: %s", err);
		return NULL;
	}
	struct dir_probe probe = { .next = 0 };
	wait_loaded(d, r);
	while (!atomic_load(&d->stop)) {
		int64_t t0 = rt_mono_ms();
		pthread_mutex_lock(&d->mu);
		int leader = d->leader;
		pthread_mutex_unlock(&d->mu);
		if (leader)
			refresh(d, r);
		else
			try_acquire(d, r);
		int64_t next = t0 + d->cfg.leader_heartbeat_ms;
		while (!atomic_load(&d->stop) && rt_mono_ms() < next) {
			/* A leader whose process is gone: try at once. */
			if (dir_probe_step(d, &probe, r))
				break;
			/* With no leader known (start-up), look again soon:
			 * writes cannot be forwarded until we know it. */
			if (!leader && rt_mono_ms() - t0 >= 50 &&
			    !knows_leader(d))
				break;
			int64_t left = next - rt_mono_ms();
			rt_sleep_ms(left < 20 ? left : 20);
		}
	}
	release(d, r);
	rt_redis_close(r);
	return NULL;
}
