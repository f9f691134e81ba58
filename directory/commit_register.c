/* RegisterPhoto on the writer thread. Registrations queued together are
 * committed as one Redis pipeline: with appendfsync always, Redis fsyncs
 * its AOF once per event-loop turn, so a batch shares one fsync instead of
 * paying one each. They still commit one by one, in queue order, each in
 * its own fenced script (dir_script_register: a resend of the same photo
 * answers its seq again; another photo under the same key is refused). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dir_forward.h"
#include "photo_id.h"
#include "scripts.h"
#include "token.h"
#include "writer_impl.h"

#define REG_BATCH 64
#define REG_ARGS 11

/* One registration of a batch. Owns packed; argv points into it. */
struct reg {
	struct dir_job *j;
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

static int
is_register(void *arg)
{
	return ((struct dir_job *)arg)->fn == register_job;
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
 * call answered). */
static int
reg_prepare(struct dir *d, struct reg *r, const char *lease, const char *maxlen)
{
	const Hs__RegisterRequest *q = (const Hs__RegisterRequest *)r->j->req;
	char why[256];
	/* The token bounds the registration in time: past its expiry the
	 * needles may be gone as orphans. The script weighs the expiry, after
	 * its check for a resend of a committed registration. */
	if (rt_token_verify(&d->key, q->write_token.data, q->write_token.len,
		q->id->key, q->id->cookie, &r->expiry_ms, why,
		sizeof(why)) != HS_OK) {
		rpc_fail(r->j->call, HS_PERMISSION_DENIED, "RegisterPhoto: %s",
		    why);
		return -1;
	}
	const char *expired = rt_now_ms() > r->expiry_ms ? "1" : "0";
	reg_record(d, r, q);
	size_t plen = hs__photo_record__get_packed_size(&r->rec);
	r->packed = malloc(plen);
	if (r->packed == NULL) {
		rpc_fail(r->j->call, HS_RESOURCE_EXHAUSTED, "out of memory");
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

/* Answers r's call from its script reply (rep may be NULL: err says why). */
static void
reg_finish(struct dir *d, struct reg *r, redisReply *rep, const char *err)
{
	if (dir_writer_script_failed(r->j, rep, err))
		return;
	long long how = rep->element[0]->integer;
	uint64_t seq = (uint64_t)rep->element[1]->integer;
	Hs__RegisterReply out = HS__REGISTER_REPLY__INIT;
	out.seq = seq;
	char hex[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(r->id.key, r->id.cookie, hex);
	if (how == -4) {
		rpc_fail(r->j->call, HS_PERMISSION_DENIED,
		    "photo %s: write token expired at %" PRId64
		    " (Unix ms, %" PRId64 " ms ago); upload again",
		    hex, r->expiry_ms, rt_now_ms() - r->expiry_ms);
		return;
	}
	if (how == -1) {
		rpc_fail(r->j->call, HS_ALREADY_EXISTS,
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
	rpc_reply(r->j->call, &out.base);
}

/* Commits regs[1..n) as one pipeline of EVALSHAs (regs[0] went alone, so
 * the script is known to this Redis). A reply lost to a broken connection
 * leaves that commit and the rest unknown: they answer "resend". */
static void
reg_pipeline(struct dir *d, struct reg *regs, size_t n)
{
	rt_redis *link = d->writer.link;
	char err[256], nk[] = "4";
	redisContext *ctx = rt_redis_ctx(link, err, sizeof(err));
	size_t sent = 0;
	for (size_t i = 1; ctx != NULL && i < n; i++, sent++) {
		const char *a[3 + REG_ARGS] = { "EVALSHA",
			dir_script_register.sha, nk };
		size_t l[3 + REG_ARGS] = { 7, 40, 1 };
		memcpy(a + 3, regs[i].argv, sizeof(regs[i].argv));
		memcpy(l + 3, regs[i].lens, sizeof(regs[i].lens));
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
		reg_finish(d, &regs[i], rep, err);
		if (rep != NULL)
			freeReplyObject(rep);
	}
}

/* Prepares and commits regs[0..n) as leader under lease. */
static void
reg_commit(struct dir *d, struct reg *regs, size_t n, const char *lease)
{
	char err[256], maxlen[24];
	snprintf(maxlen, sizeof(maxlen), "%" PRId64, d->cfg.log_max_len);
	/* Prepared ones move to the front; a failed prepare answered. */
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		/* In place: the arguments point into their reg. */
		regs[ok].j = regs[i].j;
		if (reg_prepare(d, &regs[ok], lease, maxlen) == 0)
			ok++;
	}
	if (ok > 0) {
		redisReply *rep = rt_redis_eval(d->writer.link,
		    &dir_script_register, 4, REG_ARGS, regs[0].argv,
		    regs[0].lens, err, sizeof(err));
		reg_finish(d, &regs[0], rep, err);
		if (rep != NULL)
			freeReplyObject(rep);
		reg_pipeline(d, regs, ok);
	}
	for (size_t i = 0; i < ok; i++)
		free(regs[i].packed);
}

static void
register_job(struct dir_job *j)
{
	struct dir *d = j->d;
	struct dir_job *more[REG_BATCH - 1];
	size_t extra = rt_workq_take_more(d->writer.q, dir_writer_run,
	    is_register, (void **)more, REG_BATCH - 1);
	struct reg *regs = calloc(extra + 1, sizeof(*regs));
	char lease[128], err[256];
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
	if (!dir_is_leader(d, lease, sizeof(lease), NULL)) {
		for (size_t i = 0; i < n; i++)
			dir_forward(d, regs[i].j->call, regs[i].j->req);
	} else if (dir_writer_ensure_synced(d, err, sizeof(err)) != 0) {
		for (size_t i = 0; i < n; i++)
			rpc_fail(regs[i].j->call, HS_UNAVAILABLE,
			    "cannot "
			    "catch up with the change log: %s",
			    err);
	} else {
		reg_commit(d, regs, n, lease);
	}
	for (size_t i = 0; i < extra; i++)
		free(more[i]); /* j itself is freed by dir_writer_run */
	free(regs);
}

void
dir_writer_register(struct dir *d, rpc_call *call,
    const Hs__RegisterRequest *req)
{
	dir_writer_push(d, call, &req->base, register_job);
}
