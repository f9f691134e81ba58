/* The replication policy (see policy.h): pure functions only. */
#include "policy.h"

#include <string.h>

#include "common.pb-c.h"
#include "queue.h"

uint32_t
repl_target(const struct repl_policy *p, uint32_t cur, double rate,
    int may_lower)
{
	uint32_t t = cur ? cur : p->def;
	if (rate > p->threshold)
		t = p->max;
	else if (t > p->def && may_lower && rate < p->threshold / 2)
		t = p->def;
	if (t < p->min)
		t = p->min;
	if (t > p->max)
		t = p->max;
	return t;
}

static const struct repl_store *
find_store(const struct repl_store *s, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

int
repl_has_id(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

int
repl_store_lost(const struct repl_policy *p, const struct repl_store *s,
    int64_t now_ms)
{
	if (s->state != HS__STORE_STATE__STORE_DOWN)
		return 0;
	return now_ms - s->last_heartbeat_ms >= p->grace_ms;
}

static double
free_frac(const struct repl_store *s)
{
	if (s->capacity_bytes == 0)
		return 0;
	return (double)s->free_bytes / (double)s->capacity_bytes;
}

/* Picks up to n UP stores holding no location of the photo, most free
 * bytes first (ties: lower id, so plans are deterministic). */
static size_t
pick_new(const struct repl_store *st, size_t nst, const uint32_t *holding,
    size_t nhold, size_t n, uint64_t size, uint32_t *out)
{
	size_t got = 0;
	uint32_t used[REPL_MAX_LOC];
	while (got < n && got < REPL_MAX_LOC) {
		const struct repl_store *best = NULL;
		for (size_t i = 0; i < nst; i++) {
			const struct repl_store *s = &st[i];
			if (s->state != HS__STORE_STATE__STORE_UP ||
			    repl_has_id(holding, nhold, s->id) ||
			    repl_has_id(used, got, s->id) ||
			    (s->capacity_bytes && s->free_bytes < size))
				continue;
			if (best == NULL || s->free_bytes > best->free_bytes ||
			    (s->free_bytes == best->free_bytes &&
				s->id < best->id))
				best = s;
		}
		if (best == NULL)
			break;
		used[got] = best->id;
		out[got++] = best->id;
	}
	return got;
}

/* Moves the n fullest healthy replicas into trim (and remove). */
static void
pick_trims(const struct repl_store *st, size_t nst, struct repl_plan *pl,
    size_t n)
{
	while (n-- > 0 && pl->nhealthy > 0) {
		size_t worst = 0;
		for (size_t i = 1; i < pl->nhealthy; i++) {
			const struct repl_store *a = find_store(st, nst,
			    pl->healthy[i]);
			const struct repl_store *b = find_store(st, nst,
			    pl->healthy[worst]);
			double fa = free_frac(a), fb = free_frac(b);
			if (fa < fb || (fa == fb && a->id > b->id))
				worst = i;
		}
		uint32_t id = pl->healthy[worst];
		pl->healthy[worst] = pl->healthy[--pl->nhealthy];
		pl->trim[pl->ntrim++] = id;
		pl->remove[pl->nremove++] = id;
	}
}

static void
classify(const struct repl_policy *p, const struct repl_photo_state *ph,
    struct repl_plan *pl, size_t nlost)
{
	size_t have = pl->nhealthy + pl->npending;
	uint32_t old = ph->target ? ph->target : p->def;
	if (pl->nhealthy < p->min && (pl->nadd || pl->nrewrite)) {
		pl->prio = REPL_URGENT;
		pl->kind = pl->nrewrite && !pl->nadd ? "replace" : "repair";
	} else if (pl->nrewrite || (pl->nadd && have < old)) {
		pl->prio = REPL_HIGH;
		pl->kind = pl->nrewrite && !pl->nadd ? "replace" : "repair";
	} else if (pl->nadd) {
		pl->prio = REPL_NORMAL;
		pl->kind = "top_up";
	} else if (pl->ntrim) {
		pl->prio = REPL_LOW;
		pl->kind = "trim";
	} else if (nlost || pl->target_changed) {
		pl->prio = REPL_HIGH; /* record cleanup only */
		pl->kind = "repair";
	}
}

void
repl_plan_photo(const struct repl_policy *p, const struct repl_store *st,
    size_t nst, const struct repl_photo_state *ph, int64_t now_ms,
    struct repl_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->prio = -1;
	pl->kind = "";
	uint32_t cur = ph->target ? ph->target : p->def;
	pl->target = repl_target(p, cur, ph->rate, ph->may_lower);
	pl->target_changed = pl->target != cur;
	size_t nlost = 0;
	uint32_t lost[REPL_MAX_LOC];
	size_t nloc = ph->nstores < REPL_MAX_LOC ? ph->nstores : REPL_MAX_LOC;
	for (size_t i = 0; i < nloc; i++) {
		uint32_t id = ph->stores[i];
		const struct repl_store *s = find_store(st, nst, id);
		/* Our table can lag the directory's (a store that just joined):
		 * such a copy may well be fine, so it counts as pending. */
		if (s == NULL) {
			pl->npending++;
			pl->nunknown++;
			continue;
		}
		if (repl_store_lost(p, s, now_ms))
			lost[nlost++] = id;
		else if (s->state == HS__STORE_STATE__STORE_DOWN)
			pl->npending++;
		else if (repl_has_id(ph->bad, ph->nbad, id) &&
		    s->state == HS__STORE_STATE__STORE_UP)
			pl->rewrite[pl->nrewrite++] = id;
		else if (repl_has_id(ph->bad, ph->nbad, id))
			lost[nlost++] = id; /* bad on a read-only store */
		else
			pl->healthy[pl->nhealthy++] = id;
	}
	size_t good_after = pl->nhealthy + pl->nrewrite;
	if (pl->nhealthy == 0) {
		/* Nothing to copy from: change nothing, keep every location
		 * (a lost store may come back with the only copy). */
		pl->nrewrite = 0;
		pl->target_changed = 0;
		pl->target = cur;
		return;
	}
	for (size_t i = 0; i < nlost; i++)
		pl->remove[pl->nremove++] = lost[i];
	size_t have = good_after + pl->npending;
	if (have < pl->target) {
		pl->nadd = pick_new(st, nst, ph->stores, ph->nstores,
		    pl->target - have, ph->size, pl->add);
	} else if (pl->npending == 0 && pl->nrewrite == 0 &&
	    pl->nhealthy > pl->target) {
		pick_trims(st, nst, pl, pl->nhealthy - pl->target);
	}
	classify(p, ph, pl, nlost);
}
