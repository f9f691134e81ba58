/* UpdateLocationsBatch on the writer thread: the replicator's location
 * changes for many photos (a lost store's refill) committed in ONE fenced
 * script (dir_script_update_batch), so they share one fence check, one
 * replicator-epoch check and one AOF fsync instead of one each. Every
 * update gets the checks UpdateLocations makes (commit_change.c): the
 * photo must exist with that cookie, its seq must still be expect_seq
 * (compare-and-set), a deleted photo takes no locations, and the edit is
 * the same (dir_edit_locations). Each update keeps its own outcome, as
 * the same UpdateLocations alone would have answered it. */
#include "commit_locations.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "photo_id.h"
#include "scripts.h"
#include "writer_impl.h"

#define ULB_MAX 1024 /* updates in one call */
#define ULB_HEAD 4   /* keys before the photos: leader, seq, log, epoch */

/* One update of a batch. Owns packed. */
struct upd {
	const Hs__UpdateLocationsRequest *q;
	hs_status code;
	char msg[256];
	uint64_t seq;
	int commit; /* 1: goes into the script */
	struct dir_rec_view v;
	uint8_t *packed; /* the next record without its seq */
	size_t plen;
	char pkey[32], cur[24];
};

static void upd_fail(struct upd *u, hs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
upd_fail(struct upd *u, hs_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	u->code = code;
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
}

/* Checks u against memory (exact on the leader after a sync) and edits
 * its record: u->commit set when there is something to commit; else the
 * outcome is set. */
static void
upd_prepare(struct upd *u, struct dir *d)
{
	const Hs__UpdateLocationsRequest *q = u->q;
	char hex[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(q->id->key, q->id->cookie, hex);
	if (dir_records_get(d->recs, q->id->key, &u->v) != 0 ||
	    u->v.id.cookie != q->id->cookie) {
		upd_fail(u, HS_NOT_FOUND, "no photo %s", hex);
		return;
	}
	if (q->expect_seq != 0 && q->expect_seq != u->v.rec.seq) {
		upd_fail(u, HS_ABORTED,
		    "photo %s changed: expected seq %" PRIu64 ", now %" PRIu64
		    "; look it up again and plan anew",
		    hex, q->expect_seq, u->v.rec.seq);
		return;
	}
	if (u->v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED) {
		upd_fail(u, HS_FAILED_PRECONDITION,
		    "photo %s is deleted: its locations are not kept any more",
		    hex);
		return;
	}
	uint64_t cur = u->v.rec.seq;
	int ch = dir_edit_locations(&u->v, q);
	if (ch < 0) {
		upd_fail(u, HS_INVALID_ARGUMENT,
		    "photo %s: a photo has at most %d replicas", hex,
		    DIR_MAX_REPLICAS);
		return;
	}
	u->code = HS_OK;
	u->seq = cur;
	if (ch == 0)
		return; /* nothing to do (or a resend) */
	u->v.rec.updated_ms = rt_now_ms();
	u->v.rec.seq = 0; /* the script appends the new one */
	u->plen = hs__photo_record__get_packed_size(&u->v.rec);
	u->packed = malloc(u->plen ? u->plen : 1);
	if (u->packed == NULL) {
		upd_fail(u, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	hs__photo_record__pack(&u->v.rec, u->packed);
	dir_photo_key(q->id->key, u->pkey);
	snprintf(u->cur, sizeof(u->cur), "%" PRIu64, cur);
	u->commit = 1;
}

/* Sets the outcomes of the committed updates us[0..n) from the script's
 * reply. */
static void
upd_finish(struct dir *d, struct upd **us, size_t n, redisReply *rep,
    uint64_t epoch)
{
	if (rep->elements == 2 && rep->element[0]->integer == -3) {
		for (size_t i = 0; i < n; i++)
			upd_fail(us[i], HS_FAILED_PRECONDITION,
			    "stale replicator: epoch %" PRIu64 " is older "
			    "than the current replicator's %lld; another "
			    "replicator holds the lease, so this one must "
			    "stop acting",
			    epoch, rep->element[1]->integer);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		long long how = rep->element[2 * i]->integer;
		uint64_t seq = (uint64_t)rep->element[2 * i + 1]->integer;
		if (how == 1) {
			dir_writer_applied(d, &us[i]->v.rec, seq,
			    "photo.updated");
			us[i]->seq = seq;
			continue;
		}
		d->writer_dirty = 1; /* memory was behind Redis */
		upd_fail(us[i], HS_ABORTED,
		    "the record changed (now seq %" PRIu64 "); look it up "
		    "again and plan anew",
		    seq);
	}
}

/* Runs the one script for us[0..n) under lease. */
static void
upd_script(struct dir *d, struct upd **us, size_t n, const char *lease,
    uint64_t epoch)
{
	char err[256], maxlen[24], ep[24];
	size_t nkeys = ULB_HEAD + n, argc = nkeys + 3 + 2 * n;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *lens = malloc(argc * sizeof(*lens));
	hs_status code = HS_RESOURCE_EXHAUSTED;
	char msg[512] = "out of memory";
	redisReply *rep = NULL;
	if (argv == NULL || lens == NULL)
		goto fail;
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
	snprintf(ep, sizeof(ep), "%" PRIu64, epoch);
	const char *head[] = { RK_LEADER, RK_SEQ, RK_LOG, RK_REPLICATOR_EPOCH,
		lease, maxlen, ep };
	for (size_t i = 0; i < ULB_HEAD; i++)
		argv[i] = head[i];
	for (size_t i = 0; i < n; i++)
		argv[ULB_HEAD + i] = us[i]->pkey;
	for (size_t i = 0; i < 3; i++)
		argv[nkeys + i] = head[ULB_HEAD + i];
	for (size_t i = 0; i < nkeys + 3; i++)
		lens[i] = strlen(argv[i]);
	for (size_t i = 0; i < n; i++) {
		size_t a = nkeys + 3 + 2 * i;
		argv[a] = (const char *)us[i]->packed, lens[a] = us[i]->plen;
		argv[a + 1] = us[i]->cur, lens[a + 1] = strlen(us[i]->cur);
	}
	rep = rt_redis_eval(d->writer.link, &dir_script_update_batch,
	    (int)nkeys, (int)argc, argv, lens, err, sizeof(err));
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    (rep->elements == 2 * n || rep->elements == 2)) {
		upd_finish(d, us, n, rep, epoch);
		goto out;
	}
	if (!dir_writer_script_check(d, rep, err, &code, msg, sizeof(msg))) {
		d->writer_dirty = 1;
		code = HS_INTERNAL;
		snprintf(msg, sizeof(msg), "update_batch script: odd reply");
	}
fail:
	for (size_t i = 0; i < n; i++)
		upd_fail(us[i], code, "%s", msg);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(argv);
	free(lens);
}

/* Answers the call from the outcomes us[0..n). */
static void
answer(rpc_call *call, const struct upd *us, size_t n)
{
	Hs__UpdateLocationsResult *res = calloc(n, sizeof(*res));
	Hs__UpdateLocationsResult **resp = calloc(n, sizeof(*resp));
	if (res == NULL || resp == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			hs__update_locations_result__init(&res[i]);
			res[i].code = (Hs__Code)us[i].code;
			res[i].seq = us[i].seq;
			res[i].message = us[i].code != HS_OK ?
			    (char *)us[i].msg :
			    (char *)"";
			resp[i] = &res[i];
		}
		Hs__UpdateLocationsBatchReply out =
		    HS__UPDATE_LOCATIONS_BATCH_REPLY__INIT;
		out.results = resp;
		out.n_results = n;
		rpc_reply(call, &out.base);
	}
	free(res);
	free(resp);
}

/* Prepares every update of q, commits those with a change in one script,
 * as leader under lease (memory synced). */
static void
commit_all(struct dir *d, const Hs__UpdateLocationsBatchRequest *q,
    struct upd *us, const char *lease)
{
	struct upd **go = malloc(q->n_updates * sizeof(*go));
	size_t ngo = 0;
	for (size_t i = 0; i < q->n_updates; i++) {
		us[i].q = q->updates[i];
		if (go == NULL) {
			upd_fail(&us[i], HS_RESOURCE_EXHAUSTED,
			    "out of memory");
			continue;
		}
		upd_prepare(&us[i], d);
		if (us[i].commit)
			go[ngo++] = &us[i];
	}
	if (ngo > 0)
		upd_script(d, go, ngo, lease, q->repl_epoch);
	for (size_t i = 0; i < ngo; i++)
		free(go[i]->packed);
	free(go);
}

static void
batch_job(struct dir_job *j)
{
	const Hs__UpdateLocationsBatchRequest
	    *q = (const Hs__UpdateLocationsBatchRequest *)j->req;
	char lease[128], err[256];
	if (!dir_writer_lead_or_forward(j, lease, sizeof(lease)))
		return;
	if (dir_writer_ensure_synced(j->d, err, sizeof(err)) != 0) {
		rpc_fail(j->call, HS_UNAVAILABLE,
		    "cannot catch up with the change log: %s", err);
		return;
	}
	struct upd *us = calloc(q->n_updates, sizeof(*us));
	if (us == NULL) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	commit_all(j->d, q, us, lease);
	answer(j->call, us, q->n_updates);
	free(us);
}

/* Why update i of q cannot be taken at all, in why; 0 if it can. */
static int
upd_invalid(const struct dir *d, const Hs__UpdateLocationsBatchRequest *q,
    size_t i, char *why, size_t len)
{
	const Hs__UpdateLocationsRequest *u = q->updates[i];
	if (u->id == NULL || u->id->key == 0)
		snprintf(why, len, "missing photo id");
	else if (u->target_replicas != 0 &&
	    (u->target_replicas < d->cfg.min_replicas ||
		u->target_replicas > d->cfg.max_replicas))
		snprintf(why, len,
		    "target_replicas must be 0 or %" PRId64 "..%" PRId64,
		    d->cfg.min_replicas, d->cfg.max_replicas);
	else if (u->n_add > DIR_MAX_REPLICAS || u->n_remove > 64)
		snprintf(why, len, "too many stores in one update");
	else if (u->repl_epoch != 0 && u->repl_epoch != q->repl_epoch)
		snprintf(why, len,
		    "repl_epoch %" PRIu64 " differs from the batch's %" PRIu64,
		    u->repl_epoch, q->repl_epoch);
	else
		return 0;
	return 1;
}

void
dir_update_locations_batch(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__UpdateLocationsBatchRequest
	    *q = (const Hs__UpdateLocationsBatchRequest *)m;
	char why[160];
	if (q->n_updates == 0 || q->n_updates > ULB_MAX) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "UpdateLocationsBatch takes 1..%d updates, not %zu",
		    ULB_MAX, q->n_updates);
		return;
	}
	for (size_t i = 0; i < q->n_updates; i++) {
		if (upd_invalid(d, q, i, why, sizeof(why))) {
			rpc_fail(call, HS_INVALID_ARGUMENT,
			    "UpdateLocationsBatch, update %zu: %s", i, why);
			return;
		}
		/* One script sees its own writes: a photo twice would be
		 * checked against a seq the first update already moved. */
		for (size_t k = 0; k < i; k++)
			if (q->updates[k]->id->key == q->updates[i]->id->key) {
				rpc_fail(call, HS_INVALID_ARGUMENT,
				    "UpdateLocationsBatch, update %zu: the "
				    "same photo as update %zu; send one "
				    "update per photo",
				    i, k);
				return;
			}
	}
	dir_writer_push(d, call, m, batch_job);
}
