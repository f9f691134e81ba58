/* The audit's destructive and record-changing actions, kept apart from the
 * scan that finds them (audit.c): orphans are gathered over the whole pass
 * and counted per store, then deleted by the orphan rule only where a
 * store's count stays within AUDIT_ORPHAN_HALT_FRACTION of its needles (a
 * lost or damaged metadata Redis makes every needle look like an orphan);
 * good copies on stores an under-replicated record does not name are
 * adopted into it instead. Internal to the replicator. */
#ifndef REPL_AUDIT_ACT_H
#define REPL_AUDIT_ACT_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"
#include "repl.h"

#define REPL_AUDIT_MAX_HALTED 64

struct audit_summary {
	uint64_t checked, missing, orphans, leftovers, adopted, held;
	uint32_t halted[REPL_AUDIT_MAX_HALTED]; /* stores whose orphans stay */
	size_t nhalted;
};

struct audit_orphan {
	uint64_t key;
	uint32_t cookie, store;
};

/* One pass's orphans and each listed store's live needle count. */
struct audit_orphans {
	struct audit_orphan *v;
	size_t n, cap;
	uint32_t store[256];
	uint64_t needles[256], count[256];
	size_t nstores;
};

/* Counts one live needle listed by store. */
void audit_orphans_needle(struct audit_orphans *o, uint32_t store);

/* Notes an orphan of this pass. 0, or -1 out of memory (not noted: it is
 * then kept, the safe side). */
int audit_orphans_note(struct audit_orphans *o, uint64_t key, uint32_t cookie,
    uint32_t store);

/* After the pass: ages each noted orphan in Redis (rc; NULL: none is aged
 * or deleted) and deletes those due (kind ORPHAN), except on stores where
 * the halt rule holds, which are logged, published and listed in s. full:
 * the pass saw every key (sightings it did not repeat are forgotten). */
void audit_orphans_act(struct repl *r, redisContext *rc,
    struct audit_orphans *o, int full, struct audit_summary *s);

void audit_orphans_free(struct audit_orphans *o);

/* Adds store's copy (cookie, size, sha: NULL when the listing has none) to
 * the record rec, which has *nstores good copies as listed, when
 * repl_adopt_check allows it, reading it back first
 * when the listing has no SHA-256; commits with the record's seq (*seq,
 * the new one after) and our epoch. 1 adopted (*nstores is then one
 * more), else 0. */
int audit_adopt(struct repl *r, const Hs__PhotoRecord *rec, size_t *nstores,
    uint64_t *seq, uint32_t store, uint64_t size, const uint8_t *sha);

/* 1 if the leader says the photo is deleted (rather than never
 * registered): only its word, never a store's deleted entry, makes copies
 * leftovers of a delete. */
int audit_leader_says_deleted(struct repl *r, uint64_t key, uint32_t cookie);

#endif
