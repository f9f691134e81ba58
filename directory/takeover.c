/* A new term on the writer thread: the first job after winning the lease
 * catches memory up to the change-log head and loads the store table the
 * last leader saved; only then does dir_is_leader say yes, and writes
 * queued meanwhile run behind it. Then it announces leader.elected. */
#include <inttypes.h>

#include "changelog.h"
#include "clock.h"
#include "groups_redis.h"
#include "log.h"
#include "stores_redis.h"
#include "waiters.h"
#include "writer_impl.h"

static void
announce(struct dir *d, const struct dir_leader *k)
{
	Hs__Event ev = HS__EVENT__INIT;
	Hs__LeaderEvent le = HS__LEADER_EVENT__INIT;
	le.leader_id = (char *)k->id;
	le.epoch = k->epoch;
	le.rpc_addr = (char *)k->rpc;
	le.pub_addr = (char *)k->pub;
	ev.topic = "leader.elected";
	ev.body_case = HS__EVENT__BODY_LEADER;
	ev.leader = &le;
	dir_publish(d, &ev);
}

static void
takeover_job(struct dir_job *j)
{
	struct dir *d = j->d;
	char err[256];
	int64_t t0 = rt_mono_ms(), at;
	uint64_t n = 0;
	if (dir_log_sync(d->writer.link, d->recs, &n, err, sizeof(err)) != 0) {
		dir_step_down(d, err);
		return;
	}
	d->writer_dirty = 0;
	if (dir_stores_load(d->stores, d->writer.link, &at, err, sizeof(err)) !=
	    0)
		rt_log_warn("takeover: cannot read the store table: %s", err);
	if (dir_groups_load(d->groups, d->writer.link, err, sizeof(err)) != 0)
		rt_log_warn("takeover: cannot read the write groups: %s", err);
	struct dir_leader k;
	pthread_mutex_lock(&d->mu);
	int still = d->leader;
	if (still)
		d->ready = 1;
	k = d->known;
	pthread_mutex_unlock(&d->mu);
	if (!still)
		return;
	rt_log_info("serving as leader, epoch %" PRIu64
		    ": caught up to seq %" PRIu64 " (%" PRIu64
		    " applied) in %" PRId64 " ms",
	    k.epoch, dir_records_applied(d->recs), n, rt_mono_ms() - t0);
	announce(d, &k);
	dir_waiters_poll(d);
}

void
dir_writer_takeover(struct dir *d)
{
	dir_writer_push(d, NULL, NULL, takeover_job);
}
