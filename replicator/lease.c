/* One active replicator: a Redis lease like the directory's. The lease is
 * `hs:replicator:lease` = "<id>/<nonce>" taken with SET NX PX and extended
 * by a script that checks the value is still ours. We act as active only
 * until the time our last successful refresh started plus the lease
 * length, so a paused process stops before a standby may take over. A
 * takeover clears the queue and starts an audit, which rebuilds the queue
 * from the directory's records and the stores' listings (rates rebuild from
 * the next access reports). hs:replicator:info names the active instance. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "redis.h"
#include "redis_keys.h"
#include "repl.h"

static const char refresh_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
/* The lease and a new fencing epoch at once: the epoch, or 0 if held. */
static const char acquire_lua[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "return redis.call('INCR', KEYS[2]) end return 0";
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

/* 1 ours, 0 not, -1 Redis unreachable (drop the link). *epoch (if not
 * NULL) gets the integer answered. */
static int
run_int(redisReply *rep, uint64_t *epoch)
{
	if (rep == NULL)
		return -1;
	int v = rep->type == REDIS_REPLY_INTEGER ? rep->integer != 0 :
	    rep->type == REDIS_REPLY_STATUS	 ? 1 :
						   0;
	if (epoch != NULL && rep->type == REDIS_REPLY_INTEGER)
		*epoch = (uint64_t)rep->integer;
	freeReplyObject(rep);
	return v;
}

static void
become_active(struct repl *r, uint64_t epoch)
{
	repl_queue_clear(r->queue);
	atomic_store(&r->epoch, epoch);
	atomic_store(&r->active_since, rt_mono_ms());
	atomic_fetch_add(&r->term, 1);
	atomic_store(&r->active, 1);
	rt_log_set_role('R');
	rt_log_info("took the replicator lease: active (term %llu, fencing "
		    "epoch %llu)",
	    (unsigned long long)atomic_load(&r->term),
	    (unsigned long long)epoch);
	repl_audit_request(r, "takeover");
}

static void
step_down(struct repl *r, const char *why)
{
	if (!atomic_exchange(&r->active, 0))
		return;
	repl_queue_clear(r->queue);
	rt_log_warn("standby now: %s", why);
}

void *
repl_lease_main(void *arg)
{
	struct repl *r = arg;
	char value[160];
	snprintf(value, sizeof(value), "%s/%08lx%04x", r->cfg.id,
	    (unsigned long)rt_now_ms(), (unsigned)getpid() & 0xffff);
	char ttl[32];
	snprintf(ttl, sizeof(ttl), "%lld", (long long)r->cfg.lease_ms);
	char err[256];
	redisContext *c = NULL;
	int64_t until = 0, period = r->cfg.lease_ms / 3;
	while (!atomic_load(&r->stop)) {
		int64_t t0 = rt_mono_ms();
		if (c == NULL)
			c = rt_redis_connect(&r->cfg.redis, period, err,
			    sizeof(err));
		int got = -1;
		uint64_t epoch = 0;
		if (c != NULL && atomic_load(&r->active))
			got = run_int(redisCommand(c, "EVAL %s 1 %s %s %s",
					  refresh_lua, RK_REPLICATOR_LEASE,
					  value, ttl),
			    NULL);
		else if (c != NULL)
			got = run_int(redisCommand(c, "EVAL %s 2 %s %s %s %s",
					  acquire_lua, RK_REPLICATOR_LEASE,
					  RK_REPLICATOR_EPOCH, value, ttl),
			    &epoch);
		/* A new epoch counts once a replica has it: a failover must
		 * not hand it out again (docs/reliability.md, Sentinel). */
		if (got == 1 && !atomic_load(&r->active) &&
		    !rt_redis_ctx_replicated(c, &r->cfg.redis, period))
			got = -1;
		if (got < 0 && c != NULL) {
			redisFree(c);
			c = NULL;
		}
		if (got == 1) {
			until = t0 + r->cfg.lease_ms;
			atomic_store(&r->lease_until, until);
			if (!atomic_load(&r->active)) {
				freeReplyObject(redisCommand(c,
				    "HSET %s id %s rpc %s pub %s",
				    RK_REPLICATOR_INFO, r->cfg.id,
				    r->cfg.advertise, r->cfg.pub));
				become_active(r, epoch);
			}
		} else if (atomic_load(&r->active) &&
		    (got == 0 || rt_mono_ms() >= until)) {
			step_down(r,
			    got == 0 ? "the lease is held by another "
				       "replicator" :
				       "cannot refresh the lease in Redis");
		}
		int64_t left = period - (rt_mono_ms() - t0);
		while (left > 0 && !atomic_load(&r->stop)) {
			rt_sleep_ms(left < 50 ? left : 50);
			left -= 50;
		}
	}
	if (c != NULL && atomic_load(&r->active))
		freeReplyObject(redisCommand(c, "EVAL %s 1 %s %s", release_lua,
		    RK_REPLICATOR_LEASE, value)); /* the epoch stays */
	atomic_store(&r->active, 0);
	redisFree(c);
	return NULL;
}
