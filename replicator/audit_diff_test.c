/* The audit's comparison: missing replicas on listed stores only, deleted
 * photos' leftovers, orphans (no record, unnamed store, other cookie), and
 * the orphan rule (two sightings a grace apart, or a known old write), a
 * store's deleted entry is no evidence of a delete, the orphan halt rule
 * and adoption of good copies. */
#include "audit_diff.h"
#include "check.h"
#include "common.pb-c.h"

static void
healthy_photo_has_no_findings(void)
{
	uint32_t rec[] = { 1, 2, 3 }, listed[] = { 1, 2, 3 };
	struct repl_seen seen[] = { { 1, 9, 0 }, { 2, 9, 0 }, { 3, 9, 0 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, 3, listed, 3, seen, 3, &d);
	CHECK_EQ(d.nmissing + d.nleftover + d.norphan, 0);
}

/* The one store an active photo (cookie 9) misses a copy on; 0 when it
 * misses none or several. */
static uint32_t
one_missing(const uint32_t *rec, size_t nrec, const uint32_t *listed,
    size_t nlisted, const struct repl_seen *seen, size_t nseen)
{
	struct repl_diff d;
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, nrec, listed, nlisted, seen,
	    nseen, &d);
	return d.nmissing == 1 ? d.missing[0] : 0;
}

static void
missing_only_on_stores_that_listed(void)
{
	uint32_t rec[] = { 1, 2, 3 }, listed[] = { 1, 2 };
	struct repl_seen seen[] = { { 1, 9, 0 } };
	CHECK_EQ(one_missing(rec, 3, listed, 2, seen, 1), 2);
}

static void
tombstoned_copy_of_active_photo_is_missing(void)
{
	uint32_t rec[] = { 1, 2 }, listed[] = { 1, 2 };
	struct repl_seen seen[] = { { 1, 9, 0 }, { 2, 9, 1 } };
	CHECK_EQ(one_missing(rec, 2, listed, 2, seen, 2), 2);
}

static void
deleted_photo_leftovers_are_found(void)
{
	uint32_t listed[] = { 1, 2, 3 };
	struct repl_seen seen[] = { { 1, 9, 1 }, { 2, 9, 0 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_DELETED, 9, NULL, 0, listed, 3, seen, 2, &d);
	CHECK_EQ(d.nleftover, 1);
	CHECK_EQ(d.leftover[0], 2);
	CHECK_EQ(d.norphan, 0);
}

static void
orphans_no_record_unnamed_store_other_cookie(void)
{
	uint32_t listed[] = { 1, 2, 3 }, rec[] = { 1 };
	struct repl_seen none[] = { { 3, 9, 0 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_NONE, 0, NULL, 0, listed, 3, none, 1, &d);
	CHECK_EQ(d.norphan, 1);
	CHECK_EQ(d.orphan[0], 3);
	struct repl_seen stray[] = { { 1, 9, 0 }, { 2, 9, 0 }, { 3, 8, 0 } };
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, 1, listed, 3, stray, 3, &d);
	CHECK_EQ(d.norphan, 2);
	CHECK_EQ(d.orphan[0], 2);
	CHECK_EQ(d.orphan[1], 3);
	CHECK_EQ(d.nmissing, 0);
}

static void
orphan_rule_needs_two_sightings_a_grace_apart(void)
{
	CHECK_EQ(repl_orphan_due(0, 0, 100000, 5000), 0);     /* first */
	CHECK_EQ(repl_orphan_due(98000, 0, 100000, 5000), 0); /* too soon */
	CHECK_EQ(repl_orphan_due(95000, 0, 100000, 5000), 1);
	CHECK_EQ(repl_orphan_due(0, 90000, 100000, 5000), 1); /* old write */
	CHECK_EQ(repl_orphan_due(0, 99000, 100000, 5000), 0); /* fresh */
}

/* A trim left a deleted entry on store 1; stores 2 and 3 hold the photo.
 * A Lookup that says NOT_FOUND without the leader's word of a delete
 * (a directory that lost or has not loaded the record) makes them orphan
 * candidates, aged by the orphan rule and subject to the halt rule, never
 * leftovers to delete at once; an UNAVAILABLE directory changes nothing. */
static void
tomb_is_not_evidence_of_a_delete(void)
{
	uint32_t listed[] = { 1, 2, 3 };
	struct repl_seen sn[] = { { 1, 9, 1 }, { 2, 9, 0 }, { 3, 9, 0 } };
	struct repl_diff d;
	enum repl_rec_state st = repl_audit_state(HS__CODE__NOT_FOUND, 0);
	CHECK_EQ(st, REPL_REC_NONE);
	repl_audit_diff(st, 9, NULL, 0, listed, 3, sn, 3, &d);
	CHECK_EQ(d.nleftover, 0);
	CHECK_EQ(d.norphan, 2);
	CHECK_EQ(repl_audit_state(HS__CODE__UNAVAILABLE, 0), REPL_REC_UNKNOWN);
	CHECK_EQ(repl_audit_state(HS__CODE__UNAVAILABLE, 1), REPL_REC_UNKNOWN);
	CHECK_EQ(repl_audit_state(HS__CODE__OK, 1), REPL_REC_ACTIVE);
	/* Only the leader's word makes them leftovers. */
	st = repl_audit_state(HS__CODE__NOT_FOUND, 1);
	CHECK_EQ(st, REPL_REC_DELETED);
	repl_audit_diff(st, 9, NULL, 0, listed, 3, sn, 3, &d);
	CHECK_EQ(d.nleftover, 2);
}

/* 0.1 %: one orphan among 1000 needles is deleted by the rule; two, or
 * every needle (a wiped metadata Redis), halt the store's deletions. */
static void
orphan_fraction_halts_deletion(void)
{
	CHECK_EQ(repl_orphan_halt(0, 0, 0.001), 0);
	CHECK_EQ(repl_orphan_halt(1, 1000, 0.001), 0);
	CHECK_EQ(repl_orphan_halt(2, 1000, 0.001), 1);
	CHECK_EQ(repl_orphan_halt(500, 500, 0.001), 1);
	CHECK_EQ(repl_orphan_halt(1, 2, 0.001), 1);
	CHECK_EQ(repl_orphan_halt(2, 2, 1.0), 0); /* 1: never halt */
}

/* A store given up on comes back: its good copy joins an under-replicated
 * record; a full record, another cookie or size, or a SHA-256 that does
 * not match leaves it an orphan; no SHA-256 in the listing: read first. */
static void
good_copy_is_adopted_by_under_replicated_record(void)
{
	uint8_t sha[32] = { 1, 2, 3 }, other[32] = { 9 };
	struct repl_adoptee rec = { 7, 4096, sha, 2, 3 };
	struct repl_copy c = { 7, 4096, sha };
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_YES);
	c.sha = NULL;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_READ);
	c.sha = other;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_NO);
	c.sha = sha;
	c.size = 4095;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_NO);
	c.size = 4096;
	c.cookie = 8;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_NO);
	c.cookie = 7;
	rec.nstores = 3;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_NO);
	rec.target = 0; /* default target */
	rec.nstores = 2;
	CHECK_EQ(repl_adopt_check(&rec, 3, &c), REPL_ADOPT_YES);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "healthy photo has no findings",
		    healthy_photo_has_no_findings },
		{ "missing only on stores that listed",
		    missing_only_on_stores_that_listed },
		{ "tombstoned copy of active photo is missing",
		    tombstoned_copy_of_active_photo_is_missing },
		{ "deleted photo leftovers are found",
		    deleted_photo_leftovers_are_found },
		{ "orphans: no record, unnamed store, other cookie",
		    orphans_no_record_unnamed_store_other_cookie },
		{ "orphan rule needs two sightings a grace apart",
		    orphan_rule_needs_two_sightings_a_grace_apart },
		{ "tomb is not evidence of a delete",
		    tomb_is_not_evidence_of_a_delete },
		{ "orphan fraction halts deletion",
		    orphan_fraction_halts_deletion },
		{ "good copy is adopted by under-replicated record",
		    good_copy_is_adopted_by_under_replicated_record },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
