/* The replication policy: targets with hysteresis, priorities by healthy
 * count, the grace period for DOWN stores (not below MIN), in-place
 * rewrite of bad copies, lost locations kept until replaced, new replicas
 * in fresh zones then on the least loaded stores (the group's replacement
 * first when refilling a lost member), trims from doubled zones first,
 * then outside the write group, then the fullest. */
#include <stdio.h>

#include "check.h"
#include "common.pb-c.h"
#include "policy.h"
#include "queue.h"

#define UP HS__STORE_STATE__STORE_UP
#define DOWN HS__STORE_STATE__STORE_DOWN
#define RO HS__STORE_STATE__STORE_READONLY

static const struct repl_policy pol = { .min = 2,
	.def = 3,
	.max = 5,
	.threshold = 100,
	.grace_ms = 10000 };

/* Five stores; store i has i*10 GB free of 100 GB. */
static struct repl_store st[5];

static void
setup(void)
{
	for (int i = 0; i < 5; i++) {
		st[i].id = (uint32_t)i + 1;
		st[i].state = UP;
		st[i].capacity_bytes = 100ULL << 30;
		st[i].free_bytes = (uint64_t)(i + 1) * (10ULL << 30);
		st[i].last_heartbeat_ms = 1000000;
		st[i].zone[0] = '\0';
	}
}

static void
plan(const uint32_t *stores, size_t n, const uint32_t *bad, size_t nbad,
    double rate, int may_lower, uint32_t target, struct repl_plan *pl)
{
	struct repl_photo_state ph = { .stores = stores,
		.nstores = n,
		.target = target,
		.bad = bad,
		.nbad = nbad,
		.rate = rate,
		.may_lower = may_lower,
		.size = 4096 };
	repl_plan_photo(&pol, st, 5, &ph, 1000000, pl);
}

static void
target_follows_rate_with_hysteresis(void)
{
	CHECK_EQ(repl_target(&pol, 3, 150, 1), 5);
	CHECK_EQ(repl_target(&pol, 5, 80, 1), 5); /* between: stays */
	CHECK_EQ(repl_target(&pol, 5, 40, 1), 3);
	CHECK_EQ(repl_target(&pol, 5, 40, 0), 5); /* rates not warm yet */
	CHECK_EQ(repl_target(&pol, 0, 0, 1), 3);
	CHECK_EQ(repl_target(&pol, 1, 0, 1), 2); /* never below MIN */
}

static void
healthy_photo_needs_nothing(void)
{
	setup();
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, -1);
}

static void
store_down_within_grace_waits(void)
{
	setup();
	st[0].state = DOWN;
	st[0].last_heartbeat_ms = 1000000 - 5000;
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, -1);
	CHECK_EQ(pl.npending, 1);
}

static void
store_down_past_grace_is_repaired_on_least_loaded(void)
{
	setup();
	st[4].state = DOWN; /* the emptiest is down: next best is 4 */
	st[4].last_heartbeat_ms = 1000000 - 20000;
	uint32_t s[] = { 1, 2, 5 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, REPL_HIGH);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(pl.add[0], 4);
	CHECK_EQ(pl.nlost, 1);
	CHECK_EQ(pl.lost[0], 5);
	CHECK_EQ(pl.ntrim, 0);
	/* Its location leaves the record only with the replacement in. */
	CHECK_EQ(repl_removable_lost(&pl, 0), 0);
	CHECK_EQ(repl_removable_lost(&pl, 1), 1);
}

/* Nowhere to put a replacement: the lost location stays in the record (the
 * store may come back with the copy); nothing is removed. */
static void
lost_location_stays_without_a_replacement(void)
{
	setup();
	st[3].state = st[4].state = RO;
	st[2].state = DOWN;
	st[2].last_heartbeat_ms = 0;
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 0);
	CHECK_EQ(pl.nlost, 1);
	CHECK_EQ(repl_removable_lost(&pl, 0), 0);
	CHECK_EQ(pl.prio, -1); /* nothing to do until a store has room */
	/* A bad copy on a read-only store is kept until replaced too. */
	setup();
	st[2].state = RO;
	uint32_t bad[] = { 3 };
	plan(s, 3, bad, 1, 0, 1, 3, &pl);
	CHECK_EQ(pl.nlost, 1);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(repl_removable_lost(&pl, 0), 0);
	CHECK_EQ(repl_removable_lost(&pl, 1), 1);
}

/* One healthy copy left, the others on stores DOWN for 5 s of a 10 s grace:
 * repaired now, URGENT; the pending locations stay. */
static void
below_min_does_not_wait_the_grace(void)
{
	setup();
	st[0].state = st[1].state = DOWN;
	st[0].last_heartbeat_ms = st[1].last_heartbeat_ms = 1000000 - 5000;
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, REPL_URGENT);
	CHECK_EQ(pl.npending, 2);
	CHECK_EQ(pl.nadd, 2);
	CHECK_EQ(pl.nlost, 0);
	/* With MIN healthy copies the grace still applies. */
	st[1].state = UP;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, -1);
	CHECK_EQ(pl.nadd, 0);
}

static void
zones(const char *z)
{
	for (int i = 0; i < 5; i++)
		snprintf(st[i].zone, sizeof(st[i].zone), "%c", z[i]);
}

/* Copies on zones a and b: the new one goes to the only store in zone c,
 * though two stores in a and b have more room. */
static void
new_copies_go_to_fresh_zones(void)
{
	setup();
	zones("abcab");
	uint32_t s[] = { 1, 2 };
	struct repl_plan pl;
	plan(s, 2, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(pl.add[0], 3);
	/* Two to add, one fresh zone: the fresh one first, then room. */
	setup();
	zones("aacab");
	uint32_t one[] = { 1 };
	plan(one, 1, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 2);
	CHECK(repl_has_id(pl.add, 2, 3));
	CHECK(repl_has_id(pl.add, 2, 5));
}

/* Five copies over zones a, b, c, c, a cool to three: one leaves zone a
 * and one zone c (the fuller of each), not the two fullest stores. */
static void
trims_leave_doubled_zones_first(void)
{
	setup();
	zones("abcca");
	uint32_t s[] = { 1, 2, 3, 4, 5 };
	struct repl_plan pl;
	plan(s, 5, NULL, 0, 0, 1, 5, &pl);
	CHECK_EQ(pl.ntrim, 2);
	CHECK(repl_has_id(pl.trim, 2, 1));
	CHECK(repl_has_id(pl.trim, 2, 3));
}

/* Copies made while zone c was out sit in zones a, a, b. With c back the
 * photo gets one copy there (low priority), then loses zone a's extra:
 * before, nothing ever moved it and a zone's loss took two copies. */
static void
crowded_photo_is_respread_over_zones(void)
{
	setup();
	zones("aabcc");
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 1);
	CHECK(pl.add[0] == 4 || pl.add[0] == 5);
	CHECK_EQ(pl.prio, REPL_LOW);
	CHECK(strcmp(pl.kind, "respread") == 0);
	uint32_t after[] = { 1, 2, 3, pl.add[0] };
	plan(after, 4, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.ntrim, 1);
	CHECK(pl.trim[0] == 1 || pl.trim[0] == 2);
	/* Spread as far as the UP zones allow: nothing to do. */
	uint32_t spread[] = { 1, 3, 4 };
	plan(spread, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, -1);
	/* Zone c down: a, a, b is as far as it goes. */
	st[3].state = DOWN;
	st[4].state = DOWN;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 0);
}

static void
below_min_is_urgent(void)
{
	setup();
	st[0].state = DOWN;
	st[1].state = DOWN;
	st[0].last_heartbeat_ms = st[1].last_heartbeat_ms = 0;
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, REPL_URGENT);
	CHECK_EQ(pl.nadd, 2);
	CHECK_EQ(pl.add[0], 5);
	CHECK_EQ(pl.add[1], 4);
}

static void
corrupt_copy_is_rewritten_in_place(void)
{
	setup();
	uint32_t s[] = { 1, 2, 3 }, bad[] = { 2 };
	struct repl_plan pl;
	plan(s, 3, bad, 1, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, REPL_HIGH);
	CHECK_EQ(pl.nrewrite, 1);
	CHECK_EQ(pl.rewrite[0], 2);
	CHECK_EQ(pl.nadd, 0);
	CHECK(strcmp(pl.kind, "replace") == 0);
}

static void
no_good_copy_changes_nothing(void)
{
	setup();
	uint32_t s[] = { 1, 2 }, bad[] = { 1, 2 };
	struct repl_plan pl;
	plan(s, 2, bad, 2, 0, 1, 3, &pl);
	CHECK_EQ(pl.prio, -1);
	CHECK_EQ(pl.nlost, 0);
}

static void
hot_photo_tops_up_to_max(void)
{
	setup();
	uint32_t s[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan(s, 3, NULL, 0, 500, 1, 3, &pl);
	CHECK_EQ(pl.prio, REPL_NORMAL);
	CHECK_EQ(pl.target, 5);
	CHECK_EQ(pl.nadd, 2);
	CHECK(strcmp(pl.kind, "top_up") == 0);
}

static void
cooled_photo_trims_fullest_stores(void)
{
	setup();
	uint32_t s[] = { 1, 2, 3, 4, 5 };
	struct repl_plan pl;
	plan(s, 5, NULL, 0, 0, 1, 5, &pl);
	CHECK_EQ(pl.prio, REPL_LOW);
	CHECK_EQ(pl.target, 3);
	CHECK_EQ(pl.ntrim, 2);
	CHECK_EQ(pl.trim[0], 1); /* store 1 is the fullest */
	CHECK_EQ(pl.trim[1], 2);
	CHECK_EQ(pl.nhealthy, 3);
}

static void
no_trim_while_a_replica_is_pending(void)
{
	setup();
	st[4].state = DOWN;
	st[4].last_heartbeat_ms = 1000000 - 1000;
	uint32_t s[] = { 1, 2, 3, 4, 5 };
	struct repl_plan pl;
	plan(s, 5, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.ntrim, 0);
}

static void
read_only_store_gets_no_new_copy(void)
{
	setup();
	st[4].state = RO;
	st[3].state = RO;
	uint32_t s[] = { 1, 2 };
	struct repl_plan pl;
	plan(s, 2, NULL, 0, 0, 1, 3, &pl);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(pl.add[0], 3);
}

/* Store 7 is not in our table yet (it just joined): its copy is neither
 * dropped from the record nor replaced, and the plan says to look again. */
static void
store_missing_from_table_is_not_lost(void)
{
	setup();
	uint32_t s[] = { 1, 2, 7 };
	uint32_t bad[] = { 7 };
	struct repl_plan pl;
	plan(s, 3, bad, 1, 0, 1, 3, &pl);
	CHECK_EQ(pl.nlost, 0);
	CHECK_EQ(pl.nadd, 0);
	CHECK_EQ(pl.nrewrite, 0);
	CHECK_EQ(pl.nunknown, 1);
	CHECK_EQ(pl.prio, -1);
}

/* plan() for a photo of a three-store write group (prefer: the store the
 * group is being refilled on, or 0), may_lower, no bad copies. */
static void
plan_in_group(const uint32_t *stores, size_t n, const uint32_t group[3],
    uint32_t prefer, uint32_t target, struct repl_plan *pl)
{
	struct repl_photo_state ph = { .stores = stores,
		.nstores = n,
		.target = target,
		.may_lower = 1,
		.size = 4096,
		.group = group,
		.ngroup = 3,
		.prefer = prefer };
	repl_plan_photo(&pol, st, 5, &ph, 1000000, pl);
}

/* The photo of write group {1, 2, 3} lost store 1. Store 5 has the most
 * room, but store 4 is where the group is being refilled: the copy goes
 * there, so a lost member's photos land together. A store that may not
 * take it (down) is passed over. */
static void
lost_member_refills_on_the_groups_replacement(void)
{
	setup();
	st[0].state = DOWN;
	st[0].last_heartbeat_ms = 0;
	uint32_t s[] = { 1, 2, 3 }, group[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan_in_group(s, 3, group, 4, 3, &pl);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(pl.add[0], 4);
	st[3].state = DOWN;
	plan_in_group(s, 3, group, 4, 3, &pl);
	CHECK_EQ(pl.nadd, 1);
	CHECK_EQ(pl.add[0], 5);
}

/* A cooled photo of write group {2, 3, 4} on stores 1..5 goes back to 3
 * copies: the two outside the group (1 and 5) go, though store 2 is
 * fuller than store 5. */
static void
trims_take_copies_outside_the_group_first(void)
{
	setup();
	uint32_t s[] = { 1, 2, 3, 4, 5 }, group[] = { 2, 3, 4 };
	struct repl_plan pl;
	plan_in_group(s, 5, group, 0, 5, &pl);
	CHECK_EQ(pl.ntrim, 2);
	CHECK(repl_has_id(pl.trim, 2, 1));
	CHECK(repl_has_id(pl.trim, 2, 5));
}

/* Write group {1, 2, 3} was made while zone c was out, so it sits in
 * zones a, a, b. Its photo gets a copy in c, and the trim then takes zone
 * a's extra, not the copy outside the group: before, the trim removed the
 * new copy, and every audit respread the photo again (the 30-minute chaos
 * run ended with photos crowded and over target). */
static void
crowded_group_still_spreads_over_zones(void)
{
	setup();
	zones("aabcc");
	uint32_t s[] = { 1, 2, 3, 4 }, group[] = { 1, 2, 3 };
	struct repl_plan pl;
	plan_in_group(s, 4, group, 0, 3, &pl);
	CHECK_EQ(pl.ntrim, 1);
	CHECK(pl.trim[0] == 1 || pl.trim[0] == 2);
	uint32_t after[] = { pl.trim[0] == 1 ? 2 : 1, 3, 4 };
	plan_in_group(after, 3, group, 0, 3, &pl);
	CHECK_EQ(pl.prio, -1); /* settled: no respread, no trim */
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "target follows rate with hysteresis",
		    target_follows_rate_with_hysteresis },
		{ "healthy photo needs nothing", healthy_photo_needs_nothing },
		{ "store down within grace waits",
		    store_down_within_grace_waits },
		{ "store down past grace is repaired on least loaded",
		    store_down_past_grace_is_repaired_on_least_loaded },
		{ "lost location stays without a replacement",
		    lost_location_stays_without_a_replacement },
		{ "below min does not wait the grace",
		    below_min_does_not_wait_the_grace },
		{ "new copies go to fresh zones",
		    new_copies_go_to_fresh_zones },
		{ "trims leave doubled zones first",
		    trims_leave_doubled_zones_first },
		{ "crowded photo is respread over zones",
		    crowded_photo_is_respread_over_zones },
		{ "below min is urgent", below_min_is_urgent },
		{ "corrupt copy is rewritten in place",
		    corrupt_copy_is_rewritten_in_place },
		{ "no good copy changes nothing",
		    no_good_copy_changes_nothing },
		{ "hot photo tops up to max", hot_photo_tops_up_to_max },
		{ "cooled photo trims fullest stores",
		    cooled_photo_trims_fullest_stores },
		{ "no trim while a replica is pending",
		    no_trim_while_a_replica_is_pending },
		{ "read-only store gets no new copy",
		    read_only_store_gets_no_new_copy },
		{ "store missing from table is not lost",
		    store_missing_from_table_is_not_lost },
		{ "lost member refills on the group's replacement",
		    lost_member_refills_on_the_groups_replacement },
		{ "crowded group still spreads over zones",
		    crowded_group_still_spreads_over_zones },
		{ "trims take copies outside the group first",
		    trims_take_copies_outside_the_group_first },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
