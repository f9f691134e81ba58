/* A new term on the writer thread: the first job after winning the lease
 * catches memory up to the change-log head, raises the epoch and seq
 * counters above the highest any directory reported in hs:dirs (with the
 * stores' fencing floors they heard), and loads the store table the last
 * leader saved; only then does dir_is_leader say yes, and writes queued
 * meanwhile run behind it. Then it announces leader.elected.
 *
 * Why the raise: a commit is acknowledged only after WAIT, but a follower
 * may have read an entry the old primary had not yet replicated, and a
 * store may have seen an epoch the new primary never had; without the
 * raise either number could be handed out again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "changelog.h"
#include "clock.h"
#include "groups_redis.h"
#include "log.h"
#include "scripts.h"
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

/* The highest epoch and seq in every directory's hs:dirs node, and ours. */
static void
reported(struct dir *d, uint64_t *epoch, uint64_t *seq)
{
	char err[256];
	*epoch = dir_epoch_seen(d);
	*seq = dir_records_applied(d->recs);
	redisReply *rep = rt_redis_cmd(d->writer.link, err, sizeof(err),
	    "HGETALL " RK_DIRS);
	for (size_t i = 1;
	     rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
	     i += 2) {
		Hs__DirectoryNode *n = hs__directory_node__unpack(NULL,
		    rep->element[i]->len,
		    (const uint8_t *)rep->element[i]->str);
		if (n == NULL)
			continue;
		*epoch = n->epoch_seen > *epoch ? n->epoch_seen : *epoch;
		*seq = n->applied_seq > *seq ? n->applied_seq : *seq;
		hs__directory_node__free_unpacked(n, NULL);
	}
	if (rep != NULL)
		freeReplyObject(rep);
}

/* Raises hs:epoch and hs:seq to what was reported (fenced). 0, or -1 with
 * why: Redis did not answer, or an epoch above ours was seen (ours may
 * repeat one: step down, the next term is taken above it). */
static int
raise_counters(struct dir *d, char *err, size_t errlen)
{
	char lease[128], es[32], ss[32];
	uint64_t e, s;
	pthread_mutex_lock(&d->mu);
	uint64_t own = d->known.epoch;
	snprintf(lease, sizeof(lease), "%s", d->lease);
	pthread_mutex_unlock(&d->mu);
	reported(d, &e, &s);
	snprintf(es, sizeof(es), "%" PRIu64, e);
	snprintf(ss, sizeof(ss), "%" PRIu64, s);
	const char *argv[] = { RK_LEADER, RK_EPOCH, RK_SEQ, lease, es, ss };
	redisReply *rep = rt_redis_eval(d->writer.link, &dir_script_raise, 3, 6,
	    argv, NULL, err, errlen);
	int ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 2;
	if (rep != NULL && !ok)
		snprintf(err, errlen, "raise script: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "odd reply");
	uint64_t head = ok ? (uint64_t)rep->element[1]->integer : 0;
	if (rep != NULL)
		freeReplyObject(rep);
	if (!ok)
		return -1;
	if (e > own) {
		snprintf(err, errlen,
		    "epoch %" PRIu64 " was seen above ours (%" PRIu64
		    "): raised hs:epoch, the next term starts above it",
		    e, own);
		return -1;
	}
	if (head > dir_records_applied(d->recs)) {
		rt_log_warn("takeover: change-log seq raised to %" PRIu64
			    " (reported by a directory, above the log's head "
			    "%" PRIu64 ")",
		    head, dir_records_applied(d->recs));
		dir_records_set_applied(d->recs, head);
	}
	return 0;
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
	if (raise_counters(d, err, sizeof(err)) != 0) {
		dir_step_down(d, err);
		return;
	}
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
