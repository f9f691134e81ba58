/* The Store service surface: one handler per method of hs.Store. Reads,
 * listings and stats answer inline (memory or one pread); writes, deletes,
 * replication and compaction go to the slow queue because they fsync or
 * wait on peers, and nng's callback threads must never block. */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_stats.h"
#include "cache_push.h"
#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "rpc_push.h"
#include "store.h"
#include "store.pb-c.h"
#include "store_forward.h"
#include "token.h"

hs_status
store_status_from_engine(int err, char *msg, size_t msglen)
{
	hs_status st;
	switch (err) {
	case 0:
		st = HS_OK;
		break;
	case STORE_E_NOT_FOUND:
		st = HS_NOT_FOUND;
		break;
	case STORE_E_DATA_LOSS:
		st = HS_DATA_LOSS;
		break;
	case STORE_E_EXISTS:
		st = HS_ALREADY_EXISTS;
		break;
	case STORE_E_DELETED:
		st = HS_FAILED_PRECONDITION;
		break;
	case STORE_E_READONLY:
		st = HS_UNAVAILABLE;
		break;
	case STORE_E_TOO_BIG:
	case STORE_E_INVALID:
		st = HS_INVALID_ARGUMENT;
		break;
	default:
		st = err == -ENOSPC ? HS_RESOURCE_EXHAUSTED : HS_INTERNAL;
	}
	snprintf(msg, msglen, "%s", store_strerror(err));
	return st;
}

/* A call handed to the slow queue. */
struct call_job {
	struct store_service *svc;
	rpc_call *call;
	const ProtobufCMessage *req; /* owned by the call until it answers */
};

static void
queue_or_fail(struct store_service *svc, rpc_call *call,
    const ProtobufCMessage *req, rt_job_fn fn)
{
	struct call_job *j = malloc(sizeof(*j));
	if (j == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*j = (struct call_job){ .svc = svc, .call = call, .req = req };
	if (rt_workq_push(svc->slow, fn, j) != 0) {
		free(j);
		rpc_fail(call, HS_UNAVAILABLE, "%s is shutting down",
		    svc->name);
	}
}

static int
check_photo_id(rpc_call *call, const Hs__PhotoId *id)
{
	if (id == NULL || id->key == 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT, "missing photo id");
		return -1;
	}
	return 0;
}

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

/* The replicator's fence: a Replicate or Delete from a replicator whose
 * epoch is below the highest seen is refused, so one that was paused
 * mid-batch and lost its lease cannot act on a stale plan beside its
 * successor. Kept in memory: after a restart the first call sets it again,
 * and the directories fence the commits as well. 0 = not from the
 * replicator (a store's forward, the directory's tombstones). */
static int
check_repl_epoch(struct store_service *svc, rpc_call *call, uint64_t epoch)
{
	uint64_t seen = atomic_load(&svc->repl_epoch);
	while (epoch > seen &&
	    !atomic_compare_exchange_weak(&svc->repl_epoch, &seen, epoch))
		;
	if (epoch == 0 || epoch >= seen)
		return 0;
	rpc_fail(call, HS_FAILED_PRECONDITION,
	    "stale replicator epoch %llu: epoch %llu has taken over; this "
	    "replicator lost its lease and must stop acting",
	    (unsigned long long)epoch, (unsigned long long)seen);
	return -1;
}

/* Appends locally with the SHA-256 the caller checked (the needle records
 * it); on success counts and publishes needle.written. */
static int
put_local(struct store_service *svc, const Hs__PhotoId *id,
    const ProtobufCBinaryData *data, const ProtobufCBinaryData *sha)
{
	/* protobuf-c leaves an empty bytes field NULL; the engine wants a
	 * pointer even for zero bytes. */
	int rc = store_engine_put_sha(svc->engine, id->key, id->cookie,
	    data->data ? data->data : (const uint8_t *)"", data->len,
	    sha->data);
	if (rc == STORE_E_READONLY || (rc < 0 && rc > -10000))
		atomic_store(&svc->readonly, 1);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&svc->writes, 1);
	store_publish_needle(svc, "needle.written", id->key, id->cookie,
	    data->len, store_engine_active_volume(svc->engine));
	return 0;
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

	if (check_photo_id(call, req->id) != 0)
		return;
	if (rt_token_check(&svc->key, req->write_token.data,
		req->write_token.len, req->id->key, req->id->cookie,
		(uint32_t)svc->cfg.id, rt_now_ms(), why,
		sizeof(why)) != HS_OK) {
		rpc_fail(call, HS_PERMISSION_DENIED, "%s", why);
		return;
	}
	if (check_sha(call, &req->data, &req->sha256) != 0)
		return;
	struct fanout *f = forward_start(svc, req, rpc_call_deadline_ms(call));
	int rc = put_local(svc, req->id, &req->data, &req->sha256);
	/* Only the store a client wrote to pushes into the cache: one push
	 * per upload, not one per replica. */
	if (rc == 0)
		cache_push_put(svc->cache, req->id->key, req->id->cookie,
		    req->sha256.data, req->data.data, req->data.len);
	uint32_t ids[FORWARD_MAX + 1];
	size_t n = forward_wait(f, ids, why, sizeof(why));
	if (rc != 0) {
		char msg[128];
		hs_status st = store_status_from_engine(rc, msg, sizeof(msg));
		rpc_fail(call, st, "%s: cannot store the photo: %s", svc->name,
		    msg);
		return;
	}
	ids[n++] = (uint32_t)svc->cfg.id;
	uint32_t min = req->min_replicas ? req->min_replicas :
					   (uint32_t)svc->cfg.min_replicas;
	if (n < min) {
		rpc_fail(call, HS_UNAVAILABLE,
		    "only %zu of %zu copies are "
		    "durable, %u needed: %s; retry the upload",
		    n, req->n_peers + 1, min, why);
		return;
	}
	Hs__WriteReply reply = HS__WRITE_REPLY__INIT;
	reply.stored_on = ids;
	reply.n_stored_on = n;
	rpc_reply(call, &reply.base);
}

static void
store_write(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	queue_or_fail(arg, call, req, write_job);
}

static void
replicate_job(void *arg)
{
	struct call_job *j = arg;
	struct store_service *svc = j->svc;
	rpc_call *call = j->call;
	const Hs__ReplicateRequest *req = (const Hs__ReplicateRequest *)j->req;
	free(j);
	if (check_repl_epoch(svc, call, req->repl_epoch) != 0)
		return;

	Hs__ReplicateResult *res = calloc(req->n_needles ? req->n_needles : 1,
	    sizeof(*res));
	Hs__ReplicateResult **ptrs = calloc(req->n_needles ? req->n_needles : 1,
	    sizeof(*ptrs));
	if (res == NULL || ptrs == NULL) {
		free(res);
		free(ptrs);
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (size_t i = 0; i < req->n_needles; i++) {
		const Hs__Needle *nd = req->needles[i];
		uint8_t got[SHA256_DIGEST_LENGTH];
		char why[256];
		hs__replicate_result__init(&res[i]);
		ptrs[i] = &res[i];
		res[i].id = nd->id;
		if (nd->id == NULL || nd->sha256.len != sizeof(got)) {
			res[i].code = HS__CODE__INVALID_ARGUMENT;
			continue;
		}
		/* Copies from the replicator carry no token: the cluster MAC
		 * on the request already says who sent them. A token, if
		 * given, must be genuine. */
		if (req->write_token.len > 0 &&
		    rt_token_check(&svc->key, req->write_token.data,
			req->write_token.len, nd->id->key, nd->id->cookie,
			(uint32_t)svc->cfg.id, rt_now_ms(), why,
			sizeof(why)) != HS_OK) {
			res[i].code = HS__CODE__PERMISSION_DENIED;
			continue;
		}
		SHA256(nd->data.data ? nd->data.data : (const uint8_t *)"",
		    nd->data.len, got);
		if (memcmp(got, nd->sha256.data, sizeof(got)) != 0) {
			res[i].code = HS__CODE__INVALID_ARGUMENT;
			continue;
		}
		int rc = put_local(svc, nd->id, &nd->data, &nd->sha256);
		res[i].code = (Hs__Code)store_status_from_engine(rc, why,
		    sizeof(why));
	}
	Hs__ReplicateReply reply = HS__REPLICATE_REPLY__INIT;
	reply.results = ptrs;
	reply.n_results = req->n_needles;
	rpc_reply(call, &reply.base);
	free(res);
	free(ptrs);
}

static void
store_replicate(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	queue_or_fail(arg, call, req, replicate_job);
}

static void
store_read(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	struct store_service *svc = arg;
	const Hs__ReadRequest *req = (const Hs__ReadRequest *)msg;
	struct store_needle_info info;
	char idtxt[PHOTO_ID_HEX_LEN + 1], why[128];

	if (check_photo_id(call, req->id) != 0)
		return;
	photo_id_format(req->id->key, req->id->cookie, idtxt);
	int rc = store_engine_stat(svc->engine, req->id->key, &info);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rc == 0) {
		buf = malloc(info.size ? info.size : 1);
		rc = buf ? store_engine_get(svc->engine, req->id->key,
			       req->id->cookie, buf, info.size, &len) :
			   -ENOMEM;
	}
	if (rc != 0) {
		free(buf);
		hs_status st = store_status_from_engine(rc, why, sizeof(why));
		if (st == HS_DATA_LOSS) {
			atomic_fetch_add(&svc->corrupt, 1);
			store_report_corruption(svc, req->id->key,
			    req->id->cookie, "CRC mismatch on read");
			rpc_fail(call, st,
			    "%s: photo %s failed its checksum "
			    "here; read another replica",
			    svc->name, idtxt);
			return;
		}
		if (st == HS_NOT_FOUND)
			rpc_fail(call, st, "%s has no photo %s", svc->name,
			    idtxt);
		else
			rpc_fail(call, st, "%s: cannot read %s: %s", svc->name,
			    idtxt, why);
		return;
	}
	atomic_fetch_add(&svc->reads, 1);
	access_stats_count(svc->access, req->id->key, req->id->cookie);
	Hs__ReadReply reply = HS__READ_REPLY__INIT;
	reply.data.data = buf;
	reply.data.len = len;
	rpc_reply(call, &reply.base);
	free(buf);
}

static void
delete_job(void *arg)
{
	struct call_job *j = arg;
	struct store_service *svc = j->svc;
	rpc_call *call = j->call;
	const Hs__StoreDeleteRequest *req = (const Hs__StoreDeleteRequest *)
						j->req;
	char why[128];
	free(j);

	if (check_photo_id(call, req->id) != 0 ||
	    check_repl_epoch(svc, call, req->repl_epoch) != 0)
		return;
	/* The cache is the directory's to clear (it marks a photo it deletes):
	 * a store's Delete is also the replicator trimming an extra copy of a
	 * live photo, whose cache entry must stay. The kind says whether the
	 * key may come back here (a trim, an orphan) or never (a delete). */
	int rc = store_engine_delete_kind(svc->engine, req->id->key,
	    (enum store_delete_kind)req->kind);
	Hs__StoreDeleteReply reply = HS__STORE_DELETE_REPLY__INIT;
	if (rc == STORE_E_NOT_FOUND) { /* never written here: done too */
		rpc_reply(call, &reply.base);
		return;
	}
	if (rc != 0) {
		hs_status st = store_status_from_engine(rc, why, sizeof(why));
		rpc_fail(call, st, "%s: cannot delete: %s", svc->name, why);
		return;
	}
	atomic_fetch_add(&svc->deletes, 1);
	rt_log_info("deleted %016llx", (unsigned long long)req->id->key);
	store_publish_needle(svc, "needle.deleted", req->id->key,
	    req->id->cookie, 0, 0);
	reply.existed = 1;
	rpc_reply(call, &reply.base);
}

static void
store_delete(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	queue_or_fail(arg, call, req, delete_job);
}

static void
store_stats(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	struct store_service *svc = arg;
	struct store_stats st;
	(void)msg;
	if (store_engine_stats(svc->engine, &st) != 0) {
		rpc_fail(call, HS_INTERNAL, "cannot read engine stats");
		return;
	}
	Hs__StoreInfo info = HS__STORE_INFO__INIT;
	info.id = (uint32_t)svc->cfg.id;
	info.rpc_addr = (char *)svc->cfg.advertise;
	info.pub_addr = (char *)svc->cfg.pub;
	info.zone = (char *)svc->cfg.zone;
	info.state = atomic_load(&svc->readonly) ?
	    HS__STORE_STATE__STORE_READONLY :
	    HS__STORE_STATE__STORE_UP;
	info.volumes = (uint32_t)st.volumes;
	info.needles = st.needles;
	Hs__StoreStatsReply reply = HS__STORE_STATS_REPLY__INIT;
	reply.store = &info;
	reply.live_bytes = st.live_bytes;
	reply.dead_bytes = st.dead_bytes;
	reply.reads = atomic_load(&svc->reads);
	reply.writes = atomic_load(&svc->writes);
	reply.deletes = atomic_load(&svc->deletes);
	reply.corrupt = atomic_load(&svc->corrupt) + st.bad_needles;
	reply.index_bytes_per_needle = st.bytes_per_needle;
	rpc_reply(call, &reply.base);
}

static void
compact_job(void *arg)
{
	struct call_job *j = arg;
	struct store_service *svc = j->svc;
	rpc_call *call = j->call;
	const Hs__CompactRequest *req = (const Hs__CompactRequest *)j->req;
	struct store_stats before, after;
	free(j);

	store_engine_stats(svc->engine, &before);
	int rc = req->volume ? store_engine_compact(svc->engine, req->volume) :
			       store_engine_compact_due(svc->engine);
	if (rc < 0) {
		char why[128];
		hs_status st = store_status_from_engine(rc, why, sizeof(why));
		rpc_fail(call, st, "%s: compaction failed: %s", svc->name, why);
		return;
	}
	store_engine_stats(svc->engine, &after);
	Hs__CompactReply reply = HS__COMPACT_REPLY__INIT;
	reply.volumes_compacted = req->volume ? 1 : (uint32_t)rc;
	reply.bytes_reclaimed = before.dead_bytes > after.dead_bytes ?
	    before.dead_bytes - after.dead_bytes :
	    0;
	if (reply.volumes_compacted > 0)
		store_publish_compacted(svc, req->volume,
		    reply.bytes_reclaimed);
	rpc_reply(call, &reply.base);
}

static void
store_compact(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	queue_or_fail(arg, call, req, compact_job);
}

static const struct rpc_method store_methods[] = {
	{ "Write", store_write },
	{ "Replicate", store_replicate },
	{ "Read", store_read },
	{ "Delete", store_delete },
	{ "ListNeedles", store_list_needles },
	{ "Stats", store_stats },
	{ "Compact", store_compact },
	{ "Push", store_push },
};

int
store_rpc_add(struct store_service *svc)
{
	return rpc_server_add_service(svc->rpc, &hs__store__descriptor,
	    store_methods, sizeof(store_methods) / sizeof(store_methods[0]),
	    svc);
}
