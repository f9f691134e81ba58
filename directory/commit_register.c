/* RegisterPhoto (a client's) and RegisterPhotos (a store's batch) on the
 * writer thread. Registrations queued together, from any number of calls,
 * are committed as one Redis pipeline: with appendfsync always, Redis
 * fsyncs its AOF once per event-loop turn, so a batch shares one fsync
 * instead of paying one each. They still commit one by one, in queue
 * order, each in its own fenced script (dir_script_register: a resend of
 * the same photo answers its seq again; another photo under the same key
 * is refused). Each registration keeps its own outcome; a call is answered
 * once all of its registrations have one. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dir_forward.h"
#include "grant.h"
#include "photo_id.h"
#include "scripts.h"
#include "token.h"
#include "writer_impl.h"

#define REG_BATCH 256 /* registrations per pipeline */
#define REG_JOBS 64   /* calls per pipeline */
#define REG_ARGS 11

/* One registration of a batch. Owns packed; argv points into it. */
struct reg {
	const Hs__RegisterRequest *q;
	hs_status code; /* the outcome */
	char msg[256];
	uint64_t seq;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	uint32_t stores[DIR_MAX_REPLICAS];
	uint8_t *packed; /* the record without its seq, malloc'd */
	char pkey[32], cookie[16], size[24];
	int64_t expiry_ms; /* of the registration's write token */
	const char *argv[REG_ARGS];
	size_t lens[REG_ARGS];
};

static void register_job(struct dir_job *j);

static void register_batch_job(struct dir_job *j);

static int
is_register(void *arg)
{
	dir_job_fn fn = ((struct dir_job *)arg)->fn;
	return fn == register_job || fn == register_batch_job;
}

static void reg_fail(struct reg *r, hs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reg_fail(struct reg *r, hs_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->code = code;
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* The record of r's request: its stores without repeats, our defaults. */
static void
reg_record(struct dir *d, struct reg *r, const Hs__RegisterRequest *q)
{
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
}

/* Builds r's record and script arguments from its request. 0 or -1 (the
 * outcome set). */
static int
reg_prepare(struct dir *d, struct reg *r, const char *lease, const char *maxlen)
{
	const Hs__RegisterRequest *q = r->q;
	char why[200];
	/* The token bounds the registration in time: past its expiry the
	 * needles may be gone as orphans. The script weighs the expiry, after
	 * its check for a resend of a committed registration. */
	if (rt_token_verify(&d->key, q->write_token.data, q->write_token.len,
		q->id->key, q->id->cookie, &r->expiry_ms, why,
		sizeof(why)) != HS_OK) {
		reg_fail(r, HS_PERMISSION_DENIED, "RegisterPhoto: %s", why);
		return -1;
	}
	const char *expired = rt_now_ms() > r->expiry_ms ? "1" : "0";
	reg_record(d, r, q);
	size_t plen = hs__photo_record__get_packed_size(&r->rec);
	r->packed = malloc(plen);
	if (r->packed == NULL) {
		reg_fail(r, HS_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	hs__photo_record__pack(&r->rec, r->packed);
	dir_photo_key(r->id.key, r->pkey);
	snprintf(r->cookie, sizeof(r->cookie), "%" PRIu32, r->id.cookie);
	snprintf(r->size, sizeof(r->size), "%" PRIu64, q->size);
	const char *argv[REG_ARGS] = { RK_LEADER, RK_SEQ, r->pkey, RK_LOG,
		lease, (const char *)r->packed, r->cookie,
		(const char *)q->sha256.data, r->size, maxlen, expired };
	size_t lens[REG_ARGS] = { strlen(RK_LEADER), strlen(RK_SEQ),
		strlen(r->pkey), strlen(RK_LOG), strlen(lease), plen,
		strlen(r->cookie), 32, strlen(r->size), strlen(maxlen), 1 };
	memcpy(r->argv, argv, sizeof(argv));
	memcpy(r->lens, lens, sizeof(lens));
	return 0;
}

/* Sets r's outcome from its script reply (rep may be NULL: err says why). */
static void
reg_finish(struct dir *d, struct reg *r, redisReply *rep, const char *err)
{
	if (dir_writer_script_check(d, rep, err, &r->code, r->msg,
		sizeof(r->msg)))
		return;
	long long how = rep->element[0]->integer;
	uint64_t seq = (uint64_t)rep->element[1]->integer;
	char hex[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(r->id.key, r->id.cookie, hex);
	if (how == -4) {
		reg_fail(r, HS_PERMISSION_DENIED,
		    "photo %s: write token expired at %" PRId64
		    " (Unix ms, %" PRId64 " ms ago); upload again",
		    hex, r->expiry_ms, rt_now_ms() - r->expiry_ms);
		return;
	}
	if (how == -1) {
		reg_fail(r, HS_ALREADY_EXISTS,
		    "photo %s is "
		    "registered with another cookie, SHA-256 or size (seq %" PRIu64
		    "); allocate a new id",
		    hex, seq);
		return;
	}
	if (how == 1) {
		dir_writer_applied(d, &r->rec, seq, "photo.registered");
		atomic_fetch_add(&d->registrations, 1);
	}
	/* how == 0: a resend of a committed registration: same answer. */
	r->code = HS_OK;
	r->seq = seq;
}

/* Commits regs[1..n) as one pipeline of EVALSHAs (regs[0] went alone, so
 * the script is known to this Redis). A reply lost to a broken connection
 * leaves that commit and the rest unknown: they answer "resend". */
static void
reg_pipeline(struct dir *d, struct reg **regs, size_t n)
{
	rt_redis *link = d->writer.link;
	char err[256], nk[] = "4";
	redisContext *ctx = rt_redis_ctx(link, err, sizeof(err));
	size_t sent = 0;
	for (size_t i = 1; ctx != NULL && i < n; i++, sent++) {
		const char *a[3 + REG_ARGS] = { "EVALSHA",
			dir_script_register.sha, nk };
		size_t l[3 + REG_ARGS] = { 7, 40, 1 };
		memcpy(a + 3, regs[i]->argv, sizeof(regs[i]->argv));
		memcpy(l + 3, regs[i]->lens, sizeof(regs[i]->lens));
		if (redisAppendCommandArgv(ctx, 3 + REG_ARGS, a, l) != REDIS_OK)
			break;
	}
	for (size_t i = 1; i < n; i++) {
		redisReply *rep = NULL;
		if (i <= sent && ctx != NULL &&
		    redisGetReply(ctx, (void **)&rep) != REDIS_OK) {
			rep = NULL;
			snprintf(err, sizeof(err), "%s", ctx->errstr);
			rt_redis_reset(link);
			ctx = NULL;
		} else if (i > sent) {
			snprintf(err, sizeof(err), "not sent");
		}
		reg_finish(d, regs[i], rep, err);
		if (rep != NULL)
			freeReplyObject(rep);
	}
}

/* Fails every registration of regs[0..n) with code and msg. */
static void
fail_all(struct reg *regs, size_t n, hs_status code, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		reg_fail(&regs[i], code, "%s", msg);
}

/* Prepares and commits regs[0..n) as leader under lease; each gets its
 * outcome. */
static void
reg_commit(struct dir *d, struct reg *regs, size_t n, const char *lease)
{
	char err[256], maxlen[24];
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
	struct reg **ok = malloc(n * sizeof(*ok));
	size_t nok = 0;
	if (ok == NULL) {
		fail_all(regs, n, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (reg_prepare(d, &regs[i], lease, maxlen) == 0)
			ok[nok++] = &regs[i];
	if (nok > 0) {
		redisReply *rep = rt_redis_eval(d->writer.link,
		    &dir_script_register, 4, REG_ARGS, ok[0]->argv, ok[0]->lens,
		    err, sizeof(err));
		reg_finish(d, ok[0], rep, err);
		if (rep != NULL)
			freeReplyObject(rep);
		reg_pipeline(d, ok, nok);
	}
	for (size_t i = 0; i < nok; i++)
		free(ok[i]->packed);
	free(ok);
}

/* The registrations of job j. */
static size_t
job_regs(const struct dir_job *j, const Hs__RegisterRequest *const **qs)
{
	if (j->fn == register_batch_job) {
		const Hs__RegisterBatchRequest
		    *b = (const Hs__RegisterBatchRequest *)j->req;
		*qs = (const Hs__RegisterRequest *const *)b->photos;
		return b->n_photos;
	}
	*qs = (const Hs__RegisterRequest *const *)&j->req;
	return 1;
}

/* Answers job j from its registrations' outcomes regs[0..n). */
static void
answer(struct dir_job *j, const struct reg *regs, size_t n)
{
	if (j->fn == register_job) {
		Hs__RegisterReply out = HS__REGISTER_REPLY__INIT;
		out.seq = regs[0].seq;
		if (regs[0].code != HS_OK)
			rpc_fail(j->call, regs[0].code, "%s", regs[0].msg);
		else
			rpc_reply(j->call, &out.base);
		return;
	}
	Hs__RegisterResult res[RT_GRANT_MAX_COUNT], *resp[RT_GRANT_MAX_COUNT];
	Hs__RegisterBatchReply out = HS__REGISTER_BATCH_REPLY__INIT;
	for (size_t i = 0; i < n; i++) {
		hs__register_result__init(&res[i]);
		res[i].code = (Hs__Code)regs[i].code;
		res[i].seq = regs[i].seq;
		res[i].message = regs[i].code != HS_OK ? (char *)regs[i].msg :
							 (char *)"";
		resp[i] = &res[i];
	}
	out.results = resp;
	out.n_results = n;
	rpc_reply(j->call, &out.base);
}

/* Commits jobs[0..nj), whose registrations fill regs, as leader. */
static void
commit_jobs(struct dir *d, struct dir_job **jobs, size_t nj, struct reg *regs,
    size_t n)
{
	char lease[128], err[256];
	if (!dir_is_leader(d, lease, sizeof(lease), NULL)) {
		for (size_t i = 0; i < nj; i++)
			dir_forward(d, jobs[i]->call, jobs[i]->req);
		return;
	}
	if (dir_writer_ensure_synced(d, err, sizeof(err)) != 0) {
		char msg[300];
		snprintf(msg, sizeof(msg),
		    "cannot catch up with the change log: %s", err);
		fail_all(regs, n, HS_UNAVAILABLE, msg);
	} else {
		reg_commit(d, regs, n, lease);
	}
	for (size_t i = 0, at = 0; i < nj; i++) {
		const Hs__RegisterRequest *const *qs;
		size_t k = job_regs(jobs[i], &qs);
		answer(jobs[i], regs + at, k);
		at += k;
	}
}

/* Takes the registration calls queued behind j (up to REG_BATCH photos
 * in all), commits them together and answers each. */
static void
register_job(struct dir_job *j)
{
	struct dir *d = j->d;
	struct dir_job *jobs[REG_JOBS];
	const Hs__RegisterRequest *const *qs;
	size_t n = job_regs(j, &qs), nj = 1;
	jobs[0] = j;
	/* A batch may bring up to RT_GRANT_MAX_COUNT photos: take more calls
	 * only while a full one still fits. */
	while (nj < REG_JOBS && n + RT_GRANT_MAX_COUNT <= REG_BATCH &&
	    rt_workq_take_more(d->writer.q, dir_writer_run, is_register,
		(void **)&jobs[nj], 1) == 1)
		n += job_regs(jobs[nj++], &qs);
	struct reg *regs = calloc(n, sizeof(*regs));
	if (regs == NULL) {
		for (size_t i = 0; i < nj; i++)
			rpc_fail(jobs[i]->call, HS_RESOURCE_EXHAUSTED,
			    "out of memory");
	} else {
		for (size_t i = 0, at = 0; i < nj; i++) {
			size_t k = job_regs(jobs[i], &qs);
			for (size_t m = 0; m < k; m++)
				regs[at++].q = qs[m];
		}
		commit_jobs(d, jobs, nj, regs, n);
	}
	for (size_t i = 1; i < nj; i++)
		free(jobs[i]); /* jobs[0] is freed by dir_writer_run */
	free(regs);
}

static void
register_batch_job(struct dir_job *j)
{
	register_job(j);
}

void
dir_writer_register_batch(struct dir *d, rpc_call *call,
    const Hs__RegisterBatchRequest *req)
{
	dir_writer_push(d, call, &req->base, register_batch_job);
}

void
dir_writer_register(struct dir *d, rpc_call *call,
    const Hs__RegisterRequest *req)
{
	dir_writer_push(d, call, &req->base, register_job);
}
