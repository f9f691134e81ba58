/* ListRecords and Restore (see restore.h). Both run on the leader, so a
 * backup reflects every acknowledged write and a restore is fenced by the
 * lease; a follower forwards them. Restore runs on the writer thread: each
 * record is one fenced script (dir_script_restore, scripts.c) that leaves a key holding a
 * record alone, else takes a new seq and appends the record to the change
 * log, so followers, the replicator and the stores learn it through the
 * normal feed. A deleted record also leaves its store tombstones, so no
 * store keeps serving a photo the backup says was deleted. */
#include "restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dir_forward.h"
#include "photo_id.h"
#include "redis_keys.h"
#include "scripts.h"
#include "tombstones.h"
#include "writer_impl.h"

#define LIST_MAX 10000
#define LIST_DEFAULT 1000
#define RESTORE_MAX 1000
#define MAX_PHOTO_SIZE (64u << 20)
#define RST_KEYS 5
#define RST_ARGS (RST_KEYS + 6 + DIR_MAX_REPLICAS)
_Static_assert(RST_ARGS <= RT_REDIS_MAX_ARGS, "the script's arguments fit");

/* --- ListRecords --- */

void
dir_list_records(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__ListRecordsRequest *q = (const Hs__ListRecordsRequest *)m;
	if (q->limit > LIST_MAX) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "ListRecords returns at most %d records a call, not %" PRIu32,
		    LIST_MAX, q->limit);
		return;
	}
	if (!dir_is_leader(d, NULL, 0, NULL)) {
		dir_forward(d, call, m);
		return;
	}
	/* A leader that has not loaded its records would list a part of
	 * them: a backup must never be short. */
	if (!dir_loaded_or_fail(d, call))
		return;
	size_t limit = q->limit ? q->limit : LIST_DEFAULT;
	uint64_t *keys = malloc(limit * sizeof(*keys));
	struct dir_rec_view *v = malloc(limit * sizeof(*v));
	Hs__PhotoRecord **pp = malloc(limit * sizeof(*pp));
	if (keys == NULL || v == NULL || pp == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	/* The head first: every record listed is at least this new. */
	Hs__ListRecordsReply r = HS__LIST_RECORDS_REPLY__INIT;
	r.head_seq = dir_records_applied(d->recs);
	int more;
	size_t n = dir_records_keys_after(d->recs, q->after_key, keys, limit,
	    &more);
	for (size_t i = 0; i < n; i++)
		if (dir_records_get(d->recs, keys[i], &v[r.n_records]) == 0) {
			/* The view's pointers are into itself: in place. */
			pp[r.n_records] = &v[r.n_records].rec;
			r.n_records++;
		}
	r.records = pp;
	r.more = more;
	rpc_reply(call, &r.base);
out:
	free(keys);
	free(v);
	free(pp);
}

/* --- Restore --- */

/* The script's arguments for rec. Buffers are the struct's own, except
 * packed (the caller's). */
struct rst_args {
	char pkey[32], cookie[16], size[24], maxlen[24];
	char tomb[DIR_MAX_REPLICAS][48];
	struct rt_redis_args args;
};

static void
rst_build(struct dir *d, struct rst_args *a, const Hs__PhotoRecord *rec,
    const uint8_t *packed, size_t plen, const char *lease)
{
	dir_photo_script_keys(&a->args, rec->id->key, a->pkey);
	snprintf(a->cookie, sizeof(a->cookie), "%" PRIu32, rec->id->cookie);
	snprintf(a->size, sizeof(a->size), "%" PRIu64, rec->size);
	snprintf(a->maxlen, sizeof(a->maxlen), "%" PRId64, d->cfg.log_max_len);
	rt_redis_argz(&a->args, lease);
	rt_redis_arg(&a->args, (const char *)packed, plen);
	rt_redis_argz(&a->args, a->cookie);
	rt_redis_arg(&a->args, (const char *)rec->sha256.data, 32);
	rt_redis_argz(&a->args, a->size);
	rt_redis_argz(&a->args, a->maxlen);
	if (rec->state == HS__PHOTO_STATE__PHOTO_DELETED)
		dir_tombstone_members(rec, a->tomb, &a->args);
}

/* Commits one record into r's counts. 0, or -1 with the call answered. */
static int
restore_one(struct dir_job *j, const char *lease, const Hs__PhotoRecord *in,
    Hs__RestoreReply *r)
{
	struct dir *d = j->d;
	struct rst_args a;
	char err[256];
	Hs__PhotoRecord rec = *in;
	rec.seq = 0;
	if (rec.target_replicas == 0)
		rec.target_replicas = (uint32_t)d->cfg.default_replicas;
	size_t plen = hs__photo_record__get_packed_size(&rec);
	uint8_t *packed = malloc(plen);
	if (packed == NULL) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	hs__photo_record__pack(&rec, packed);
	rst_build(d, &a, &rec, packed, plen, lease);
	redisReply *rep = rt_redis_eval(d->writer.link, &dir_script_restore,
	    RST_KEYS, a.args.argc, a.args.argv, a.args.lens, err, sizeof(err));
	free(packed);
	if (dir_writer_script_failed(j, rep, err)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return -1;
	}
	long long how = rep->element[0]->integer;
	uint64_t seq = (uint64_t)rep->element[1]->integer;
	freeReplyObject(rep);
	if (how == 0) {
		r->kept++;
		return 0;
	}
	r->restored++;
	r->seq = seq;
	dir_writer_applied(d, &rec, seq, "photo.restored");
	return 0;
}

static void
restore_job(struct dir_job *j)
{
	const Hs__RestoreRequest *q = (const Hs__RestoreRequest *)j->req;
	char lease[128], err[256];
	if (!dir_writer_lead_or_forward(j, lease, sizeof(lease)))
		return;
	if (dir_writer_ensure_synced(j->d, err, sizeof(err)) != 0) {
		rpc_fail(j->call, HS_UNAVAILABLE,
		    "cannot catch up with the change log: %s; retry", err);
		return;
	}
	Hs__RestoreReply r = HS__RESTORE_REPLY__INIT;
	r.seq = dir_records_applied(j->d->recs);
	for (size_t i = 0; i < q->n_records; i++)
		if (restore_one(j, lease, q->records[i], &r) != 0)
			return; /* answered; a resend counts these as kept */
	rpc_reply(j->call, &r.base);
}

/* Why rec cannot be restored (into why), or 0 if it can. */
static int
record_bad(struct dir *d, const Hs__PhotoRecord *rec, char *why, size_t len)
{
	if (rec->id == NULL || rec->id->key == 0)
		snprintf(why, len, "no photo id (or key 0)");
	else if (rec->sha256.len != 32)
		snprintf(why, len, "sha256 is %zu bytes, not 32",
		    rec->sha256.len);
	else if (rec->size > MAX_PHOTO_SIZE)
		snprintf(why, len, "size %" PRIu64 " is over 64 MiB",
		    rec->size);
	else if (rec->n_stores > DIR_MAX_REPLICAS)
		snprintf(why, len, "%zu stores, at most %d", rec->n_stores,
		    DIR_MAX_REPLICAS);
	else if (rec->state != HS__PHOTO_STATE__PHOTO_ACTIVE &&
	    rec->state != HS__PHOTO_STATE__PHOTO_DELETED)
		snprintf(why, len, "state %d is neither ACTIVE nor DELETED",
		    (int)rec->state);
	else if (rec->target_replicas != 0 &&
	    (rec->target_replicas < d->cfg.min_replicas ||
		rec->target_replicas > d->cfg.max_replicas))
		snprintf(why, len,
		    "target %" PRIu32 " is outside %" PRId64 "..%" PRId64,
		    rec->target_replicas, d->cfg.min_replicas,
		    d->cfg.max_replicas);
	else
		return 0;
	return 1;
}

void
dir_restore(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__RestoreRequest *q = (const Hs__RestoreRequest *)m;
	char why[128];
	if (q->n_records > RESTORE_MAX) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "Restore takes at most %d records a call, not %zu; split "
		    "the batch",
		    RESTORE_MAX, q->n_records);
		return;
	}
	for (size_t i = 0; i < q->n_records; i++)
		if (record_bad(d, q->records[i], why, sizeof(why))) {
			rpc_fail(call, HS_INVALID_ARGUMENT,
			    "Restore record #%zu: %s; nothing was restored",
			    i + 1, why);
			return;
		}
	if (!dir_is_leader(d, NULL, 0, NULL)) {
		dir_forward(d, call, m);
		return;
	}
	dir_writer_push(d, call, m, restore_job);
}
