/* The commit path (see writer.h). Every job re-checks leadership when it
 * runs: the check at the handler may be stale by then. A commit whose
 * Redis answer was lost may or may not have happened; the writer then
 * marks itself dirty and catches up from the log before the next commit,
 * and the caller resends (every write is idempotent).
 *
 * Ownership: a job borrows call's request until it answers the call. */
#include "writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_evict.h"
#include "changelog.h"
#include "forward.h"
#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "redis.h"
#include "scripts.h"
#include "waiters.h"

struct job;
typedef void (*job_fn)(struct job *j);

struct job {
	struct dir *d;
	rpc_call *call;
	const ProtobufCMessage *req;
	job_fn fn;
};

static rt_redis *link_; /* the writer thread's own; one thread only */
static int dirty;	 /* memory may lag Redis: sync before committing */

int
dir_writer_open(struct dir *d)
{
	char err[256];
	if (rt_redis_open(&link_, d->cfg.redis, d->cfg.redis_timeout_ms, err,
	    sizeof(err)) != 0) {
		rt_log_error("writer: %s", err);
		return -1;
	}
	return rt_workq_open(&d->writer, 1, "dir-writer");
}

void
dir_writer_close(struct dir *d)
{
	rt_workq_close(d->writer);
	d->writer = NULL;
	rt_redis_close(link_);
	link_ = NULL;
}

static void
run_job(void *arg)
{
	struct job *j = arg;
	j->fn(j);
	free(j);
}

static void
push(struct dir *d, rpc_call *call, const ProtobufCMessage *req, job_fn fn)
{
	struct job *j = malloc(sizeof(*j));
	if (j == NULL) {
		if (call != NULL)
			rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*j = (struct job){ .d = d, .call = call, .req = req, .fn = fn };
	if (rt_workq_push(d->writer, run_job, j) != 0) {
		if (call != NULL)
			rpc_fail(call, HS_UNAVAILABLE, "directory is shutting "
			    "down; retry at another");
		free(j);
	}
}

/* Catches memory up with Redis if a previous commit left it unsure. */
static int
ensure_synced(struct dir *d, char *err, size_t errlen)
{
	if (!dirty)
		return 0;
	if (dir_log_sync(link_, d->recs, NULL, err, errlen) != 0)
		return -1;
	dirty = 0;
	return 0;
}

/* Leadership for this job, or the call answered (forwarded) and 0. */
static int
lead_or_forward(struct job *j, char *lease, size_t leaselen)
{
	if (dir_is_leader(j->d, lease, leaselen, NULL))
		return 1;
	dir_forward(j->d, j->call, j->req);
	return 0;
}

/* Applies a record this thread just committed at seq and publishes it. */
static void
applied_commit(struct dir *d, Hs__PhotoRecord *rec, uint64_t seq,
    const char *topic)
{
	rec->seq = seq;
	dir_records_apply(d->recs, rec);
	if (dir_records_applied(d->recs) + 1 == seq) {
		dir_records_set_applied(d->recs, seq);
	} else {
		/* Someone else's commit in between: impossible while the
		 * lease holds, so re-read the log rather than trust memory. */
		char err[256];
		dirty = 1;
		if (ensure_synced(d, err, sizeof(err)) != 0)
			rt_log_warn("writer: catch-up after seq %" PRIu64 ": %s",
			    seq, err);
	}
	Hs__Event ev = HS__EVENT__INIT;
	ev.topic = (char *)topic;
	ev.body_case = HS__EVENT__BODY_PHOTO;
	ev.photo = rec;
	dir_publish(d, &ev);
	dir_waiters_poll(d);
}

/* Answers a failed script run; returns 1 if it handled rep (an error). */
static int
script_failed(struct job *j, redisReply *rep, const char *err)
{
	if (rep == NULL) {
		dirty = 1;
		rpc_fail(j->call, HS_UNAVAILABLE, "commit outcome unknown (%s); "
		    "resend: the write is idempotent", err);
		return 1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		if (strstr(rep->str, "FENCED") != NULL) {
			dir_step_down(j->d, "a commit was fenced: another "
			    "directory holds the lease");
			rpc_fail(j->call, HS_UNAVAILABLE, "%s lost the lead "
			    "while committing; nothing was written; retry",
			    j->d->cfg.id);
		} else {
			dirty = 1;
			rpc_fail(j->call, HS_INTERNAL, "commit script failed: "
			    "%s", rep->str);
		}
		return 1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		dirty = 1;
		rpc_fail(j->call, HS_INTERNAL, "commit script: odd reply");
		return 1;
	}
	return 0;
}

static void
photo_key(uint64_t key, char out[32])
{
	snprintf(out, 32, RK_PHOTO_PREFIX "%016" PRIx64, key);
}

/* --- RegisterPhoto --- */

/* Registrations queued together are committed as one Redis pipeline: with
 * appendfsync always, Redis fsyncs its AOF once per event-loop turn, so a
 * batch shares one fsync instead of paying one each. They still commit
 * one by one, in queue order, each in its own fenced script. */
#define REG_BATCH 64

struct reg {
	struct job *j;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	uint32_t stores[DIR_MAX_REPLICAS];
	uint8_t *packed;
	char pkey[32], cookie[16], size[24];
	const char *argv[10];
	size_t lens[10];
};

static void register_job(struct job *j);

static int
is_register(void *arg)
{
	return ((struct job *)arg)->fn == register_job;
}

/* Builds r's record and script arguments from its request. 0 or -1 (the
 * call answered). */
static int
reg_prepare(struct dir *d, struct reg *r, const char *lease, const char *maxlen)
{
	const Hs__RegisterRequest *q = (const Hs__RegisterRequest *)r->j->req;
	size_t n = 0;
	for (size_t i = 0; i < q->n_stores; i++) {
		size_t k = 0;
		while (k < n && r->stores[k] != q->stores[i])
			k++;
		if (k == n)
			r->stores[n++] = q->stores[i]; /* validated: fits */
	}
	hs__photo_record__init(&r->rec);
	hs__photo_id__init(&r->id);
	r->id.key = q->id->key;
	r->id.cookie = q->id->cookie;
	r->rec.id = &r->id;
	r->rec.size = q->size;
	r->rec.sha256 = q->sha256;
	r->rec.state = HS__PHOTO_STATE__PHOTO_ACTIVE;
	r->rec.stores = r->stores;
	r->rec.n_stores = n;
	r->rec.target_replicas = (uint32_t)d->cfg.default_replicas;
	r->rec.created_ms = r->rec.updated_ms = rt_now_ms();
	size_t plen = hs__photo_record__get_packed_size(&r->rec);
	r->packed = malloc(plen);
	if (r->packed == NULL) {
		rpc_fail(r->j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	hs__photo_record__pack(&r->rec, r->packed);
	photo_key(r->id.key, r->pkey);
	snprintf(r->cookie, sizeof(r->cookie), "%" PRIu32, r->id.cookie);
	snprintf(r->size, sizeof(r->size), "%" PRIu64, q->size);
	const char *argv[] = { RK_LEADER, RK_SEQ, r->pkey, RK_LOG,
		lease, (const char *)r->packed, r->cookie,
		(const char *)q->sha256.data, r->size, maxlen };
	size_t lens[] = { strlen(RK_LEADER), strlen(RK_SEQ),
		strlen(r->pkey), strlen(RK_LOG), strlen(lease), plen,
		strlen(r->cookie), 32, strlen(r->size), strlen(maxlen) };
	memcpy(r->argv, argv, sizeof(argv));
	memcpy(r->lens, lens, sizeof(lens));
	return 0;
}

/* Answers r's call from its script reply (rep may be NULL: err says why). */
static void
reg_finish(struct dir *d, struct reg *r, redisReply *rep, const char *err)
{
	if (script_failed(r->j, rep, err))
		return;
	long long how = rep->element[0]->integer;
	uint64_t seq = (uint64_t)rep->element[1]->integer;
	Hs__RegisterReply out = HS__REGISTER_REPLY__INIT;
	out.seq = seq;
	if (how == -1) {
		char hex[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(r->id.key, r->id.cookie, hex);
		rpc_fail(r->j->call, HS_ALREADY_EXISTS, "photo %s is registered "
		    "with another cookie, SHA-256 or size (seq %" PRIu64 "); "
		    "allocate a new id", hex, seq);
		return;
	}
	if (how == 1) {
		applied_commit(d, &r->rec, seq, "photo.registered");
		atomic_fetch_add(&d->registrations, 1);
	}
	/* how == 0: a resend of a committed registration: same answer. */
	rpc_reply(r->j->call, &out.base);
}

/* Commits regs[1..n) as one pipeline of EVALSHAs (regs[0] went alone, so
 * the script is known to this Redis). A reply lost to a broken connection
 * leaves that commit and the rest unknown: they answer "resend". */
static void
reg_pipeline(struct dir *d, struct reg *regs, size_t n)
{
	char err[256], nk[] = "4";
	redisContext *ctx = rt_redis_ctx(link_, err, sizeof(err));
	size_t sent = 0;
	for (size_t i = 1; ctx != NULL && i < n; i++, sent++) {
		const char *a[13] = { "EVALSHA", dir_script_register.sha, nk };
		size_t l[13] = { 7, 40, 1 };
		memcpy(a + 3, regs[i].argv, sizeof(regs[i].argv));
		memcpy(l + 3, regs[i].lens, sizeof(regs[i].lens));
		if (redisAppendCommandArgv(ctx, 13, a, l) != REDIS_OK)
			break;
	}
	for (size_t i = 1; i < n; i++) {
		redisReply *rep = NULL;
		if (i <= sent && ctx != NULL &&
		    redisGetReply(ctx, (void **)&rep) != REDIS_OK) {
			rep = NULL;
			snprintf(err, sizeof(err), "%s", ctx->errstr);
			rt_redis_reset(link_);
			ctx = NULL;
		} else if (i > sent) {
			snprintf(err, sizeof(err), "not sent");
		}
		reg_finish(d, &regs[i], rep, err);
		if (rep != NULL)
			freeReplyObject(rep);
	}
}

static void
register_job(struct job *j)
{
	struct dir *d = j->d;
	struct job *more[REG_BATCH - 1];
	size_t extra = rt_workq_take_more(d->writer, run_job, is_register,
	    (void **)more, REG_BATCH - 1);
	struct reg *regs = calloc(extra + 1, sizeof(*regs));
	char lease[128], err[256], maxlen[24];
	size_t n = 0;
	if (regs == NULL) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		for (size_t i = 0; i < extra; i++) {
			rpc_fail(more[i]->call, HS_RESOURCE_EXHAUSTED,
			    "out of memory");
			free(more[i]);
		}
		return;
	}
	regs[n++].j = j;
	for (size_t i = 0; i < extra; i++)
		regs[n++].j = more[i];
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
	if (!dir_is_leader(d, lease, sizeof(lease), NULL)) {
		for (size_t i = 0; i < n; i++)
			dir_forward(d, regs[i].j->call, regs[i].j->req);
	} else if (ensure_synced(d, err, sizeof(err)) != 0) {
		for (size_t i = 0; i < n; i++)
			rpc_fail(regs[i].j->call, HS_UNAVAILABLE, "cannot catch "
			    "up with the change log: %s", err);
	} else {
		/* Prepared ones move to the front; a failed prepare answered. */
		size_t ok = 0;
		for (size_t i = 0; i < n; i++) {
			/* In place: the arguments point into their reg. */
			regs[ok].j = regs[i].j;
			if (reg_prepare(d, &regs[ok], lease, maxlen) == 0)
				ok++;
		}
		if (ok > 0) {
			redisReply *rep = rt_redis_eval(link_,
			    &dir_script_register, 4, 10, regs[0].argv,
			    regs[0].lens, err, sizeof(err));
			reg_finish(d, &regs[0], rep, err);
			if (rep != NULL)
				freeReplyObject(rep);
			reg_pipeline(d, regs, ok);
		}
		for (size_t i = 0; i < ok; i++)
			free(regs[i].packed);
	}
	for (size_t i = 0; i < extra; i++)
		free(more[i]); /* j itself is freed by run_job */
	free(regs);
}

void
dir_writer_register(struct dir *d, rpc_call *call,
    const Hs__RegisterRequest *req)
{
	push(d, call, &req->base, register_job);
}

/* --- Delete and UpdateLocations: compare-and-set on the record's seq --- */

/* Commits next (a modified copy of the record held at cur_seq). 1 and
 * *seq on success; 0 if the call was answered (failure). -2 CAS lost. */
static int
commit_update(struct job *j, const char *lease, Hs__PhotoRecord *next,
    uint64_t cur_seq, int is_delete, uint64_t *seq)
{
	struct dir *d = j->d;
	char err[256], pkey[32], cur[24], maxlen[24], cache[PHOTO_CACHE_KEY_LEN + 1];
	char tomb[DIR_MAX_REPLICAS][48];
	const char *argv[6 + 5 + DIR_MAX_REPLICAS];
	size_t lens[6 + 5 + DIR_MAX_REPLICAS];
	int argc = 0;
	next->seq = 0;
	size_t plen = hs__photo_record__get_packed_size(next);
	uint8_t *packed = malloc(plen);
	if (packed == NULL) {
		rpc_fail(j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return 0;
	}
	hs__photo_record__pack(next, packed);
	photo_key(next->id->key, pkey);
	photo_cache_key(next->id->key, next->id->cookie, cache);
	snprintf(cur, sizeof(cur), "%" PRIu64, cur_seq);
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
#define ARG(s, l) (argv[argc] = (s), lens[argc++] = (l))
	ARG(RK_LEADER, strlen(RK_LEADER));
	ARG(RK_SEQ, strlen(RK_SEQ));
	ARG(pkey, strlen(pkey));
	ARG(RK_LOG, strlen(RK_LOG));
	ARG(RK_TOMBSTONES, strlen(RK_TOMBSTONES));
	ARG(cache, strlen(cache));
	ARG(lease, strlen(lease));
	ARG((const char *)packed, plen);
	ARG(cur, strlen(cur));
	ARG(maxlen, strlen(maxlen));
	ARG(is_delete ? "1" : "0", 1);
	for (size_t i = 0; is_delete && i < next->n_stores; i++) {
		char hex[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(next->id->key, next->id->cookie, hex);
		snprintf(tomb[i], sizeof(tomb[i]), "%s/%" PRIu32, hex,
		    next->stores[i]);
		ARG(tomb[i], strlen(tomb[i]));
	}
#undef ARG
	redisReply *rep = rt_redis_eval(link_, &dir_script_update, 6, argc,
	    argv, lens, err, sizeof(err));
	free(packed);
	if (script_failed(j, rep, err)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return 0;
	}
	long long how = rep->element[0]->integer;
	*seq = (uint64_t)rep->element[1]->integer;
	freeReplyObject(rep);
	if (how == -2) {
		dirty = 1;
		return -2;
	}
	return 1;
}

/* Looks the photo up for a change; 0 if the call was answered. */
static int
find_for_change(struct job *j, const Hs__PhotoId *id, struct dir_rec_view *v)
{
	char hex[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(id->key, id->cookie, hex);
	if (dir_records_get(j->d->recs, id->key, v) != 0 ||
	    v->id.cookie != id->cookie) {
		rpc_fail(j->call, HS_NOT_FOUND, "no photo %s", hex);
		return 0;
	}
	return 1;
}

static void
delete_job(struct job *j)
{
	const Hs__DeleteRequest *q = (const Hs__DeleteRequest *)j->req;
	struct dir_rec_view v;
	char lease[128], err[256];
	for (int attempt = 0;; attempt++) {
		if (!lead_or_forward(j, lease, sizeof(lease)))
			return;
		if (ensure_synced(j->d, err, sizeof(err)) != 0)
			return rpc_fail(j->call, HS_UNAVAILABLE, "cannot catch "
			    "up with the change log: %s", err);
		if (!find_for_change(j, q->id, &v))
			return;
		Hs__DeleteReply r = HS__DELETE_REPLY__INIT;
		if (v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED) {
			r.seq = v.rec.seq; /* a resend: already done */
			return rpc_reply(j->call, &r.base);
		}
		uint64_t cur = v.rec.seq, seq;
		v.rec.state = HS__PHOTO_STATE__PHOTO_DELETED;
		v.rec.updated_ms = rt_now_ms();
		int rc = commit_update(j, lease, &v.rec, cur, 1, &seq);
		if (rc == 0)
			return;
		if (rc == -2 && attempt == 0)
			continue; /* memory was stale: synced, try again */
		if (rc == -2)
			return rpc_fail(j->call, HS_ABORTED, "the record kept "
			    "changing; retry");
		applied_commit(j->d, &v.rec, seq, "photo.deleted");
		dir_cache_forget(j->d->cache, q->id->key, q->id->cookie);
		r.seq = seq;
		return rpc_reply(j->call, &r.base);
	}
}

void
dir_writer_delete(struct dir *d, rpc_call *call, const Hs__DeleteRequest *req)
{
	push(d, call, &req->base, delete_job);
}

/* Applies add/remove to v's store list; 1 if it changed, -1 if too many. */
static int
edit_stores(struct dir_rec_view *v, const Hs__UpdateLocationsRequest *q)
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

static void
update_job(struct job *j)
{
	const Hs__UpdateLocationsRequest *q =
	    (const Hs__UpdateLocationsRequest *)j->req;
	struct dir_rec_view v;
	char lease[128], err[256];
	for (int attempt = 0;; attempt++) {
		if (!lead_or_forward(j, lease, sizeof(lease)))
			return;
		if (ensure_synced(j->d, err, sizeof(err)) != 0)
			return rpc_fail(j->call, HS_UNAVAILABLE, "cannot catch "
			    "up with the change log: %s", err);
		if (!find_for_change(j, q->id, &v))
			return;
		if (v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED)
			return rpc_fail(j->call, HS_FAILED_PRECONDITION, "photo "
			    "is deleted: its locations are not kept any more");
		Hs__UpdateLocationsReply r = HS__UPDATE_LOCATIONS_REPLY__INIT;
		uint64_t cur = v.rec.seq, seq;
		int ch = edit_stores(&v, q);
		if (ch < 0)
			return rpc_fail(j->call, HS_INVALID_ARGUMENT, "a photo "
			    "has at most %d replicas", DIR_MAX_REPLICAS);
		if (ch == 0) { /* nothing to do (or a resend) */
			r.seq = cur;
			r.record = &v.rec;
			return rpc_reply(j->call, &r.base);
		}
		v.rec.updated_ms = rt_now_ms();
		int rc = commit_update(j, lease, &v.rec, cur, 0, &seq);
		if (rc == 0)
			return;
		if (rc == -2 && attempt == 0)
			continue;
		if (rc == -2)
			return rpc_fail(j->call, HS_ABORTED, "the record kept "
			    "changing; retry");
		applied_commit(j->d, &v.rec, seq, "photo.updated");
		r.seq = seq;
		r.record = &v.rec;
		return rpc_reply(j->call, &r.base);
	}
}

void
dir_writer_update(struct dir *d, rpc_call *call,
    const Hs__UpdateLocationsRequest *req)
{
	push(d, call, &req->base, update_job);
}

/* --- a new term --- */

static void
load_stores(struct dir *d)
{
	char err[256];
	redisReply *rep = rt_redis_cmd(link_, err, sizeof(err),
	    "HGETALL " RK_STORES);
	if (rep == NULL) {
		rt_log_warn("takeover: cannot read the store table: %s", err);
		return;
	}
	int64_t now = rt_mono_ms();
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY &&
	     i + 1 < rep->elements; i += 2) {
		redisReply *v = rep->element[i + 1];
		Hs__StoreInfo *si = hs__store_info__unpack(NULL, v->len,
		    (const uint8_t *)v->str);
		if (si != NULL) {
			/* A fresh silence clock: stores get 3 intervals to
			 * find the new leader before they count as DOWN. */
			dir_stores_put(d->stores, si, now);
			hs__store_info__free_unpacked(si, NULL);
		}
	}
	freeReplyObject(rep);
}

static void
takeover_job(struct job *j)
{
	struct dir *d = j->d;
	char err[256];
	int64_t t0 = rt_mono_ms();
	uint64_t n = 0;
	if (dir_log_sync(link_, d->recs, &n, err, sizeof(err)) != 0) {
		dir_step_down(d, err);
		return;
	}
	dirty = 0;
	load_stores(d);
	struct dir_leader k;
	pthread_mutex_lock(&d->mu);
	int still = d->leader;
	if (still)
		d->ready = 1;
	k = d->known;
	pthread_mutex_unlock(&d->mu);
	if (!still)
		return;
	rt_log_info("serving as leader, epoch %" PRIu64 ": caught up to seq %"
	    PRIu64 " (%" PRIu64 " applied) in %" PRId64 " ms", k.epoch,
	    dir_records_applied(d->recs), n, rt_mono_ms() - t0);
	Hs__Event ev = HS__EVENT__INIT;
	Hs__LeaderEvent le = HS__LEADER_EVENT__INIT;
	le.leader_id = k.id;
	le.epoch = k.epoch;
	le.rpc_addr = k.rpc;
	le.pub_addr = k.pub;
	ev.topic = "leader.elected";
	ev.body_case = HS__EVENT__BODY_LEADER;
	ev.leader = &le;
	dir_publish(d, &ev);
	dir_waiters_poll(d);
}

void
dir_writer_takeover(struct dir *d)
{
	push(d, NULL, NULL, takeover_job);
}
