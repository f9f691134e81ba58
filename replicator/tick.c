/* The tick thread, every REPLICATOR_TICK while active: reloads the store
 * table; starts an audit when a store has been DOWN past the grace period
 * (its photos are found through the other stores' listings and the
 * records); queues LOW tasks for hot photos that cooled; and starts the
 * nightly audit once a day at NIGHTLY_AUDIT_HOUR (local time). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "repl.h"
#include "storelink.h"

#define COOLED_MAX 4096

struct tick_state {
	uint32_t lost[REPL_MAX_STORES]; /* stores already handled as lost */
	size_t nlost;
	uint64_t term;
	int last_audit_yday;
};

static void
check_lost_stores(struct repl *r, struct tick_state *ts)
{
	struct repl_store st[REPL_MAX_STORES];
	size_t n = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	int64_t now = rt_now_ms();
	uint32_t lost[REPL_MAX_STORES];
	size_t nlost = 0;
	int fresh = 0;
	for (size_t i = 0; i < n; i++) {
		if (!repl_store_lost(&r->pol, &st[i], now))
			continue;
		lost[nlost++] = st[i].id;
		int known = 0;
		for (size_t j = 0; j < ts->nlost; j++)
			known |= ts->lost[j] == st[i].id;
		if (!known) {
			rt_log_warn("store %u has been DOWN for more than %lld ms: "
				    "re-replicating what it held",
			    st[i].id, (long long)r->cfg.grace_ms);
			fresh = 1;
		}
	}
	memcpy(ts->lost, lost, nlost * sizeof(*lost));
	ts->nlost = nlost;
	if (fresh)
		repl_audit_request(r, "a store is past the grace period");
}

static void
queue_cooled(struct repl *r)
{
	int64_t mono = rt_mono_ms();
	if (mono - atomic_load(&r->active_since) < 2 * r->cfg.half_life_ms)
		return; /* rates are still rebuilding after a takeover */
	struct repl_rate_photo *c = malloc(COOLED_MAX * sizeof(*c));
	if (c == NULL)
		return;
	size_t n = repl_rates_cooled(r->rates, r->cfg.threshold / 2, mono, c,
	    COOLED_MAX);
	for (size_t i = 0; i < n; i++)
		repl_enqueue_photo(r, c[i].key, c[i].cookie, REPL_LOW, 0);
	free(c);
}

static void
maybe_nightly(struct repl *r, struct tick_state *ts)
{
	if (r->cfg.audit_hour < 0)
		return;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (tm.tm_hour == r->cfg.audit_hour &&
	    tm.tm_yday != ts->last_audit_yday) {
		ts->last_audit_yday = tm.tm_yday;
		repl_audit_request(r, "nightly");
	}
}

void *
repl_tick_main(void *arg)
{
	struct repl *r = arg;
	struct tick_state ts = { .last_audit_yday = -1 };
	while (!atomic_load(&r->stop)) {
		int64_t t0 = rt_mono_ms();
		if (repl_is_active(r)) {
			if (ts.term != atomic_load(&r->term)) {
				ts.term = atomic_load(&r->term);
				ts.nlost =
				    0; /* a new term re-checks everything */
			}
			if (repl_stores_refresh(r) == 0)
				check_lost_stores(r, &ts);
			queue_cooled(r);
			maybe_nightly(r, &ts);
		}
		while (!atomic_load(&r->stop) &&
		    rt_mono_ms() - t0 < r->cfg.tick_ms) {
			struct timespec s = { 0, 20000000L };
			nanosleep(&s, NULL);
		}
	}
	return NULL;
}
