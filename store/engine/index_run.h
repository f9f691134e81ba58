/* A sealed, sorted run of index entries packed to 12-14 bytes each: the
 * in-memory index of a sealed volume, and the bulk of the active one.
 * Keys are split into a high prefix (0, 8 or 16 bits) held once in a
 * directory of start positions, and a suffix stored in every entry; each
 * entry also holds a 32-bit value and a 16-bit length. */
#ifndef STORE_INDEX_RUN_H
#define STORE_INDEX_RUN_H

#include <stddef.h>
#include <stdint.h>

/* Lengths at or above this are stored as it: the run keeps 16 bits, and
 * the caller keeps the exact value of such rare entries elsewhere. */
#define IDX_LEN_BIG 0xffffu

/* One key, its 32-bit value (opaque here, never 0) and its length (opaque
 * here too; a run keeps min(len, IDX_LEN_BIG)). */
struct idx_kv {
	uint64_t key;
	uint32_t val;
	uint32_t len;
};

struct idx_run {
	uint8_t *ent;  /* n entries of kbytes + 6 bytes, by key; owned */
	uint32_t *dir; /* (1 << pbits) + 1 start indexes; owned; NULL if
			   pbits is 0 */
	size_t n;
	uint8_t pbits;	/* high key bits held by dir instead of by entries */
	uint8_t kbytes; /* key suffix bytes per entry: (64 - pbits) / 8 */
};

void idx_run_init(struct idx_run *r);
void idx_run_free(struct idx_run *r);

uint64_t idx_run_key(const struct idx_run *r, size_t i);
uint32_t idx_run_val(const struct idx_run *r, size_t i);
void idx_run_set_val(struct idx_run *r, size_t i, uint32_t val);
/* The entry's length, clamped to IDX_LEN_BIG. */
uint32_t idx_run_len(const struct idx_run *r, size_t i);
void idx_run_set_len(struct idx_run *r, size_t i, uint32_t len);

/* Index of the first entry whose key is >= key (n when none). */
size_t idx_run_lower_bound(const struct idx_run *r, uint64_t key);
/* 1 and *pos when key is present, else 0. */
int idx_run_find(const struct idx_run *r, uint64_t key, size_t *pos);

/* Builds *out (which must be initialised and empty, distinct from a) from
 * run a merged with b[0..bn) (sorted by key, keys distinct). On equal keys
 * b wins. a is left untouched. 0 or -ENOMEM (out stays empty). */
int idx_run_merge(struct idx_run *out, const struct idx_run *a,
    const struct idx_kv *b, size_t bn);

/* Bytes the allocator really holds for this run (malloc_usable_size). */
size_t idx_run_bytes(const struct idx_run *r);

#endif
