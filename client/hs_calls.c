/* The one-call operations of libhs: a photo's status, delete, the
 * directory's stats and health, the cache's counters, and the replicator's
 * queue and audit. Each is one directory or replicator call (directory
 * calls retried through hsi_dir_call); upload and download, with their
 * own retry logic, live in upload.c and download.c. */
#include <stdio.h>
#include <string.h>

#include "hs_internal.h"

/* The replicator's read rate of id (reads/min), or -1 when there is no
 * replicator or it does not answer within half a second: status is about
 * the record, and must not fail for want of a rate. */
static double
access_rate(hs_client *c, hs_photo_id id)
{
	if (c->repl == NULL)
		return -1;
	Hs__AccessRatesRequest req = HS__ACCESS_RATES_REQUEST__INIT;
	Hs__PhotoId pid, *ids[1] = { &pid };
	ProtobufCMessage *reply = NULL;
	hsi_id_to_pb(id, &pid);
	req.ids = ids;
	req.n_ids = 1;
	double rate = -1;
	if (rpc_invoke(c->repl, &hs__replicator__descriptor, "AccessRates",
		&req.base, &reply, 500, 0, NULL) == HS_OK) {
		const Hs__AccessRatesReply *r = (Hs__AccessRatesReply *)reply;
		if (r->n_reads_per_min == 1)
			rate = r->reads_per_min[0];
	}
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return rate;
}

hs_status
hs_stat(hs_client *c, hs_photo_id id, int64_t timeout_ms,
    struct hs_photo_info *out, hs_error *err)
{
	Hs__LookupReply *r;
	Hs__LookupResult *x;
	hs_status st = hsi_lookup(c, id, 1, hsi_deadline(timeout_ms), &r, &x,
	    err);
	if (st != HS_OK)
		return st;
	const Hs__PhotoRecord *rec = x->record;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->size = rec->size;
	if (rec->sha256.len == HS_SHA256_LEN)
		memcpy(out->sha256, rec->sha256.data, HS_SHA256_LEN);
	out->state = (enum hs_photo_state)rec->state;
	out->target_replicas = rec->target_replicas;
	out->created_ms = rec->created_ms;
	out->updated_ms = rec->updated_ms;
	out->seq = rec->seq;
	out->access_rate = access_rate(c, id);
	for (size_t i = 0; i < x->n_replicas && i < HS_MAX_REPLICAS; i++) {
		struct hs_replica *o = &out->replicas[out->nreplicas++];
		o->store_id = x->replicas[i]->store_id;
		o->state = (enum hs_store_state)x->replicas[i]->state;
		snprintf(o->addr, sizeof(o->addr), "%s",
		    x->replicas[i]->rpc_addr);
		snprintf(o->zone, sizeof(o->zone), "%s", x->replicas[i]->zone);
	}
	hs__lookup_reply__free_unpacked(r, NULL);
	return HS_OK;
}

hs_status
hs_delete(hs_client *c, hs_photo_id id, int64_t timeout_ms, hs_error *err)
{
	Hs__DeleteRequest req = HS__DELETE_REQUEST__INIT;
	Hs__PhotoId pid;
	ProtobufCMessage *reply = NULL;
	char hex[HS_ID_HEX_LEN + 1], what[64];
	hsi_id_to_pb(id, &pid);
	hs_id_format(id, hex);
	snprintf(what, sizeof(what), "delete of %s", hex);
	req.id = &pid;
	hsi_locations_forget(c->locs, id);
	hs_status st = hsi_dir_call(c, "Delete", &req.base, &reply,
	    hsi_deadline(timeout_ms), what, err);
	if (st == HS_NOT_FOUND)
		return hsi_err(err, st,
		    "photo %s does not exist (never uploaded "
		    "or a wrong cookie)",
		    hex);
	if (st != HS_OK)
		return st;
	/* Later lookups through this client must see the delete. */
	hsi_seq_remember(c, id, ((Hs__DeleteReply *)reply)->seq);
	hsi_locations_forget(c->locs, id);
	protobuf_c_message_free_unpacked(reply, NULL);
	return HS_OK;
}

/* Hands reply to out, which points to a pointer of the reply's own type
 * (e.g. Hs__HealthReply **): every pointer to a struct has the same
 * representation (C11 6.2.5), so the copy is exact and no cast aliases. */
static void
give_reply(void *out, ProtobufCMessage *reply)
{
	memcpy(out, &reply, sizeof(reply));
}

/* One directory call through hsi_dir_call; on HS_OK the reply is handed
 * to out (see give_reply) and is the caller's. */
static hs_status
dir_get(hs_client *c, const char *method, const ProtobufCMessage *req,
    void *out, int64_t timeout_ms, const char *what, hs_error *err)
{
	ProtobufCMessage *reply = NULL;
	hs_status st = hsi_dir_call(c, method, req, &reply,
	    hsi_deadline(timeout_ms), what, err);
	if (st == HS_OK)
		give_reply(out, reply);
	return st;
}

/* One call to the replicator; no retries, its standby takes over by
 * itself and the caller can ask again. On HS_OK as dir_get. */
static hs_status
repl_get(hs_client *c, const char *method, const ProtobufCMessage *req,
    void *out, int64_t timeout_ms, hs_error *err)
{
	struct rpc_error re;
	ProtobufCMessage *reply = NULL;
	if (c->repl == NULL)
		return hsi_err(err, HS_FAILED_PRECONDITION,
		    "the cluster file "
		    "names no replicator (`replicator = tcp://HOST:PORT`)");
	hs_status st = rpc_invoke(c->repl, &hs__replicator__descriptor, method,
	    req, &reply, timeout_ms > 0 ? timeout_ms : HS_DEFAULT_TIMEOUT_MS, 0,
	    &re);
	if (st != HS_OK)
		return hsi_err(err, st, "replicator %s at %s failed: %s",
		    method, c->cfg.replicator, re.message);
	give_reply(out, reply);
	return HS_OK;
}

hs_status
hs_stats(hs_client *c, int64_t timeout_ms, Hs__DirectoryStatsReply **out,
    hs_error *err)
{
	Hs__DirectoryStatsRequest req = HS__DIRECTORY_STATS_REQUEST__INIT;
	return dir_get(c, "Stats", &req.base, out, timeout_ms, "stats", err);
}

hs_status
hs_health(hs_client *c, int64_t timeout_ms, Hs__HealthReply **out,
    hs_error *err)
{
	Hs__HealthRequest req = HS__HEALTH_REQUEST__INIT;
	return dir_get(c, "Health", &req.base, out, timeout_ms, "health", err);
}

hs_status
hs_cache_stats(hs_client *c, int64_t timeout_ms, struct hs_cache_stats *out,
    hs_error *err)
{
	if (out == NULL)
		return hsi_err(err, HS_INVALID_ARGUMENT, "no output given");
	memset(out, 0, sizeof(*out));
	if (c->cache != NULL)
		hsi_cache_info(c->cache, hsi_deadline(timeout_ms), out);
	out->client_hits = atomic_load(&c->cache_hits);
	out->client_misses = atomic_load(&c->cache_misses);
	return HS_OK;
}

hs_status
hs_queue(hs_client *c, int64_t timeout_ms, Hs__QueueReply **out, hs_error *err)
{
	Hs__QueueRequest req = HS__QUEUE_REQUEST__INIT;
	return repl_get(c, "Queue", &req.base, out, timeout_ms, err);
}

hs_status
hs_audit(hs_client *c, int wait, int64_t timeout_ms, Hs__AuditReply **out,
    hs_error *err)
{
	Hs__AuditRequest req = HS__AUDIT_REQUEST__INIT;
	req.wait = wait != 0;
	return repl_get(c, "Audit", &req.base, out, timeout_ms, err);
}
