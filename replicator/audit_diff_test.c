/* The audit's comparison: missing replicas on listed stores only, deleted
 * photos' leftovers, orphans (no record, unnamed store, other cookie), and
 * the orphan rule (two sightings a grace apart, or a known old write). */
#include "audit_diff.h"
#include "check.h"

static void
healthy_photo_has_no_findings(void)
{
	uint32_t rec[] = { 1, 2, 3 }, listed[] = { 1, 2, 3 };
	struct repl_seen seen[] = { { 1, 9, 0 }, { 2, 9, 0 }, { 3, 9, 0 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, 3, listed, 3, seen, 3, &d);
	CHECK_EQ(d.nmissing + d.nleftover + d.norphan, 0);
}

static void
missing_only_on_stores_that_listed(void)
{
	uint32_t rec[] = { 1, 2, 3 }, listed[] = { 1, 2 };
	struct repl_seen seen[] = { { 1, 9, 0 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, 3, listed, 2, seen, 1, &d);
	CHECK_EQ(d.nmissing, 1);
	CHECK_EQ(d.missing[0], 2);
}

static void
tombstoned_copy_of_active_photo_is_missing(void)
{
	uint32_t rec[] = { 1, 2 }, listed[] = { 1, 2 };
	struct repl_seen seen[] = { { 1, 9, 0 }, { 2, 9, 1 } };
	struct repl_diff d;
	repl_audit_diff(REPL_REC_ACTIVE, 9, rec, 2, listed, 2, seen, 2, &d);
	CHECK_EQ(d.nmissing, 1);
	CHECK_EQ(d.missing[0], 2);
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
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
