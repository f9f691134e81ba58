/* The follower's sync thread: applies the leader's photo.* and store.*
 * events in sequence order, and falls back to the Redis change log when
 * it sees a gap (rt_sub_recv's per-publisher gap, or a change-log seq
 * that does not follow the one applied), when the leader changes, and
 * every FOLLOWER_SYNC_INTERVAL (a dropped last event shows no gap). The
 * change log itself falls back to a full reload when trimmed past us.
 * rt_sub_recv hands over only frames the directory MAC'd for us: a forged
 * one is dropped there, and a lost genuine one is a gap like any other.
 * On the leader this thread idles: the writer keeps memory current. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "changelog.h"
#include "clock.h"
#include "dir.h"
#include "log.h"
#include "recent.h"
#include "redis.h"
#include "waiters.h"

struct syncer {
	struct dir *d;
	rt_redis *r;
	rt_sub *sub;
	char subscribed[256]; /* the pub address sub dials */
	uint64_t epoch;	      /* the leader's epoch we follow */
	int need_sync;
	int64_t next_sync;
	uint64_t dropped;
};

static void
sync_log(struct syncer *s)
{
	char err[256];
	uint64_t before = dir_records_applied(s->d->recs), n = 0;
	if (dir_log_sync(s->r, s->d->recs, &n, err, sizeof(err)) != 0) {
		rt_log_warn("follower sync: %s", err);
		s->next_sync = rt_mono_ms() + 100; /* retry soon */
		return;
	}
	if (n > 0)
		rt_log_debug("caught up from the change log: %" PRIu64
			     " -> %" PRIu64,
		    before, dir_records_applied(s->d->recs));
	s->need_sync = 0;
	s->next_sync = rt_mono_ms() + s->d->cfg.follower_sync_ms;
	dir_waiters_poll(s->d);
}

static void
resubscribe(struct syncer *s, const struct dir_leader *k)
{
	static const char *const prefixes[] = { "photo.", "store.", "leader." };
	const char *url = k->pub;
	rt_sub_close(s->sub);
	s->sub = NULL;
	s->subscribed[0] = '\0';
	if (k->pub[0] == '\0')
		return;
	int rv = rt_sub_open(&s->sub, &url, 1, prefixes, 3, s->d->ident);
	if (rv != 0) {
		rt_log_warn("cannot subscribe to the leader's feed %s: "
			    "error %d",
		    k->pub, rv);
		return;
	}
	/* TEST ONLY (HS_TEST_FEED): a test's publisher, to forge on. */
	if (s->d->cfg.test_feed[0] != '\0')
		rt_sub_dial(s->sub, s->d->cfg.test_feed);
	snprintf(s->subscribed, sizeof(s->subscribed), "%s", k->pub);
	s->epoch = k->epoch;
	s->need_sync = 1; /* events between commit and subscribe are lost */
	rt_log_info("following %s's feed at %s", k->id, k->pub);
}

static void
photo_event(struct syncer *s, const Hs__Event *ev, uint64_t gap)
{
	struct dir *d = s->d;
	uint64_t n = atomic_fetch_add(&d->pub_received, 1) + 1;
	/* TEST ONLY (HS_TEST_DROP_PUB_EVERY): lose events the way a full SUB
	 * queue would, after rt_sub_recv counted them, so only the
	 * change-log seq comparison and the periodic sync can notice. */
	if (d->cfg.test_drop_pub_every > 0 &&
	    n % (uint64_t)d->cfg.test_drop_pub_every == 0) {
		s->dropped++;
		return;
	}
	uint64_t applied = dir_records_applied(d->recs);
	if (gap > 0 || ev->photo->seq > applied + 1) {
		s->need_sync = 1;
		return;
	}
	if (ev->photo->seq <= applied)
		return; /* already have it (from the log) */
	dir_records_apply(d->recs, ev->photo);
	dir_records_set_applied(d->recs, ev->photo->seq);
	dir_waiters_poll(d);
}

static void
handle(struct syncer *s, Hs__Event *ev, uint64_t gap)
{
	if (ev->epoch < s->epoch)
		return; /* a deposed leader's late event */
	dir_recent_note(s->d->recent, ev, 0);
	if (ev->body_case == HS__EVENT__BODY_PHOTO && ev->photo != NULL &&
	    ev->photo->id != NULL)
		photo_event(s, ev, gap);
	else if (ev->body_case == HS__EVENT__BODY_STORE && ev->store != NULL)
		dir_stores_put(s->d->stores, ev->store, rt_mono_ms());
}

static void
step(struct syncer *s)
{
	struct dir *d = s->d;
	struct dir_leader k;
	pthread_mutex_lock(&d->mu);
	int leader = d->leader;
	k = d->known;
	pthread_mutex_unlock(&d->mu);
	if (leader) {
		if (s->sub != NULL) {
			rt_sub_close(s->sub);
			s->sub = NULL;
			s->subscribed[0] = '\0';
		}
		rt_sleep_ms(20);
		return;
	}
	if (strcmp(k.pub, s->subscribed) != 0)
		resubscribe(s, &k);
	if (s->need_sync || rt_mono_ms() >= s->next_sync)
		sync_log(s);
	if (s->sub == NULL) {
		rt_sleep_ms(20);
		return;
	}
	Hs__Event *ev;
	uint64_t gap = 0;
	int rv = rt_sub_recv(s->sub, &ev, &gap, 20);
	if (rv != 0)
		return;
	handle(s, ev, gap);
	hs__event__free_unpacked(ev, NULL);
}

void *
dir_sync_main(void *arg)
{
	struct dir *d = arg;
	struct syncer s = { .d = d };
	char err[256];
	if (rt_redis_open(&s.r, &d->cfg.redis, d->cfg.redis_timeout_ms, err,
		sizeof(err)) != 0) {
		rt_log_error("sync: %s", err);
		return NULL;
	}
	/* Start-up: everything from the photo hashes, then the log. */
	int64_t t0 = rt_mono_ms();
	/* TEST ONLY (HS_TEST_LOAD_DELAY): a load as slow as a big table's,
	 * so a test can call while it runs. */
	for (int64_t left = d->cfg.test_load_delay_ms;
	     left > 0 && !atomic_load(&d->stop); left -= 20)
		rt_sleep_ms(20);
	while (!atomic_load(&d->stop) &&
	    dir_log_reload(s.r, d->recs, err, sizeof(err)) != 0) {
		rt_log_warn("initial load: %s; retrying", err);
		rt_sleep_ms(200);
	}
	struct dir_rec_stats st;
	dir_records_stats(d->recs, &st);
	rt_log_info("loaded %" PRIu64 " records up to seq %" PRIu64
		    " in %" PRId64 " ms",
	    st.total, dir_records_applied(d->recs), rt_mono_ms() - t0);
	/* Lookups, Allocate's checks, Stats and the election wait for this:
	 * before it, a live photo would read NOT_FOUND. */
	atomic_store(&d->loaded, 1);
	s.need_sync = 1;
	while (!atomic_load(&d->stop))
		step(&s);
	if (s.dropped > 0)
		rt_log_info("test hook dropped %" PRIu64 " photo events",
		    s.dropped);
	rt_sub_close(s.sub);
	rt_redis_close(s.r);
	return NULL;
}
