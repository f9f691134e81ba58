/* Change-log catch-up and full reload (see changelog.h).
 *
 * Why the head is read before the log: an entry with seq <= head was
 * committed before we looked, so if XRANGE does not return it the log was
 * trimmed past it (not "not yet written"). Why a reload is consistent: the
 * head is read before the SCAN, records changed during the scan carry a
 * seq above it, and the catch-up that follows re-applies them; applying is
 * by seq, so seeing one twice changes nothing. */
#include "changelog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scripts.h"

#define SYNC_BATCH 1000
#define SCAN_BATCH "1000"

int
dir_log_head(rt_redis *r, uint64_t *head, char *err, size_t errlen)
{
	redisReply *rep = rt_redis_cmd(r, err, errlen, "GET " RK_SEQ);
	if (rep == NULL)
		return -1;
	int ok = rep->type == REDIS_REPLY_NIL ||
	    rep->type == REDIS_REPLY_STRING;
	if (ok)
		*head = rep->type == REDIS_REPLY_NIL ?
		    0 :
		    strtoull(rep->str, NULL, 10);
	else
		snprintf(err, errlen, "GET %s: unexpected reply", RK_SEQ);
	freeReplyObject(rep);
	return ok ? 0 : -1;
}

void
dir_log_free(Hs__PhotoRecord **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hs__photo_record__free_unpacked(recs[i], NULL);
	free(recs);
}

/* The record of one XRANGE entry [id, [field, value, ...]], or NULL. */
static Hs__PhotoRecord *
entry_record(const redisReply *e, uint64_t *seq)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	*seq = strtoull(e->element[0]->str, NULL, 10);
	const redisReply *f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, "rec") == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return hs__photo_record__unpack(NULL,
			    f->element[i + 1]->len,
			    (const uint8_t *)f->element[i + 1]->str);
	return NULL;
}

int
dir_log_read(rt_redis *r, uint64_t from, size_t max, Hs__PhotoRecord ***recs,
    size_t *n, int *trimmed, char *err, size_t errlen)
{
	uint64_t head;
	*recs = NULL;
	*n = 0;
	*trimmed = 0;
	if (dir_log_head(r, &head, err, errlen) != 0)
		return -1;
	if (head <= from)
		return 0;
	/* hiredis formats only %s/%b/%d-style: numbers go in as text. */
	char start[32], count[32];
	snprintf(start, sizeof(start), "%" PRIu64 "-0", from + 1);
	snprintf(count, sizeof(count), "%zu", max);
	redisReply *rep = rt_redis_cmd(r, err, errlen,
	    "XRANGE " RK_LOG " %s + COUNT %s", start, count);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "XRANGE %s: %s", RK_LOG,
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
						     "unexpected reply");
		freeReplyObject(rep);
		return -1;
	}
	Hs__PhotoRecord **out = calloc(rep->elements + 1, sizeof(*out));
	size_t k = 0;
	uint64_t expect = from + 1;
	for (size_t i = 0; out != NULL && i < rep->elements; i++) {
		uint64_t seq = 0;
		Hs__PhotoRecord *pr = entry_record(rep->element[i], &seq);
		if (pr == NULL || seq != expect || pr->seq != seq) {
			/* A hole: trimmed (first entry) or a malformed entry;
			 * either way only a reload is sure to be complete. */
			if (pr != NULL)
				hs__photo_record__free_unpacked(pr, NULL);
			*trimmed = 1;
			break;
		}
		out[k++] = pr;
		expect++;
	}
	if (rep->elements == 0)
		*trimmed = 1; /* head > from, yet nothing after from */
	freeReplyObject(rep);
	if (out == NULL) {
		snprintf(err, errlen, "out of memory reading the change log");
		return -1;
	}
	*recs = out;
	*n = k;
	return 0;
}

int
dir_log_sync(rt_redis *r, dir_records *t, uint64_t *applied, char *err,
    size_t errlen)
{
	int reloads = 0;
	for (;;) {
		Hs__PhotoRecord **recs;
		size_t n;
		int trimmed;
		uint64_t from = dir_records_applied(t);
		if (dir_log_read(r, from, SYNC_BATCH, &recs, &n, &trimmed, err,
			errlen) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			dir_records_apply(t, recs[i]);
			dir_records_set_applied(t, recs[i]->seq);
		}
		dir_log_free(recs, n);
		if (applied != NULL)
			*applied += n;
		if (trimmed && n == 0) {
			if (reloads++ == 2) {
				snprintf(err, errlen,
				    "change log keeps moving "
				    "past us; giving up this round");
				return -1;
			}
			rt_log_warn("change log no longer holds seq %" PRIu64
				    ": reloading every record",
			    from + 1);
			if (dir_log_reload(r, t, err, errlen) != 0)
				return -1;
			continue;
		}
		if (n < SYNC_BATCH && !trimmed)
			return 0;
	}
}

/* Applies one batch of pipelined HGET replies. */
static int
reload_batch(rt_redis *r, redisContext *c, dir_records *t,
    const redisReply *keys, char *err, size_t errlen)
{
	for (size_t i = 0; i < keys->elements; i++)
		redisAppendCommand(c, "HGET %b rec", keys->element[i]->str,
		    (size_t)keys->element[i]->len);
	for (size_t i = 0; i < keys->elements; i++) {
		void *v = NULL;
		if (redisGetReply(c, &v) != REDIS_OK || v == NULL) {
			snprintf(err, errlen, "reload: %s", c->errstr);
			rt_redis_reset(r);
			return -1;
		}
		redisReply *rep = v;
		if (rep->type == REDIS_REPLY_STRING) {
			Hs__PhotoRecord *pr = hs__photo_record__unpack(NULL,
			    rep->len, (const uint8_t *)rep->str);
			if (pr == NULL || dir_records_apply(t, pr) < 0)
				rt_log_warn("reload: skipped a malformed "
					    "record %s",
				    keys->element[i]->str);
			if (pr != NULL)
				hs__photo_record__free_unpacked(pr, NULL);
		}
		freeReplyObject(rep);
	}
	return 0;
}

int
dir_log_reload(rt_redis *r, dir_records *t, char *err, size_t errlen)
{
	uint64_t head;
	char cursor[32] = "0";
	if (dir_log_head(r, &head, err, errlen) != 0)
		return -1;
	do {
		redisReply *rep = rt_redis_cmd(r, err, errlen,
		    "SCAN %s MATCH " RK_PHOTO_PREFIX "* COUNT " SCAN_BATCH,
		    cursor);
		if (rep == NULL)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "SCAN: unexpected reply");
			freeReplyObject(rep);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		redisContext *c = rt_redis_ctx(r, err, errlen);
		int rc = c ?
		    reload_batch(r, c, t, rep->element[1], err, errlen) :
		    -1;
		freeReplyObject(rep);
		if (rc != 0)
			return -1;
	} while (strcmp(cursor, "0") != 0);
	dir_records_set_applied(t, head);
	return 0;
}
