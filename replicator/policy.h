/* The replication policy as pure functions of a record, the store table and
 * a photo's access rate: what a photo's target is, which priority its task
 * gets, and the plan a worker carries out (where to copy, what to remove,
 * which replicas to trim). No I/O here, so every rule is unit-tested.
 *
 * Rules (docs/replicator.md):
 * - target: MAX_REPLICA_COUNT while the rate exceeds ACCESS_RATE_THRESHOLD;
 *   back to DEFAULT once it falls below half the threshold (hysteresis);
 *   never below MIN_REPLICA_COUNT.
 * - healthy replica: on a store that is UP or READONLY and not reported
 *   bad. A replica on a store DOWN for less than the grace period is
 *   "pending": neither healthy nor lost. Past the grace period (or on a
 *   store unknown to the directory) it is lost; its location leaves the
 *   record only once replacements are in (repl_removable_lost).
 * - a photo with fewer than MIN healthy copies is repaired at once: its
 *   pending copies do not count (the grace is for photos that still have
 *   MIN).
 * - a bad replica (corrupt, or missing on a store that is up) on a store
 *   that is UP is rewritten in place from a good copy.
 * - new replicas go to zones the photo has no copy in yet when there are
 *   such stores (as Allocate spreads them), then to the least loaded UP
 *   stores (most free bytes); excess replicas leave zones holding more
 *   than one copy first, then copies outside the photo's write group go,
 *   then those on the fullest stores (least free fraction). */
#ifndef REPL_POLICY_H
#define REPL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define REPL_MAX_LOC 16 /* most replica locations a plan handles */

struct repl_store {
	uint32_t id;
	int state; /* Hs__StoreState */
	uint64_t free_bytes, capacity_bytes;
	int64_t last_heartbeat_ms; /* wall clock */
	char zone[32];		   /* failure domain; "" is a zone too */
};

struct repl_policy {
	uint32_t min, def, max;
	double threshold; /* requests/min */
	int64_t grace_ms; /* DOWN longer than this: replicas are lost */
};

struct repl_photo_state {
	const uint32_t *stores; /* the record's locations */
	size_t nstores;
	uint32_t target;     /* the record's target (0: DEFAULT) */
	const uint32_t *bad; /* replicas reported corrupt or missing */
	size_t nbad;
	double rate;   /* requests/min */
	int may_lower; /* rates are warm: cooling may lower targets */
	uint64_t size; /* bytes, for choosing stores with room */
	/* The stores of the photo's write group (its key names it), or none:
	 * trims take copies outside the group first. */
	const uint32_t *group;
	size_t ngroup;
	/* A store the photo's group is being refilled on (0: none): chosen
	 * for a new copy when it may take one and is as good a pick as any,
	 * so a lost member's photos land together on one replacement. */
	uint32_t prefer;
};

struct repl_plan {
	int prio; /* enum repl_prio, or -1: nothing to do */
	const char
	    *kind; /* "repair", "replace", "top_up", "respread", "trim", "" */
	uint32_t target; /* the target after this plan */
	int target_changed;
	uint32_t healthy[REPL_MAX_LOC];
	size_t nhealthy;
	size_t npending; /* on stores DOWN within the grace period */
	size_t nunknown; /* on stores not in the table (yet): retry */
	uint32_t add[REPL_MAX_LOC]; /* new locations to copy to */
	size_t nadd;
	int respread; /* add is one copy into a zone the photo lacks */
	uint32_t rewrite[REPL_MAX_LOC]; /* bad copies to overwrite in place */
	size_t nrewrite;
	uint32_t lost[REPL_MAX_LOC]; /* given up on: may leave the record
				      * once replacements are in */
	size_t nlost;
	uint32_t trim[REPL_MAX_LOC]; /* healthy extras: leave the record,
				      * then Delete (kind TRIM) */
	size_t ntrim;
};

/* The target for a photo with record target cur and rate. */
uint32_t repl_target(const struct repl_policy *p, uint32_t cur, double rate,
    int may_lower);

/* Fills plan for one photo. now_ms is wall-clock (compared with heartbeat
 * times). stores: the directory's store table. */
/* 1 if x is one of the n ids in v (store ids are few per photo). */
int repl_has_id(const uint32_t *v, size_t n, uint32_t x);

void repl_plan_photo(const struct repl_policy *p,
    const struct repl_store *stores, size_t nstores,
    const struct repl_photo_state *ph, int64_t now_ms, struct repl_plan *plan);

/* How many of plan's lost locations may leave the record once nsent of
 * its new copies are written and committed with it: all of them when the
 * photo then has its target in healthy copies, else none, so the record
 * never names fewer copies that are not proven gone than it did. */
size_t repl_removable_lost(const struct repl_plan *plan, size_t nsent);

/* 1 if a store is past the grace period (DOWN that long). */
int repl_store_lost(const struct repl_policy *p, const struct repl_store *s,
    int64_t now_ms);

#endif
