/* The audit's listings (audit.c): every store that is not DOWN listed
 * with ListNeedles (deleted needles included), the stores at once, a
 * thread each, merged and sorted by key. Internal to the replicator. */
#ifndef REPL_AUDIT_LIST_H
#define REPL_AUDIT_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "audit_act.h"
#include "repl.h"

/* One needle as a store listed it. */
struct audit_entry {
	uint64_t key;
	uint32_t cookie;
	uint32_t store;
	int deleted, has_sha;
	uint64_t size;
	uint8_t sha[32];
};

/* Lists every store that is not DOWN into *v (the caller's to free),
 * sorted by key then store; the ids of the stores listed whole go to
 * listed[*nlisted...] (room for REPL_MAX_STORES), their live needles are
 * counted in o for the orphan halt rule. Returns the number of entries. */
size_t audit_list_all(struct repl *r, struct audit_orphans *o, uint32_t *listed,
    size_t *nlisted, struct audit_entry **v);

#endif
