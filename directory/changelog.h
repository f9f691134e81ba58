/* Reading the committed metadata back from Redis: the change log (a
 * stream whose entry ids are the sequence numbers) for catching up, and
 * the per-photo hashes for a full reload. Used by followers, by a new
 * leader before it serves, and by the CatchUp method. */
#ifndef DIR_CHANGELOG_H
#define DIR_CHANGELOG_H

#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"
#include "records.h"
#include "redis.h"

/* The last sequence number handed out (GET hs:seq). 0 or -1 + err. */
int dir_log_head(rt_redis *r, uint64_t *head, char *err, size_t errlen);

/* Up to max entries with seq > from, in order. *recs is a malloc'd array of
 * unpacked records (free with dir_log_free). *trimmed is set when entries
 * right after from are gone (the log was trimmed past it). 0 or -1 + err. */
int dir_log_read(rt_redis *r, uint64_t from, size_t max,
    Hs__PhotoRecord ***recs, size_t *n, int *trimmed, char *err, size_t errlen);
void dir_log_free(Hs__PhotoRecord **recs, size_t n);

/* Brings t up to the log head: applies the entries after its applied_seq,
 * or reloads fully when the log no longer holds them. *applied counts the
 * records applied (may be NULL). 0 or -1 + err. */
int dir_log_sync(rt_redis *r, dir_records *t, uint64_t *applied, char *err,
    size_t errlen);

/* Reads every photo hash into t, then sets applied_seq to the head read
 * before the scan (later changes come from the log). 0 or -1 + err. */
int dir_log_reload(rt_redis *r, dir_records *t, char *err, size_t errlen);

#endif
