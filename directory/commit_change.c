/* Delete and UpdateLocations on the writer thread: a compare-and-set on
 * the record's seq (dir_script_update), so a leader whose memory is stale
 * cannot overwrite a newer record. A lost CAS catches up and tries once
 * more, then answers ABORTED. A Delete also leaves the store tombstones in
 * the same script (tombstones.c sends them), evicts the photo from the
 * cache, and is answered by delete_ack.c once the stores that may hold it
 * have its tombstone or can no longer serve it by hint (the writer thread
 * never waits for them). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_evict.h"
#include "clock.h"
#include "delete_ack.h"
#include "photo_id.h"
#include "scripts.h"
#include "tombstones.h"
#include "web_purge.h"
#include "writer_impl.h"

#define UPD_KEYS 7
#define UPD_ARGS (UPD_KEYS + 6 + DIR_MAX_REPLICAS)
_Static_assert(UPD_ARGS <= RT_REDIS_MAX_ARGS, "the script's arguments fit");

/* What commit_update did. */
enum { CHANGE_ANSWERED = 0, CHANGE_DONE = 1, CHANGE_CAS_LOST = -2 };

/* What a change commits: the next record, the seq it replaces, whether it
 * is a delete, and the replicator epoch it was sent under (0: none). */
struct change {
	Hs__PhotoRecord *next;
	uint64_t cur_seq;
	int is_delete;
	uint64_t repl_epoch;
};

/* The update script's arguments for next, held at cur_seq. All buffers
 * are the struct's own, except packed (the caller's, malloc'd). */
struct upd_args {
	char pkey[32], cur[24], maxlen[24], cache[PHOTO_CACHE_KEY_LEN + 1];
	char epoch[24];
	char tomb[DIR_MAX_REPLICAS][48];
	struct rt_redis_args args;
};

static void
upd_build(struct dir *d, struct upd_args *a, const struct change *ch,
    const uint8_t *packed, size_t plen, const char *lease)
{
	const Hs__PhotoRecord *next = ch->next;
	int is_delete = ch->is_delete;
	dir_photo_script_keys(&a->args, next->id->key, a->pkey);
	photo_cache_key(next->id->key, next->id->cookie, a->cache);
	snprintf(a->cur, sizeof(a->cur), "%" PRIu64, ch->cur_seq);
	snprintf(a->epoch, sizeof(a->epoch), "%" PRIu64, ch->repl_epoch);
	snprintf(a->maxlen, sizeof(a->maxlen), "%" PRId64, d->cfg.log_max_len);
	rt_redis_argz(&a->args, a->cache);
	rt_redis_argz(&a->args, RK_REPLICATOR_EPOCH);
	rt_redis_argz(&a->args, lease);
	rt_redis_arg(&a->args, (const char *)packed, plen);
	rt_redis_argz(&a->args, a->cur);
	rt_redis_argz(&a->args, a->maxlen);
	rt_redis_arg(&a->args, is_delete ? "1" : "0", 1);
	rt_redis_argz(&a->args, a->epoch);
	if (is_delete)
		dir_tombstone_members(next, a->tomb, &a->args);
}

/* Commits ch. DONE and *seq on success; ANSWERED if the call was answered
 * (failure); CAS_LOST if the record moved on (memory is then marked
 * dirty). */
static int
commit_update(struct dir_job *j, const char *lease, const struct change *ch,
    uint64_t *seq)
{
	struct dir *d = j->d;
	Hs__PhotoRecord *next = ch->next;
	struct upd_args a;
	char err[256];
	next->seq = 0;
	size_t plen = hs__photo_record__get_packed_size(next);
	uint8_t *packed = malloc(plen);
	if (packed == NULL) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return CHANGE_ANSWERED;
	}
	hs__photo_record__pack(next, packed);
	upd_build(d, &a, ch, packed, plen, lease);
	redisReply *rep = rt_redis_eval(d->writer.link, &dir_script_update,
	    UPD_KEYS, a.args.argc, a.args.argv, a.args.lens, err, sizeof(err));
	free(packed);
	if (dir_writer_script_failed(j, rep, err)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return CHANGE_ANSWERED;
	}
	long long how = rep->element[0]->integer;
	*seq = (uint64_t)rep->element[1]->integer;
	freeReplyObject(rep);
	if (how == -3) {
		rpc_fail(j->call, HS_FAILED_PRECONDITION,
		    "stale replicator: epoch %" PRIu64 " is older than the "
		    "current replicator's %" PRIu64
		    "; another replicator holds the lease, so this one must "
		    "stop acting",
		    ch->repl_epoch, *seq);
		return CHANGE_ANSWERED;
	}
	if (how == -2) {
		d->writer_dirty = 1;
		return CHANGE_CAS_LOST;
	}
	return CHANGE_DONE;
}

/* Leads, is caught up and holds the photo: 1 with its record in v and the
 * lease copied out; otherwise 0, the call answered (or forwarded). */
static int
prepare_change(struct dir_job *j, const Hs__PhotoId *id, char lease[128],
    struct dir_rec_view *v)
{
	char err[256], hex[PHOTO_ID_HEX_LEN + 1];
	if (!dir_writer_lead_or_forward(j, lease, 128))
		return 0;
	if (dir_writer_ensure_synced(j->d, err, sizeof(err)) != 0) {
		rpc_fail(j->call, HS_UNAVAILABLE,
		    "cannot catch up with the "
		    "change log: %s",
		    err);
		return 0;
	}
	if (dir_records_get(j->d->recs, id->key, v) != 0 ||
	    v->id.cookie != id->cookie) {
		photo_id_format(id->key, id->cookie, hex);
		rpc_fail(j->call, HS_NOT_FOUND, "no photo %s", hex);
		return 0;
	}
	return 1;
}

/* A delete is acknowledged only once no cache serves the photo (readers
 * trust a cache hit). 0, or 1 with the call answered UNAVAILABLE. */
static int
forget_or_fail(struct dir_job *j, const Hs__PhotoId *id)
{
	char err[512];
	if (dir_cache_forget(j->d->cache, id->key, id->cookie, err,
		sizeof(err)) == 0) {
		dir_purge_photo(j->d->purge, id->key, id->cookie);
		return 0;
	}
	rpc_fail(j->call, HS_UNAVAILABLE,
	    "%s; the delete is committed, retry it", err);
	return 1;
}

static void
delete_job(struct dir_job *j)
{
	const Hs__DeleteRequest *q = (const Hs__DeleteRequest *)j->req;
	struct dir_rec_view v;
	char lease[128];
	for (int attempt = 0;; attempt++) {
		if (!prepare_change(j, q->id, lease, &v))
			return;
		if (v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED) {
			/* A resend: committed already, but the first try may
			 * have failed to clear the cache. */
			if (forget_or_fail(j, q->id))
				return;
			dir_acks_wait(j->d->acks, j->d, j->call, &v.rec,
			    v.rec.seq);
			return;
		}
		struct change ch = { &v.rec, v.rec.seq, 1, 0 };
		uint64_t seq;
		v.rec.state = HS__PHOTO_STATE__PHOTO_DELETED;
		v.rec.updated_ms = rt_now_ms();
		int rc = commit_update(j, lease, &ch, &seq);
		if (rc == CHANGE_ANSWERED)
			return;
		if (rc == CHANGE_CAS_LOST && attempt == 0)
			continue; /* memory was stale: synced, try again */
		if (rc == CHANGE_CAS_LOST) {
			rpc_fail(j->call, HS_ABORTED,
			    "the record kept "
			    "changing; retry");
			return;
		}
		dir_writer_applied(j->d, &v.rec, seq, "photo.deleted");
		if (forget_or_fail(j, q->id))
			return;
		dir_acks_wait(j->d->acks, j->d, j->call, &v.rec, seq);
		return;
	}
}

void
dir_writer_delete(struct dir *d, rpc_call *call, const Hs__DeleteRequest *req)
{
	dir_writer_push(d, call, &req->base, delete_job);
}

int
dir_edit_locations(struct dir_rec_view *v, const Hs__UpdateLocationsRequest *q)
{
	int changed = 0;
	for (size_t i = 0; i < q->n_remove; i++)
		for (size_t k = 0; k < v->rec.n_stores; k++)
			if (v->stores[k] == q->remove[i]) {
				v->stores[k] = v->stores[--v->rec.n_stores];
				changed = 1;
				break;
			}
	for (size_t i = 0; i < q->n_add; i++) {
		size_t k = 0;
		while (k < v->rec.n_stores && v->stores[k] != q->add[i])
			k++;
		if (k < v->rec.n_stores)
			continue;
		if (v->rec.n_stores == DIR_MAX_REPLICAS)
			return -1;
		v->stores[v->rec.n_stores++] = q->add[i];
		changed = 1;
	}
	if (q->target_replicas != 0 &&
	    q->target_replicas != v->rec.target_replicas) {
		v->rec.target_replicas = q->target_replicas;
		changed = 1;
	}
	return changed;
}

/* The caller's compare-and-set: with expect_seq, the record must still be
 * the one the caller planned from, so a replayed or stale update changes
 * nothing. 1 to go on, 0 if answered ABORTED. */
static int
update_expected(struct dir_job *j, const Hs__UpdateLocationsRequest *q,
    const struct dir_rec_view *v)
{
	if (q->expect_seq == 0 || q->expect_seq == v->rec.seq)
		return 1;
	char stores[DIR_MAX_REPLICAS * 12 + 1] = "";
	size_t off = 0;
	for (size_t i = 0; i < v->rec.n_stores && off < sizeof(stores); i++)
		off += (size_t)snprintf(stores + off, sizeof(stores) - off,
		    "%s%" PRIu32, i ? "," : "", v->stores[i]);
	rpc_fail(j->call, HS_ABORTED,
	    "the record changed: expected seq %" PRIu64 ", now seq %" PRIu64
	    " (%s, stores %s); look it up again and plan anew",
	    q->expect_seq, v->rec.seq,
	    v->rec.state == HS__PHOTO_STATE__PHOTO_DELETED ? "deleted" :
							     "active",
	    stores);
	return 0;
}

/* Edits the record in v as q asks: 1 to commit, 0 if answered. */
static int
update_edit(struct dir_job *j, const Hs__UpdateLocationsRequest *q,
    struct dir_rec_view *v)
{
	Hs__UpdateLocationsReply r = HS__UPDATE_LOCATIONS_REPLY__INIT;
	if (v->rec.state == HS__PHOTO_STATE__PHOTO_DELETED) {
		rpc_fail(j->call, HS_FAILED_PRECONDITION,
		    "photo is deleted: "
		    "its locations are not kept any more");
		return 0;
	}
	int ch = dir_edit_locations(v, q);
	if (ch < 0) {
		rpc_fail(j->call, HS_INVALID_ARGUMENT,
		    "a photo has at most %d "
		    "replicas",
		    DIR_MAX_REPLICAS);
		return 0;
	}
	if (ch == 0) { /* nothing to do (or a resend) */
		r.seq = v->rec.seq;
		r.record = &v->rec;
		rpc_reply(j->call, &r.base);
		return 0;
	}
	return 1;
}

static void
update_job(struct dir_job *j)
{
	const Hs__UpdateLocationsRequest
	    *q = (const Hs__UpdateLocationsRequest *)j->req;
	struct dir_rec_view v;
	char lease[128];
	Hs__UpdateLocationsReply r = HS__UPDATE_LOCATIONS_REPLY__INIT;
	for (int attempt = 0;; attempt++) {
		if (!prepare_change(j, q->id, lease, &v))
			return;
		struct change ch = { &v.rec, v.rec.seq, 0, q->repl_epoch };
		uint64_t seq;
		if (!update_expected(j, q, &v) || !update_edit(j, q, &v))
			return;
		v.rec.updated_ms = rt_now_ms();
		int rc = commit_update(j, lease, &ch, &seq);
		if (rc == CHANGE_ANSWERED)
			return;
		if (rc == CHANGE_CAS_LOST && attempt == 0)
			continue; /* synced: expect_seq is checked again */
		if (rc == CHANGE_CAS_LOST) {
			rpc_fail(j->call, HS_ABORTED,
			    "the record kept "
			    "changing; retry");
			return;
		}
		dir_writer_applied(j->d, &v.rec, seq, "photo.updated");
		r.seq = seq;
		r.record = &v.rec;
		rpc_reply(j->call, &r.base);
		return;
	}
}

void
dir_writer_update(struct dir *d, rpc_call *call,
    const Hs__UpdateLocationsRequest *req)
{
	dir_writer_push(d, call, &req->base, update_job);
}
