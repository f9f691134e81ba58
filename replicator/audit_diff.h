/* The audit's comparison of one photo's record with what the stores list,
 * as a pure function, plus the orphan rule. The audit (audit.c) gathers
 * the listings and records and acts on what these return.
 *
 * Findings for one key:
 * - missing: the record is active and names a store that is up and listed
 *   everything, but that store has no live needle for it -> rewrite there.
 * - leftover: the record is deleted and a store still has a live needle ->
 *   tombstone it now (a deleted photo is never served or repaired).
 * - orphan: a live needle with no record (never registered), or on a store
 *   the record does not name, or with another cookie -> deleted only when
 *   the orphan rule says so, and adopted instead when it is a good copy an
 *   under-replicated record can take.
 * A store's deleted entry is never evidence that a photo was deleted
 * (trims and orphan removals leave them too): only the leader says so. */
#ifndef REPL_AUDIT_DIFF_H
#define REPL_AUDIT_DIFF_H

#include <stddef.h>
#include <stdint.h>

#define REPL_AUDIT_MAX_STORES 64

enum repl_rec_state {
	REPL_REC_NONE,
	REPL_REC_ACTIVE,
	REPL_REC_DELETED,
	REPL_REC_UNKNOWN /* the directory could not say: do nothing */
};

/* The key's state as the audit may act on it, from the code (Hs__Code) of
 * a Lookup answered at Redis's change-log head, and, when that is
 * NOT_FOUND, the leader's word that the photo was deleted. Nothing a store
 * lists enters here: its deleted entries are no evidence of a delete. */
enum repl_rec_state repl_audit_state(int lookup_code, int leader_deleted);

/* One store's listing entry for the key. */
struct repl_seen {
	uint32_t store;
	uint32_t cookie;
	int deleted; /* tombstone */
};

struct repl_diff {
	uint32_t missing[REPL_AUDIT_MAX_STORES];
	size_t nmissing;
	uint32_t leftover[REPL_AUDIT_MAX_STORES];
	size_t nleftover;
	uint32_t orphan[REPL_AUDIT_MAX_STORES];
	size_t norphan;
};

/* state/cookie/stores: the record (stores ignored unless ACTIVE).
 * listed: the stores whose full listing was read (only they can prove a
 * needle missing). seen: entries for this key from those listings. */
void repl_audit_diff(enum repl_rec_state state, uint32_t cookie,
    const uint32_t *stores, size_t nstores, const uint32_t *listed,
    size_t nlisted, const struct repl_seen *seen, size_t nseen,
    struct repl_diff *out);

/* The orphan rule. A store's written_ms is at or after the needle's write
 * (0 from an older store: unknown), so an orphan is deleted when it was
 * written more than grace ago (when known),
 * or when an earlier audit already saw it as an orphan at least grace ago
 * (first_seen_ms: 0 = never). Returns 1 to delete now. */
int repl_orphan_due(int64_t first_seen_ms, int64_t written_ms, int64_t now_ms,
    int64_t grace_ms);

/* The halt rule: 1 when orphans of a store's needles (live, as listed)
 * are more than fraction of them, so the audit deletes none of that
 * store's orphans (lost or damaged metadata looks like that). */
int repl_orphan_halt(uint64_t orphans, uint64_t needles, double fraction);

/* A copy seen on a store the record does not name (see repl_adopt_check). */
struct repl_copy {
	uint32_t cookie;
	uint64_t size;
	const uint8_t *sha; /* from the listing, NULL when it has none */
};

/* The record's side of an adoption. */
struct repl_adoptee {
	uint32_t cookie;
	uint64_t size;
	const uint8_t *sha; /* 32 bytes */
	size_t nstores;	    /* good copies now (listed, live) */
	uint32_t target;    /* its target (0: def) */
};

enum repl_adopt { REPL_ADOPT_NO, REPL_ADOPT_YES, REPL_ADOPT_READ };

/* May the copy join the record? NO unless the record is under its target
 * and key (the caller's), cookie and size match; YES when the listing's
 * SHA-256 matches the record's; READ when the listing has none (adopt only
 * after a Read whose bytes match). */
enum repl_adopt repl_adopt_check(const struct repl_adoptee *rec, uint32_t def,
    const struct repl_copy *c);

#endif
