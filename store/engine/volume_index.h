/* Per-volume in-memory index: key -> 32-bit value (offset/8 plus a deleted
 * bit) and the needle's length on disk in 8-byte units (len8), so that a
 * read is one positional read of the whole needle. A sorted packed run
 * (index_run.h) holds most entries in 12 bytes; the active volume adds a
 * small open-addressing memtable for recent appends that is merged into
 * the run when it fills. Sealed volumes have no memtable. A len8 that does
 * not fit 16 bits (a needle of 512 KiB or more) is kept exactly in a side
 * table keyed by offset, 8 bytes for each such needle. Not thread-safe: the
 * engine serialises access with its index lock. */
#ifndef STORE_VOLUME_INDEX_H
#define STORE_VOLUME_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "index_run.h"

#define VIDX_DELETED 0x80000000u  /* the key is tombstoned */
#define VIDX_OFF_MASK 0x7fffffffu /* needle offset / 8 */
#define VIDX_MAX_OFF8 VIDX_OFF_MASK

/* A needle too long for the run's 16-bit length. */
struct vidx_big {
	uint32_t off8, len8;
};

struct vidx {
	struct idx_run run;
	uint64_t *mkeys; /* memtable slots; owned; mvals[i] == 0 marks empty */
	uint32_t *mvals;
	uint16_t *mlens;      /* len8, clamped to IDX_LEN_BIG */
	size_t mcap, mn;      /* slots (power of two or 0), used slots */
	struct vidx_big *big; /* ascending off8; owned */
	size_t nbig, capbig;
};

void vidx_init(struct vidx *x);
void vidx_free(struct vidx *x);

/* 1, *val and *len8 (unless NULL) when the key is in this volume's
 * index, else 0. */
int vidx_find(const struct vidx *x, uint64_t key, uint32_t *val,
    uint32_t *len8);
/* Inserts or overwrites; val must be non-zero, len8 is the needle's
 * needle_total_size / 8. 0 or -ENOMEM. */
int vidx_set(struct vidx *x, uint64_t key, uint32_t val, uint32_t len8);
/* Merges the memtable into the run and frees it (volume sealed). */
int vidx_seal(struct vidx *x);
/* Drops every entry whose offset/8 is >= off8 (rollback of a failed
 * append batch). 0 or -ENOMEM (index unchanged). */
int vidx_drop_from(struct vidx *x, uint32_t off8);
/* Replaces the contents with kv[0..n) (sorted by key, distinct; .len is
 * len8). */
int vidx_replace_sorted(struct vidx *x, const struct idx_kv *kv, size_t n);

size_t vidx_count(const struct vidx *x);
/* Bytes the allocator holds for this index (malloc_usable_size). */
size_t vidx_bytes(const struct vidx *x);

/* Fills out[0..max) with the smallest keys > after (all keys when !has_after),
 * ascending, .len holding len8; returns how many. */
size_t vidx_collect(const struct vidx *x, int has_after, uint64_t after,
    struct idx_kv *out, size_t max);

#endif
