/* The tick thread, every REPLICATOR_TICK while active: reloads the store
 * table; starts an audit when a store goes DOWN (a photo left with fewer
 * than MIN healthy copies is repaired at once, without waiting the grace
 * period) and when one has been DOWN past the grace period (its photos are
 * found through the other stores' listings and the records) and when one
 * comes back UP (its copies are adopted, photos written into fewer zones
 * meanwhile are respread); queues LOW tasks for hot photos that cooled;
 * and starts the nightly audit once a day at NIGHTLY_AUDIT_HOUR (local
 * time). */
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
	uint32_t down[REPL_MAX_STORES]; /* stores already handled as DOWN */
	size_t ndown;
	uint64_t term;
	int last_audit_yday;
};

static void
check_lost_stores(struct repl *r, struct tick_state *ts)
{
	struct repl_store st[REPL_MAX_STORES];
	size_t n = repl_stores_snapshot(r, st, REPL_MAX_STORES);
	int64_t now = rt_now_ms();
	uint32_t lost[REPL_MAX_STORES], down[REPL_MAX_STORES];
	size_t nlost = 0, ndown = 0;
	const char *why = NULL;
	for (size_t i = 0; i < n; i++) {
		if (st[i].state == HS__STORE_STATE__STORE_DOWN) {
			down[ndown++] = st[i].id;
			if (!repl_has_id(ts->down, ts->ndown, st[i].id)) {
				rt_log_warn("store %u is DOWN: repairing photos "
					    "left below MIN_REPLICA_COUNT now",
				    st[i].id);
				why = "a store went DOWN";
			}
		}
		if (st[i].state == HS__STORE_STATE__STORE_UP &&
		    repl_has_id(ts->down, ts->ndown, st[i].id)) {
			rt_log_info("store %u is back: adopting its copies, "
				    "respreading photos crowded meanwhile",
			    st[i].id);
			why = "a store is back";
		}
		if (!repl_store_lost(&r->pol, &st[i], now))
			continue;
		lost[nlost++] = st[i].id;
		if (!repl_has_id(ts->lost, ts->nlost, st[i].id)) {
			rt_log_warn("store %u has been DOWN for more than %lld ms: "
				    "re-replicating what it held",
			    st[i].id, (long long)r->cfg.grace_ms);
			why = "a store is past the grace period";
		}
	}
	memcpy(ts->lost, lost, nlost * sizeof(*lost));
	ts->nlost = nlost;
	memcpy(ts->down, down, ndown * sizeof(*down));
	ts->ndown = ndown;
	if (why != NULL)
		repl_audit_request(r, why);
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
				/* a new term re-checks everything */
				ts.nlost = ts.ndown = 0;
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
