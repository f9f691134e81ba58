/* The Store service surface: one handler per method of hs.Store. Reads,
 * listings and stats answer inline (memory or one pread); writes, deletes,
 * replication and compaction go to the slow queue because they fsync or
 * wait on peers, and nng's callback threads must never block. The write
 * path (Write, Replicate) is in rpc_write.c. */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_stats.h"
#include "cache_push.h"
#include "clock.h"
#include "delete_follow.h"
#include "log.h"
#include "photo_id.h"
#include "registrar.h"
#include "rpc_push.h"
#include "rpc_util.h"
#include "store.h"
#include "store.pb-c.h"
#include "store/engine/vio.h"

/* Answers a Read the engine refused (rc); bad bytes are reported. */
static void
read_failed(struct store_service *svc, rpc_call *call, const Hs__PhotoId *id,
    int rc)
{
	char idtxt[PHOTO_ID_HEX_LEN + 1], why[128];
	photo_id_format(id->key, id->cookie, idtxt);
	hs_status st = store_status_from_engine(rc, why, sizeof(why));
	if (st == HS_DATA_LOSS) {
		atomic_fetch_add(&svc->corrupt, 1);
		store_report_corruption(svc, id->key, id->cookie,
		    "CRC mismatch on read");
		rpc_fail(call, st,
		    "%s: photo %s failed its checksum here; read another "
		    "replica",
		    svc->name, idtxt);
	} else if (st == HS_NOT_FOUND) {
		rpc_fail(call, st, "%s has no photo %s", svc->name, idtxt);
	} else {
		rpc_fail(call, st, "%s: cannot read %s: %s", svc->name, idtxt,
		    why);
	}
}

static void
store_read(rpc_call *call, const ProtobufCMessage *msg, void *arg)
{
	struct store_service *svc = arg;
	const Hs__ReadRequest *req = (const Hs__ReadRequest *)msg;
	char why[160];

	if (store_check_photo_id(call, req->id) != 0)
		return;
	/* A read that went through no Lookup may name a photo deleted since:
	 * served only while every published delete is applied here; never
	 * NOT_FOUND for that (the photo may be live), UNAVAILABLE. */
	if (req->by_hint &&
	    !delete_follow_may_serve(svc->follow, why, sizeof(why))) {
		rpc_fail(call, HS_UNAVAILABLE, "%s: %s; look the photo up",
		    svc->name, why);
		return;
	}
	/* One positional read, CRC checked before any byte leaves; the
	 * needle's SHA-256 goes with the bytes, so a reader that made no
	 * Lookup can check them too. */
	struct store_read rd = { 0 };
	int rc = store_engine_read(svc->engine, req->id->key, req->id->cookie,
	    &rd);
	if (rc != 0) {
		store_read_free(&rd);
		read_failed(svc, call, req->id, rc);
		return;
	}
	atomic_fetch_add(&svc->reads, 1);
	access_stats_count(svc->access, req->id->key, req->id->cookie);
	Hs__ReadReply reply = HS__READ_REPLY__INIT;
	reply.data.data = (uint8_t *)rd.data;
	reply.data.len = rd.len;
	if (rd.has_sha256) {
		reply.sha256.data = rd.sha256;
		reply.sha256.len = sizeof(rd.sha256);
	}
	rpc_reply(call, &reply.base);
	store_read_free(&rd);
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

	if (store_check_photo_id(call, req->id) != 0 ||
	    store_check_repl_epoch(svc, call, req->repl_epoch) != 0)
		return;
	/* The cache is the directory's to clear (it marks a photo it deletes):
	 * a store's Delete is also the replicator trimming an extra copy of a
	 * live photo, whose cache entry must stay. The kind says whether the
	 * key may come back here (a trim, an orphan) or never (a delete). */
	int rc = store_delete_needle(svc, req->id->key, req->id->cookie,
	    (enum store_delete_kind)req->kind);
	Hs__StoreDeleteReply reply = HS__STORE_DELETE_REPLY__INIT;
	if (rc == STORE_E_NOT_FOUND) { /* never written here: done too */
		if (req->kind == HS__DELETE_KIND__DELETE_KIND_NONE ||
		    req->kind == HS__DELETE_KIND__DELETE_KIND_DELETE)
			store_note_gone(svc, req->id->key, req->id->cookie);
		rpc_reply(call, &reply.base);
		return;
	}
	if (rc != 0) {
		hs_status st = store_status_from_engine(rc, why, sizeof(why));
		rpc_fail(call, st, "%s: cannot delete: %s", svc->name, why);
		return;
	}
	reply.existed = 1;
	rpc_reply(call, &reply.base);
}

static void
store_delete(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	store_queue_or_fail(arg, ((struct store_service *)arg)->slow, call, req,
	    delete_job);
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
	reply.replicate_calls = atomic_load(&svc->replicate_calls);
	reply.replicate_needles = atomic_load(&svc->replicate_needles);
	reply.fdatasyncs = (uint64_t)vio_sync_count();
	reply.deletes_applied_seq = delete_follow_applied(svc->follow);
	registrar_counts(svc->reg, &reply.registered, &reply.register_calls);
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
	store_queue_or_fail(arg, ((struct store_service *)arg)->slow, call, req,
	    compact_job);
}

static const struct rpc_method store_methods[] = {
	{ "Write", store_write, RT_ROLES_USER },
	{ "Replicate", store_replicate, RT_ROLE_STORE | RT_ROLE_REPLICATOR },
	{ "Read", store_read, RT_ROLES_ANY },
	{ "Delete", store_delete, RT_ROLE_DIRECTORY | RT_ROLE_REPLICATOR },
	{ "ListNeedles", store_list_needles,
	    RT_ROLE_ADMIN | RT_ROLE_REPLICATOR | RT_ROLE_DIRECTORY },
	{ "Stats", store_stats, RT_ROLES_ANY },
	{ "Compact", store_compact, RT_ROLE_ADMIN },
	{ "Push", store_push, RT_ROLE_REPLICATOR },
};

int
store_rpc_add(struct store_service *svc)
{
	return rpc_server_add_service(svc->rpc, &hs__store__descriptor,
	    store_methods, sizeof(store_methods) / sizeof(store_methods[0]),
	    svc);
}
