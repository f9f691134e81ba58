/* The Store service's write path: Write (check, append, forward as
 * multi-writes, register once MIN_REPLICA_COUNT copies are durable, answer
 * with the record's seq, push into the cache) and Replicate (a batch of
 * needles from a peer or the replicator, durable with one fdatasync). Write
 * runs on the slow queue (it fsyncs and waits on peers), Replicate on the
 * copies queue (it fsyncs and waits on nobody). */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_push.h"
#include "clock.h"
#include "delete_follow.h"
#include "directory.pb-c.h"
#include "registrar.h"
#include "rpc_util.h"
#include "store/engine/engine_batch.h"
#include "store_forward.h"
#include "token.h"

static int
check_sha(rpc_call *call, const ProtobufCBinaryData *data,
    const ProtobufCBinaryData *sha)
{
	uint8_t got[SHA256_DIGEST_LENGTH];
	if (sha->len != SHA256_DIGEST_LENGTH) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "sha256 must be 32 bytes, got %zu", sha->len);
		return -1;
	}
	SHA256(data->data ? data->data : (const uint8_t *)"", data->len, got);
	if (memcmp(got, sha->data, sizeof(got)) != 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "data does not match its "
		    "SHA-256: corrupted in transit, or a client bug; "
		    "upload again");
		return -1;
	}
	return 0;
}

/* After a local put: an I/O failure turns the store read-only; a success
 * is counted and published as needle.written. Returns rc. */
static int
put_done(struct store_service *svc, const Hs__PhotoId *id, size_t len, int rc)
{
	if (rc == STORE_E_READONLY || (rc < 0 && rc > -10000))
		atomic_store(&svc->readonly, 1);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&svc->writes, 1);
	store_publish_needle(svc, "needle.written", id->key, id->cookie, len,
	    store_engine_active_volume(svc->engine));
	return 0;
}

/* protobuf-c leaves an empty bytes field NULL; the engine wants a pointer
 * even for zero bytes. */
static const uint8_t *
bytes_of(const ProtobufCBinaryData *b)
{
	return b->data ? b->data : (const uint8_t *)"";
}

/* Appends locally with the SHA-256 the caller checked (the needle records
 * it). */
static int
put_local(struct store_service *svc, const Hs__PhotoId *id,
    const ProtobufCBinaryData *data, const ProtobufCBinaryData *sha)
{
	int rc = store_put_allowed(svc, id->key, id->cookie, 0);
	if (rc == 0)
		rc = store_engine_put_sha(svc->engine, id->key, id->cookie,
		    bytes_of(data), data->len, sha->data);
	if (rc == 0)
		rc = store_put_allowed(svc, id->key, id->cookie, 1);
	return put_done(svc, id, data->len, rc);
}

/* Whether a genuine token is a grant's (v2: the store registers what it
 * takes) rather than one photo's (v1: its client registers it). */
static int
token_is_grant(const ProtobufCBinaryData *tok)
{
	Hs__WriteToken *t = hs__write_token__unpack(NULL, tok->len, tok->data);
	int grant = t != NULL && t->id == NULL && t->count > 0;
	if (t != NULL)
		hs__write_token__free_unpacked(t, NULL);
	return grant;
}

static void
answer_write(rpc_call *call, const uint32_t *ids, size_t n, uint64_t seq)
{
	Hs__WriteReply reply = HS__WRITE_REPLY__INIT;
	reply.stored_on = (uint32_t *)ids;
	reply.n_stored_on = n;
	reply.seq = seq;
	rpc_reply(call, &reply.base);
}

/* v2: the photo is durable on ids[0..n) (MIN copies or more): register it,
 * then answer with its seq and push it into the cache (only the store a
 * client wrote to pushes: one push per upload). Copies that become durable
 * after this registration join a later batch. */
static void
register_and_answer(struct store_service *svc, rpc_call *call,
    const Hs__WriteRequest *req, struct fanout *f, const uint32_t *ids,
    size_t n)
{
	char why[256];
	uint64_t seq = 0;
	int64_t deadline = rpc_call_deadline_ms(call);
	deadline = deadline ? deadline - 50 : rt_now_ms() + 10000;
	struct reg_photo *p = reg_photo_new(svc->reg, req);
	hs_status st = p == NULL ? HS_RESOURCE_EXHAUSTED :
				   registrar_register(svc->reg, p, ids, n,
				       deadline, &seq, why, sizeof(why));
	if (p == NULL)
		snprintf(why, sizeof(why), "out of memory");
	if (st == HS_OK)
		forward_release(f, registrar_late_copy, free, p);
	else
		forward_release(f, NULL, free, p);
	if (st != HS_OK) {
		rpc_fail(call, st,
		    "%s: the photo is durable on %zu stores but the "
		    "directory did not register it: %s; retry the upload "
		    "with the same id",
		    svc->name, n, why);
		return;
	}
	cache_push_put(svc->cache, req->id->key, req->id->cookie,
	    req->sha256.data, req->data.data, req->data.len);
	answer_write(call, ids, n, seq);
}

/* The checks of a Write before any byte is stored: 0, or -1 after failing
 * the call. */
static int
check_write(struct store_service *svc, rpc_call *call,
    const Hs__WriteRequest *req)
{
	char why[256];
	if (store_check_photo_id(call, req->id) != 0)
		return -1;
	if (rt_token_check(&svc->key, req->write_token.data,
		req->write_token.len, req->id->key, req->id->cookie,
		(uint32_t)svc->cfg.id, rpc_call_peer(call), rt_now_ms(), why,
		sizeof(why)) != HS_OK) {
		rpc_fail(call, HS_PERMISSION_DENIED, "%s", why);
		return -1;
	}
	return check_sha(call, &req->data, &req->sha256);
}

static void
write_job(void *arg)
{
	struct call_job *j = arg;
	struct store_service *svc = j->svc;
	rpc_call *call = j->call;
	const Hs__WriteRequest *req = (const Hs__WriteRequest *)j->req;
	char why[256];
	free(j);

	if (check_write(svc, call, req) != 0)
		return;
	/* A client may ask for more copies before the answer, never fewer
	 * than the cluster's MIN_REPLICA_COUNT. */
	uint32_t min = (uint32_t)svc->cfg.min_replicas;
	if (req->min_replicas > min)
		min = req->min_replicas;
	int grant = token_is_grant(&req->write_token);
	struct fanout *f = forward_start(svc, req, rpc_call_deadline_ms(call));
	int rc = put_local(svc, req->id, &req->data, &req->sha256);
	/* v2 registers as soon as MIN copies are durable; v1 (whose client
	 * registers the stores it is told) waits for every peer. */
	size_t need = rc != 0 ? 0 : !grant ? SIZE_MAX : min > 1 ? min - 1 : 0;
	uint32_t ids[FORWARD_MAX + 1];
	size_t n = forward_wait(f, need, ids, why, sizeof(why));
	if (rc == 0)
		ids[n++] = (uint32_t)svc->cfg.id;
	if (rc != 0 || n < min || !grant)
		forward_release(f, NULL, NULL, NULL);
	if (rc != 0) {
		char msg[128];
		hs_status st = store_status_from_engine(rc, msg, sizeof(msg));
		rpc_fail(call, st, "%s: cannot store the photo: %s", svc->name,
		    msg);
	} else if (n < min) {
		rpc_fail(call, HS_UNAVAILABLE,
		    "only %zu of %zu copies are "
		    "durable, %u needed: %s; retry the upload",
		    n, req->n_peers + 1, min, why);
	} else if (grant) {
		register_and_answer(svc, call, req, f, ids, n);
	} else {
		cache_push_put(svc->cache, req->id->key, req->id->cookie,
		    req->sha256.data, req->data.data, req->data.len);
		answer_write(call, ids, n, 0);
	}
}

void
store_write(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	struct store_service *svc = arg;
	store_queue_or_fail(svc, svc->slow, call, req, write_job);
}

/* The checks of one needle of a Replicate: HS__CODE__OK when it may be
 * stored. Copies from the replicator carry no token (the cluster MAC on
 * the request says who sent them); a token, the needle's own or else the
 * request's, must be genuine and name this store. */
static Hs__Code
check_needle(struct store_service *svc, const Hs__ReplicateRequest *req,
    const Hs__Needle *nd)
{
	uint8_t got[SHA256_DIGEST_LENGTH];
	char why[256];
	const ProtobufCBinaryData *tok = nd->write_token.len ?
	    &nd->write_token :
	    &req->write_token;
	if (nd->id == NULL || nd->sha256.len != sizeof(got))
		return HS__CODE__INVALID_ARGUMENT;
	if (tok->len > 0 &&
	    rt_token_check(&svc->key, tok->data, tok->len, nd->id->key,
		nd->id->cookie, (uint32_t)svc->cfg.id, NULL, rt_now_ms(), why,
		sizeof(why)) != HS_OK)
		return HS__CODE__PERMISSION_DENIED;
	SHA256(bytes_of(&nd->data), nd->data.len, got);
	if (memcmp(got, nd->sha256.data, sizeof(got)) != 0)
		return HS__CODE__INVALID_ARGUMENT;
	return HS__CODE__OK;
}

/* Stores the needles that passed their checks as one batch (one
 * fdatasync for all) and writes each one's code into res. */
static void
put_batch(struct store_service *svc, const Hs__ReplicateRequest *req,
    Hs__ReplicateResult *res)
{
	size_t n = req->n_needles, np = 0;
	struct store_put *puts = calloc(n, sizeof(*puts));
	size_t *at = calloc(n, sizeof(*at));
	int *rc = calloc(n, sizeof(*rc));
	for (size_t i = 0; i < n && puts && at && rc; i++) {
		const Hs__Needle *nd = req->needles[i];
		if (res[i].code == HS__CODE__OK &&
		    store_put_allowed(svc, nd->id->key, nd->id->cookie, 0))
			res[i].code = HS__CODE__FAILED_PRECONDITION;
		if (res[i].code != HS__CODE__OK)
			continue;
		puts[np] = (struct store_put){ nd->id->key, nd->id->cookie,
			bytes_of(&nd->data), nd->data.len, nd->sha256.data };
		at[np++] = i;
	}
	if (puts == NULL || at == NULL || rc == NULL)
		for (size_t i = 0; i < n; i++)
			res[i].code = HS__CODE__RESOURCE_EXHAUSTED;
	store_engine_put_many(svc->engine, puts, np, rc);
	for (size_t k = 0; k < np; k++) {
		const Hs__Needle *nd = req->needles[at[k]];
		char why[128];
		if (rc[k] == 0)
			rc[k] = store_put_allowed(svc, nd->id->key,
			    nd->id->cookie, 1);
		int r = put_done(svc, nd->id, nd->data.len, rc[k]);
		res[at[k]].code = (Hs__Code)store_status_from_engine(r, why,
		    sizeof(why));
	}
	free(puts);
	free(at);
	free(rc);
}

static void
replicate_job(void *arg)
{
	struct call_job *j = arg;
	struct store_service *svc = j->svc;
	rpc_call *call = j->call;
	const Hs__ReplicateRequest *req = (const Hs__ReplicateRequest *)j->req;
	free(j);
	if (store_check_repl_epoch(svc, call, req->repl_epoch) != 0)
		return;
	size_t n = req->n_needles;
	Hs__ReplicateResult *res = calloc(n ? n : 1, sizeof(*res));
	Hs__ReplicateResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (res == NULL || ptrs == NULL) {
		free(res);
		free(ptrs);
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	atomic_fetch_add(&svc->replicate_calls, 1);
	atomic_fetch_add(&svc->replicate_needles, n);
	for (size_t i = 0; i < n; i++) {
		hs__replicate_result__init(&res[i]);
		ptrs[i] = &res[i];
		res[i].id = req->needles[i]->id;
		res[i].code = check_needle(svc, req, req->needles[i]);
	}
	put_batch(svc, req, res);
	Hs__ReplicateReply reply = HS__REPLICATE_REPLY__INIT;
	reply.results = ptrs;
	reply.n_results = n;
	rpc_reply(call, &reply.base);
	free(res);
	free(ptrs);
}

void
store_replicate(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	/* A queue of its own: writes hold their workers while they wait on
	 * peers, so a peer's copies queued behind them could wait for
	 * writes that wait for them. Replicate waits on this disk only. */
	struct store_service *svc = arg;
	store_queue_or_fail(svc, svc->copies, call, req, replicate_job);
}
