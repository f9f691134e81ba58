/* The audit's per-photo comparison and orphan rule (see audit_diff.h). */
#include "audit_diff.h"

#include <string.h>

#include "common.pb-c.h"

static int
in(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static void
add(uint32_t *v, size_t *n, uint32_t x)
{
	if (*n < REPL_AUDIT_MAX_STORES && !in(v, *n, x))
		v[(*n)++] = x;
}

void
repl_audit_diff(enum repl_rec_state state, uint32_t cookie,
    const uint32_t *stores, size_t nstores, const uint32_t *listed,
    size_t nlisted, const struct repl_seen *seen, size_t nseen,
    struct repl_diff *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < nseen; i++) {
		const struct repl_seen *s = &seen[i];
		if (s->deleted)
			continue;
		if (state == REPL_REC_DELETED && s->cookie == cookie)
			add(out->leftover, &out->nleftover, s->store);
		else if (state == REPL_REC_ACTIVE && s->cookie == cookie &&
		    in(stores, nstores, s->store))
			continue; /* a good replica */
		else
			add(out->orphan, &out->norphan, s->store);
	}
	if (state != REPL_REC_ACTIVE)
		return;
	for (size_t i = 0; i < nstores; i++) {
		uint32_t st = stores[i];
		if (!in(listed, nlisted, st))
			continue; /* down or unlisted: the grace rule decides */
		int live = 0;
		for (size_t j = 0; j < nseen; j++)
			live |= seen[j].store == st && !seen[j].deleted &&
			    seen[j].cookie == cookie;
		if (!live)
			add(out->missing, &out->nmissing, st);
	}
}

int
repl_orphan_due(int64_t first_seen_ms, int64_t written_ms, int64_t now_ms,
    int64_t grace_ms)
{
	if (written_ms > 0 && now_ms - written_ms >= grace_ms)
		return 1;
	return first_seen_ms > 0 && now_ms - first_seen_ms >= grace_ms;
}

int
repl_orphan_halt(uint64_t orphans, uint64_t needles, double fraction)
{
	return orphans > 0 && (double)orphans > fraction * (double)needles;
}

enum repl_adopt
repl_adopt_check(const struct repl_adoptee *rec, uint32_t def,
    const struct repl_copy *c)
{
	uint32_t target = rec->target ? rec->target : def;
	if (rec->nstores >= target || c->cookie != rec->cookie ||
	    c->size != rec->size)
		return REPL_ADOPT_NO;
	if (c->sha == NULL)
		return REPL_ADOPT_READ;
	return memcmp(c->sha, rec->sha, 32) == 0 ? REPL_ADOPT_YES :
						   REPL_ADOPT_NO;
}

enum repl_rec_state
repl_audit_state(int lookup_code, int leader_deleted)
{
	if (lookup_code == HS__CODE__OK)
		return REPL_REC_ACTIVE;
	if (lookup_code != HS__CODE__NOT_FOUND)
		return REPL_REC_UNKNOWN;
	return leader_deleted ? REPL_REC_DELETED : REPL_REC_NONE;
}
