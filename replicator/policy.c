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

/* 1 if a store of zone z is among the n ids in v. */
static int
zone_held(const struct repl_store *st, size_t nst, const uint32_t *v, size_t n,
    const char *z)
{
	for (size_t i = 0; i < n; i++) {
		const struct repl_store *s = find_store(st, nst, v[i]);
		if (s != NULL && strcmp(s->zone, z) == 0)
			return 1;
	}
	return 0;
}

/* 1 if UP store s may take a new copy: not holding one, not picked. */
static int
can_take(const struct repl_store *s, const uint32_t *holding, size_t nhold,
    const uint32_t *used, size_t nused, uint64_t size)
{
	return s->state == HS__STORE_STATE__STORE_UP &&
	    !repl_has_id(holding, nhold, s->id) &&
	    !repl_has_id(used, nused, s->id) &&
	    !(s->capacity_bytes && s->free_bytes < size);
}

/* Picks up to n UP stores holding no location of the photo: stores in a
 * zone none of `copies` (nor an earlier pick) is in first, as Allocate
 * spreads them; then most free bytes (ties: lower id, so plans are
 * deterministic). */
static size_t
pick_new(const struct repl_store *st, size_t nst, const uint32_t *holding,
    size_t nhold, const uint32_t *copies, size_t ncopies, size_t n,
    uint64_t size, uint32_t prefer, uint32_t *out)
{
	size_t got = 0;
	uint32_t used[REPL_MAX_LOC];
	while (got < n && got < REPL_MAX_LOC) {
		const struct repl_store *best = NULL;
		int best_fresh = 0;
		for (size_t i = 0; i < nst; i++) {
			const struct repl_store *s = &st[i];
			if (!can_take(s, holding, nhold, used, got, size))
				continue;
			int fresh = !zone_held(st, nst, copies, ncopies,
					s->zone) &&
			    !zone_held(st, nst, used, got, s->zone);
			int pb = best != NULL && best->id == prefer;
			if (best == NULL || fresh > best_fresh ||
			    (fresh == best_fresh && s->id == prefer) ||
			    (fresh == best_fresh && !pb &&
				(s->free_bytes > best->free_bytes ||
				    (s->free_bytes == best->free_bytes &&
					s->id < best->id)))) {
				best = s;
				best_fresh = fresh;
			}
		}
		if (best == NULL)
			break;
		used[got] = best->id;
		out[got++] = best->id;
	}
	return got;
}

/* Distinct zones among the n stores in v (0 for ids not in the table). */
static size_t
zones_of(const struct repl_store *st, size_t nst, const uint32_t *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct repl_store *s = find_store(st, nst, v[i]);
		if (s != NULL && !zone_held(st, nst, v, i, s->zone))
			k++;
	}
	return k;
}

/* Distinct zones with an UP store: how far a photo can be spread. */
static size_t
zones_up(const struct repl_store *st, size_t nst)
{
	size_t k = 0;
	for (size_t i = 0; i < nst; i++) {
		if (st[i].state != HS__STORE_STATE__STORE_UP)
			continue;
		size_t j = 0;
		while (j < i &&
		    (st[j].state != HS__STORE_STATE__STORE_UP ||
			strcmp(st[j].zone, st[i].zone) != 0))
			j++;
		k += j == i;
	}
	return k;
}

/* A photo at its target but crowded into fewer zones than it could use
 * (its copies were made while a zone was out): one more copy in a zone it
 * lacks, after which the trim takes the crowded zone's extra first. */
static void
pick_respread(const struct repl_store *st, size_t nst,
    const struct repl_photo_state *ph, struct repl_plan *pl)
{
	size_t want = zones_up(st, nst);
	if (want > pl->target)
		want = pl->target;
	if (zones_of(st, nst, pl->healthy, pl->nhealthy) >= want)
		return;
	uint32_t add;
	if (pick_new(st, nst, ph->stores, ph->nstores, pl->healthy,
		pl->nhealthy, 1, ph->size, 0, &add) != 1)
		return;
	const struct repl_store *s = find_store(st, nst, add);
	if (s == NULL || zone_held(st, nst, pl->healthy, pl->nhealthy, s->zone))
		return; /* no store in a missing zone can take it */
	pl->add[pl->nadd++] = add;
	pl->respread = 1;
}

/* Copies of the plan's healthy replicas in the zone of store id. */
static size_t
zone_count(const struct repl_store *st, size_t nst, const struct repl_plan *pl,
    uint32_t id)
{
	const struct repl_store *a = find_store(st, nst, id);
	size_t n = 0;
	for (size_t i = 0; a != NULL && i < pl->nhealthy; i++) {
		const struct repl_store *b = find_store(st, nst,
		    pl->healthy[i]);
		n += b != NULL && strcmp(a->zone, b->zone) == 0;
	}
	return n;
}

/* 1 if healthy replica a should be trimmed before b: a's zone holds more
 * than one copy and b's does not, else a is outside the photo's write
 * group and b is not (the group is the unit of repair, so its members
 * keep their copies), else a's store is fuller. Zones come first: a group
 * made while a zone was out is itself crowded, and trimming the respread
 * copy outside it would undo the respread, again at every audit. */
static int
trim_first(const struct repl_store *st, size_t nst,
    const struct repl_photo_state *ph, const struct repl_plan *pl, uint32_t a,
    uint32_t b)
{
	int za = zone_count(st, nst, pl, a) > 1;
	int zb = zone_count(st, nst, pl, b) > 1;
	if (za != zb)
		return za;
	int ga = repl_has_id(ph->group, ph->ngroup, a);
	int gb = repl_has_id(ph->group, ph->ngroup, b);
	if (ga != gb)
		return gb;
	const struct repl_store *x = find_store(st, nst, a);
	const struct repl_store *y = find_store(st, nst, b);
	double fa = free_frac(x), fb = free_frac(y);
	return fa < fb || (fa == fb && x->id > y->id);
}

/* Moves n healthy replicas into trim: outside the write group first, then
 * from zones holding more than one copy, then the fullest stores. */
static void
pick_trims(const struct repl_store *st, size_t nst,
    const struct repl_photo_state *ph, struct repl_plan *pl, size_t n)
{
	while (n-- > 0 && pl->nhealthy > 0) {
		size_t worst = 0;
		for (size_t i = 1; i < pl->nhealthy; i++)
			if (trim_first(st, nst, ph, pl, pl->healthy[i],
				pl->healthy[worst]))
				worst = i;
		uint32_t id = pl->healthy[worst];
		pl->healthy[worst] = pl->healthy[--pl->nhealthy];
		pl->trim[pl->ntrim++] = id;
	}
}

static void
classify(const struct repl_policy *p, const struct repl_photo_state *ph,
    struct repl_plan *pl)
{
	size_t have = pl->nhealthy + pl->npending;
	uint32_t old = ph->target ? ph->target : p->def;
	if (pl->nhealthy < p->min && (pl->nadd || pl->nrewrite)) {
		pl->prio = REPL_URGENT;
		pl->kind = pl->nrewrite && !pl->nadd ? "replace" : "repair";
	} else if (pl->nrewrite || (pl->nadd && have < old)) {
		pl->prio = REPL_HIGH;
		pl->kind = pl->nrewrite && !pl->nadd ? "replace" : "repair";
	} else if (pl->respread) {
		pl->prio = REPL_LOW;
		pl->kind = "respread";
	} else if (pl->nadd) {
		pl->prio = REPL_NORMAL;
		pl->kind = "top_up";
	} else if (pl->ntrim) {
		pl->prio = REPL_LOW;
		pl->kind = "trim";
	} else if (repl_removable_lost(pl, 0) > 0 || pl->target_changed) {
		pl->prio = REPL_HIGH; /* record cleanup only */
		pl->kind = "repair";
	}
}

/* Sorts each location of the photo into healthy, pending, rewrite or
 * lost. */
static void
sort_locations(const struct repl_policy *p, const struct repl_store *st,
    size_t nst, const struct repl_photo_state *ph, int64_t now_ms,
    struct repl_plan *pl)
{
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
			pl->lost[pl->nlost++] = id;
		else if (s->state == HS__STORE_STATE__STORE_DOWN)
			pl->npending++;
		else if (repl_has_id(ph->bad, ph->nbad, id) &&
		    s->state == HS__STORE_STATE__STORE_UP)
			pl->rewrite[pl->nrewrite++] = id;
		else if (repl_has_id(ph->bad, ph->nbad, id))
			pl->lost[pl->nlost++] = id; /* bad on a read-only store */
		else
			pl->healthy[pl->nhealthy++] = id;
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
	sort_locations(p, st, nst, ph, now_ms, pl);
	size_t good_after = pl->nhealthy + pl->nrewrite;
	if (pl->nhealthy == 0) {
		/* Nothing to copy from: change nothing, keep every location
		 * (a lost store may come back with the only copy). */
		pl->nrewrite = 0;
		pl->nlost = 0;
		pl->target_changed = 0;
		pl->target = cur;
		return;
	}
	/* Below MIN good copies, copies on stores still within the grace
	 * period do not count: repair now rather than wait the grace. */
	size_t have = good_after + (good_after < p->min ? 0 : pl->npending);
	if (have < pl->target) {
		uint32_t copies[2 * REPL_MAX_LOC];
		memcpy(copies, pl->healthy, pl->nhealthy * sizeof(uint32_t));
		memcpy(copies + pl->nhealthy, pl->rewrite,
		    pl->nrewrite * sizeof(uint32_t));
		pl->nadd = pick_new(st, nst, ph->stores, ph->nstores, copies,
		    pl->nhealthy + pl->nrewrite, pl->target - have, ph->size,
		    ph->prefer, pl->add);
	} else if (pl->npending == 0 && pl->nrewrite == 0 &&
	    pl->nhealthy > pl->target) {
		pick_trims(st, nst, ph, pl, pl->nhealthy - pl->target);
	} else if (pl->npending == 0 && pl->nrewrite == 0 && pl->nlost == 0 &&
	    !pl->target_changed) {
		pick_respread(st, nst, ph, pl);
	}
	classify(p, ph, pl);
}

size_t
repl_removable_lost(const struct repl_plan *pl, size_t nsent)
{
	return pl->nhealthy + nsent >= pl->target ? pl->nlost : 0;
}
