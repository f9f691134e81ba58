/* Every photo record, in memory, on every directory: a dense array of
 * fixed 88-byte records plus an open-addressing index of 4-byte slots, so
 * a million records cost under 100 bytes each. Store ids are interned to
 * 16-bit slots to keep the replica list inline. Readers (lookups) share a
 * rwlock; the one applier (writer or follower sync) takes it exclusively.
 *
 * Records are applied by change-log sequence: a record older than the one
 * held is ignored, so replaying the log or a reload twice changes nothing.
 * applied_seq is the highest sequence up to which every change is held. */
#ifndef DIR_RECORDS_H
#define DIR_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"

#define DIR_MAX_REPLICAS 6 /* inline replica slots; MAX_REPLICA_COUNT <= it */

typedef struct dir_records dir_records;

/* A record copied out for a reader: the proto fields point into it. */
struct dir_rec_view {
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	uint32_t stores[DIR_MAX_REPLICAS];
	uint8_t sha[32];
};

struct dir_rec_stats {
	uint64_t active, deleted, bytes, total;
};

int dir_records_open(dir_records **out);
void dir_records_close(dir_records *r);

/* Applies r if it is newer than the held record (by seq). 1 applied, 0
 * ignored as stale, -1 invalid (bad sha length, too many stores, key 0) or
 * out of memory. Does not move applied_seq. */
int dir_records_apply(dir_records *t, const Hs__PhotoRecord *r);

/* Copies the record of key into v (v->rec is then a valid message whose
 * pointers are into v). 0, or -1 if unknown. */
int dir_records_get(dir_records *t, uint64_t key, struct dir_rec_view *v);

/* 1 if key is held (any state). */
int dir_records_has(dir_records *t, uint64_t key);

uint64_t dir_records_applied(dir_records *t);
/* Raises applied_seq to seq (never lowers it). */
void dir_records_set_applied(dir_records *t, uint64_t seq);

void dir_records_stats(dir_records *t, struct dir_rec_stats *s);

/* The up to max smallest keys greater than after, ascending, into out (any
 * state); *more = 1 if greater keys were left out. For paged listings in
 * key order (ListRecords). */
size_t dir_records_keys_after(dir_records *t, uint64_t after, uint64_t *out,
    size_t max, int *more);

#endif
