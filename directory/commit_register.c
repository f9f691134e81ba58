/* RegisterPhoto (a client's) and RegisterPhotos (a store's batch) on the
 * writer thread. Registrations queued together, from any number of calls,
 * commit in ONE fenced script (dir_script_register), so they share one
 * fence check and one AOF fsync: a resend of the same photo answers its
 * seq again, a registration naming stores the record lacks adds them
 * (locations are an add-only union), another photo under the same key is
 * refused. Each registration keeps its own outcome; a call is answered
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
#include "principals.h"
#include "scripts.h"
#include "token.h"
#include "writer_impl.h"

#define REG_BATCH 256 /* take more calls while fewer photos than this */
#define REG_JOBS 64   /* calls per script */
#define REG_ARGS 7    /* script arguments per registration */

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
	char pkey[32], cookie[16], size[24], expect[24];
	uint8_t extra[2 + 6 * DIR_MAX_REPLICAS]; /* field 5 of the union */
	size_t nextra;
	int64_t expiry_ms; /* of the registration's write token */
	uint32_t store;	   /* the registering store; 0: not a store's */
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

/* The stores of r's request that the committed record of the same key
 * lacks, as a packed protobuf field 5 (stores) in r->extra, and the seq
 * they were computed against ("0" and every store when memory holds no
 * record: should the key hold one by the time the script runs, another
 * registration of it in the same batch made it, and the script answers
 * "moved" for this one to be resent). The leader's memory is exact here:
 * every commit runs on this thread, after dir_writer_ensure_synced. 0, or
 * -1 with the outcome set (a deleted photo takes no registration). */
static int
reg_union(struct dir *d, struct reg *r)
{
	struct dir_rec_view v;
	uint8_t body[6 * DIR_MAX_REPLICAS];
	size_t n = 0, added = 0;
	int known = dir_records_get(d->recs, r->id.key, &v) == 0;
	r->nextra = 0;
	snprintf(r->expect, sizeof(r->expect), "%" PRIu64,
	    known ? v.rec.seq : 0);
	if (!known)
		v.rec.n_stores = 0;
	if (known && v.rec.state == HS__PHOTO_STATE__PHOTO_DELETED &&
	    v.id.cookie == r->id.cookie) {
		char hex[PHOTO_ID_HEX_LEN + 1];
		photo_id_format(r->id.key, r->id.cookie, hex);
		reg_fail(r, HS_FAILED_PRECONDITION,
		    "photo %s was deleted (seq %" PRIu64 "); upload again", hex,
		    v.rec.seq);
		return -1;
	}
	for (size_t i = 0; i < r->rec.n_stores; i++) {
		size_t k = 0;
		while (k < v.rec.n_stores && v.stores[k] != r->stores[i])
			k++;
		if (k < v.rec.n_stores ||
		    v.rec.n_stores + added >= DIR_MAX_REPLICAS)
			continue;
		added++;
		for (uint32_t x = r->stores[i]; n < sizeof(body); x >>= 7) {
			body[n++] = (uint8_t)(x & 0x7f) | (x > 0x7f ? 0x80 : 0);
			if (x <= 0x7f)
				break;
		}
	}
	if (n == 0)
		return 0;
	r->extra[0] = 0x2a; /* field 5, length-delimited (packed) */
	r->extra[1] = (uint8_t)n;
	memcpy(r->extra + 2, body, n);
	r->nextra = n + 2;
	return 0;
}

/* Builds r's record and script arguments from its request. 0 or -1 (the
 * outcome set). */
static int
reg_prepare(struct dir *d, struct reg *r)
{
	const Hs__RegisterRequest *q = r->q;
	char why[200], client[RT_NAME_MAX];
	/* The token bounds the registration in time: past its expiry the
	 * needles may be gone as orphans. The script weighs the expiry, after
	 * its check for a resend of a committed registration. It names the
	 * stores that may register, and the principal the grant was for: one
	 * revoked since cannot have its uploads committed. */
	uint32_t named[1 + DIR_MAX_REPLICAS];
	size_t nn = 0;
	if (r->store != 0)
		named[nn++] = r->store;
	for (size_t i = 0; i < q->n_stores && nn < 1 + DIR_MAX_REPLICAS; i++)
		named[nn++] = q->stores[i];
	if (rt_token_verify(&d->key, q->write_token.data, q->write_token.len,
		q->id->key, q->id->cookie, named, nn, &r->expiry_ms, client,
		sizeof(client), why, sizeof(why)) != HS_OK ||
	    (client[0] != '\0' &&
		!dir_principal_known(d, client, why, sizeof(why)))) {
		reg_fail(r, HS_PERMISSION_DENIED, "RegisterPhoto: %s", why);
		return -1;
	}
	const char *expired = rt_now_ms() > r->expiry_ms ? "1" : "0";
	reg_record(d, r, q);
	if (reg_union(d, r) != 0)
		return -1;
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
	const char *argv[REG_ARGS] = { (const char *)r->packed, r->cookie,
		(const char *)q->sha256.data, r->size, expired,
		(const char *)r->extra, r->expect };
	size_t lens[REG_ARGS] = { plen, strlen(r->cookie), 32, strlen(r->size),
		1, r->nextra, strlen(r->expect) };
	memcpy(r->argv, argv, sizeof(argv));
	memcpy(r->lens, lens, sizeof(lens));
	return 0;
}

/* The record r's union committed at seq: memory's record and the extra
 * stores. */
static void
reg_apply_union(struct dir *d, struct reg *r, uint64_t seq)
{
	struct dir_rec_view v;
	if (dir_records_get(d->recs, r->id.key, &v) != 0) {
		d->writer_dirty = 1; /* cannot be: catch up before trusting */
		return;
	}
	for (size_t i = 0; i < r->rec.n_stores; i++) {
		size_t k = 0;
		while (k < v.rec.n_stores && v.stores[k] != r->stores[i])
			k++;
		if (k == v.rec.n_stores && v.rec.n_stores < DIR_MAX_REPLICAS)
			v.stores[v.rec.n_stores++] = r->stores[i];
	}
	dir_writer_applied(d, &v.rec, seq, "photo.updated");
}

/* Sets r's outcome from its script answer: how and seq. */
static void
reg_finish(struct dir *d, struct reg *r, long long how, uint64_t seq)
{
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
	if (how == 3) {
		d->writer_dirty = 1; /* memory may lag: catch up first */
		reg_fail(r, HS_UNAVAILABLE,
		    "the record of photo %s changed while it was registered "
		    "(seq %" PRIu64 "); resend the registration",
		    hex, seq);
		return;
	}
	if (how == 1) {
		dir_writer_applied(d, &r->rec, seq, "photo.registered");
		atomic_fetch_add(&d->registrations, 1);
	} else if (how == 2) {
		reg_apply_union(d, r, seq);
	}
	/* how == 0: a resend of a committed registration: same answer. */
	r->code = HS_OK;
	r->seq = seq;
}

/* Fails every registration of regs[0..n) with code and msg. */
static void
fail_all(struct reg **regs, size_t n, hs_status code, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		reg_fail(regs[i], code, "%s", msg);
}

/* Runs the one script for regs[0..n) (prepared) and sets each outcome. A
 * reply lost to a broken connection leaves them all unknown: they answer
 * "resend". */
static void
reg_script(struct dir *d, struct reg **regs, size_t n, const char *lease)
{
	char err[256], maxlen[24];
	size_t nkeys = 3 + n, argc = nkeys + 2 + REG_ARGS * n;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *lens = malloc(argc * sizeof(*lens));
	if (argv == NULL || lens == NULL) {
		fail_all(regs, n, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
	const char *head[] = { RK_LEADER, RK_SEQ, RK_LOG };
	for (size_t i = 0; i < 3; i++)
		argv[i] = head[i], lens[i] = strlen(head[i]);
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = regs[i]->pkey,
			 lens[3 + i] = strlen(regs[i]->pkey);
	argv[nkeys] = lease, lens[nkeys] = strlen(lease);
	argv[nkeys + 1] = maxlen, lens[nkeys + 1] = strlen(maxlen);
	for (size_t i = 0; i < n; i++) {
		memcpy(argv + nkeys + 2 + REG_ARGS * i, regs[i]->argv,
		    sizeof(regs[i]->argv));
		memcpy(lens + nkeys + 2 + REG_ARGS * i, regs[i]->lens,
		    sizeof(regs[i]->lens));
	}
	redisReply *rep = rt_redis_eval(d->writer.link, &dir_script_register,
	    (int)nkeys, (int)argc, argv, lens, err, sizeof(err));
	hs_status code;
	char msg[512];
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 2 * n) {
		for (size_t i = 0; i < n; i++)
			reg_finish(d, regs[i], rep->element[2 * i]->integer,
			    (uint64_t)rep->element[2 * i + 1]->integer);
	} else if (dir_writer_script_check(d, rep, err, &code, msg,
		       sizeof(msg))) {
		fail_all(regs, n, code, msg);
	} else {
		d->writer_dirty = 1;
		fail_all(regs, n, HS_INTERNAL, "register script: odd reply");
	}
	if (rep != NULL)
		freeReplyObject(rep);
out:
	free(argv);
	free(lens);
}

/* Prepares and commits regs[0..n) as leader under lease; each gets its
 * outcome. */
static void
reg_commit(struct dir *d, struct reg *regs, size_t n, const char *lease)
{
	struct reg **ok = malloc(n * sizeof(*ok));
	size_t nok = 0;
	if (ok == NULL) {
		for (size_t i = 0; i < n; i++)
			reg_fail(&regs[i], HS_RESOURCE_EXHAUSTED,
			    "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (reg_prepare(d, &regs[i]) == 0)
			ok[nok++] = &regs[i];
	if (nok > 0)
		reg_script(d, ok, nok, lease);
	for (size_t i = 0; i < nok; i++)
		free(ok[i]->packed);
	free(ok);
}

/* The store registering job j's photos: a batch names it (the handler
 * checked that the caller is that store). */
static uint32_t
job_store(const struct dir_job *j)
{
	return j->fn == register_batch_job ?
	    ((const Hs__RegisterBatchRequest *)j->req)->store_id :
	    0;
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
		for (size_t i = 0; i < n; i++)
			reg_fail(&regs[i], HS_UNAVAILABLE,
			    "cannot catch up with the change log: %s", err);
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
	while (nj < REG_JOBS && n < REG_BATCH &&
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
			for (size_t m = 0; m < k; m++) {
				regs[at].store = job_store(jobs[i]);
				regs[at++].q = qs[m];
			}
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
