/* The hs.Directory service surface: one handler per method, in .proto
 * order. Handlers validate, then either answer from memory (reads, on any
 * replica), hand the write to the writer thread (leader) or forward it
 * (follower). None of them waits on Redis or the network. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "clock.h"
#include "commit_locations.h"
#include "delete_ack.h"
#include "dir_forward.h"
#include "grant.h"
#include "heartbeat.h"
#include "log.h"
#include "lookup.h"
#include "photo_id.h"
#include "principals.h"
#include "restore.h"
#include "token.h"
#include "waiters.h"
#include "writer.h"

#define MAX_PHOTO_SIZE (64u << 20)
#define MAX_LOOKUP_IDS 1000

/* Validates an id; 0 (call answered INVALID_ARGUMENT) if malformed. */
static int
id_ok_or_fail(rpc_call *call, const Hs__PhotoId *id, const char *what)
{
	if (id == NULL) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "%s: the photo id is "
		    "missing",
		    what);
		return 0;
	}
	if (id->key == 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "%s: photo key 0 is not a "
		    "valid id (ids come from Allocate)",
		    what);
		return 0;
	}
	return 1;
}

static int
sha_ok_or_fail(rpc_call *call, ProtobufCBinaryData sha)
{
	if (sha.len == 32)
		return 1;
	rpc_fail(call, HS_INVALID_ARGUMENT, "sha256 must be 32 bytes, not %zu",
	    sha.len);
	return 0;
}

/* 1 if this process commits writes now; else the call was forwarded. */
static int
leader_or_forward(struct dir *d, rpc_call *call, const ProtobufCMessage *req)
{
	if (dir_is_leader(d, NULL, 0, NULL))
		return 1;
	dir_forward(d, call, req);
	return 0;
}

/* --- Allocate --- */

/* A grant's ids come from the leader's fenced counter (commit_grant.c), so
 * a follower forwards. sha256 is optional: a grant covers photos not yet
 * known. */
static void
allocate(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__AllocateRequest *q = (const Hs__AllocateRequest *)m;
	if (q->size > MAX_PHOTO_SIZE) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "photo of %" PRIu64 " bytes is over the 64 MiB limit",
		    q->size);
		return;
	}
	if ((q->sha256.len != 0 && !sha_ok_or_fail(call, q->sha256)) ||
	    !dir_loaded_or_fail(d, call))
		return;
	if (q->replicas != 0 &&
	    (q->replicas < d->cfg.min_replicas ||
		q->replicas > d->cfg.max_replicas)) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "replicas must be 0 "
		    "(default %" PRId64 ") or %" PRId64 "..%" PRId64
		    ", not %" PRIu32,
		    d->cfg.default_replicas, d->cfg.min_replicas,
		    d->cfg.max_replicas, q->replicas);
		return;
	}
	/* A grant is made to its caller, so a follower sends the caller to
	 * the leader rather than forwarding under its own name. */
	if (dir_is_leader(d, NULL, 0, NULL))
		dir_writer_allocate(d, call, q);
	else
		dir_redirect(d, call);
}

/* --- writes handed to the writer --- */

/* 1 with why set when a registration is malformed, else 0. */
static int
reg_invalid(const Hs__RegisterRequest *q, char *why, size_t len)
{
	if (q->id == NULL || q->id->key == 0) {
		snprintf(why, len, "a registration names no valid photo id");
	} else if (q->sha256.len != 32) {
		snprintf(why, len, "sha256 must be 32 bytes, got %zu",
		    q->sha256.len);
	} else if (q->size > MAX_PHOTO_SIZE) {
		snprintf(why, len, "size %" PRIu64 " is over the 64 MiB limit",
		    q->size);
	} else if (q->n_stores == 0 || q->n_stores > DIR_MAX_REPLICAS) {
		snprintf(why, len,
		    "a registration names 1..%d stores that hold "
		    "the photo, not %zu",
		    DIR_MAX_REPLICAS, q->n_stores);
	} else {
		for (size_t i = 0; i < q->n_stores; i++)
			if (q->stores[i] == 0) {
				snprintf(why, len, "store id 0 is not valid");
				return 1;
			}
		return 0;
	}
	return 1;
}

static void
register_photo(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__RegisterRequest *q = (const Hs__RegisterRequest *)m;
	char why[160];
	if (reg_invalid(q, why, sizeof(why))) {
		rpc_fail(call, HS_INVALID_ARGUMENT, "RegisterPhoto: %s", why);
		return;
	}
	if (leader_or_forward(d, call, m))
		dir_writer_register(d, call, q);
}

/* A store's batch: every photo must be well formed (a store sends what it
 * checked), at most RT_GRANT_MAX_COUNT of them. */
static void
register_photos(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__RegisterBatchRequest *q = (const Hs__RegisterBatchRequest *)m;
	char why[160];
	if (!dir_caller_is_store(call, q->store_id))
		return;
	if (q->n_photos == 0 || q->n_photos > RT_GRANT_MAX_COUNT) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "RegisterPhotos takes 1..%d photos, not %zu",
		    RT_GRANT_MAX_COUNT, q->n_photos);
		return;
	}
	for (size_t i = 0; i < q->n_photos; i++)
		if (reg_invalid(q->photos[i], why, sizeof(why))) {
			rpc_fail(call, HS_INVALID_ARGUMENT,
			    "RegisterPhotos, photo %zu: %s", i, why);
			return;
		}
	if (leader_or_forward(d, call, m))
		dir_writer_register_batch(d, call, q);
}

static void
delete_photo(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__DeleteRequest *q = (const Hs__DeleteRequest *)m;
	if (!id_ok_or_fail(call, q->id, "Delete"))
		return;
	if (leader_or_forward(d, call, m))
		dir_writer_delete(d, call, q);
}

static void
update_locations(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__UpdateLocationsRequest
	    *q = (const Hs__UpdateLocationsRequest *)m;
	if (!id_ok_or_fail(call, q->id, "UpdateLocations"))
		return;
	if (q->target_replicas != 0 &&
	    (q->target_replicas < d->cfg.min_replicas ||
		q->target_replicas > d->cfg.max_replicas)) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "target_replicas "
		    "must be 0 or %" PRId64 "..%" PRId64,
		    d->cfg.min_replicas, d->cfg.max_replicas);
		return;
	}
	if (q->n_add > DIR_MAX_REPLICAS || q->n_remove > 64) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "too many stores "
		    "in one update");
		return;
	}
	if (leader_or_forward(d, call, m))
		dir_writer_update(d, call, q);
}

/* --- Lookup --- */

static void
lookup(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__LookupRequest *q = (const Hs__LookupRequest *)m;
	if (q->n_ids == 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "Lookup needs at "
		    "least one id");
		return;
	}
	if (q->n_ids > MAX_LOOKUP_IDS) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "Lookup takes at "
		    "most %d ids a call, not %zu; split the batch",
		    MAX_LOOKUP_IDS, q->n_ids);
		return;
	}
	for (size_t i = 0; i < q->n_ids; i++) {
		char what[48];
		snprintf(what, sizeof(what), "Lookup id #%zu", i + 1);
		if (!id_ok_or_fail(call, q->ids[i], what))
			return;
	}
	if (!dir_loaded_or_fail(d, call))
		return;
	if (q->min_seq <= dir_records_applied(d->recs)) {
		dir_lookup_answer(d, call, q);
		return;
	}
	int64_t until = rt_mono_ms() + d->cfg.lookup_wait_ms;
	int64_t dl = rpc_call_deadline_ms(call);
	if (dl != 0 && rt_mono_ms() + (dl - rt_now_ms()) - 50 < until)
		until = rt_mono_ms() + (dl - rt_now_ms()) - 50;
	dir_waiters_add(d, call, q, until);
}

/* --- ListStores, Stats, Health --- */

/* A group takes writes only while every one of its stores is UP. */
static int
group_writable(struct dir *d, const struct dir_group *g)
{
	struct dir_store e;
	for (size_t i = 0; i < g->n; i++)
		if (dir_stores_get(d->stores, g->stores[i], &e) != 0 ||
		    e.state != HS__STORE_STATE__STORE_UP)
			return 0;
	return 1;
}

/* The write groups in r (pointing into gs, pb and pp: DIR_MAX_GROUPS
 * each). */
static void
list_groups(struct dir *d, Hs__ListStoresReply *r, struct dir_group *gs,
    Hs__WriteGroup *pb, Hs__WriteGroup **pp)
{
	size_t n = dir_groups_list(d->groups, gs, DIR_MAX_GROUPS);
	for (size_t i = 0; i < n; i++) {
		hs__write_group__init(&pb[i]);
		pb[i].id = gs[i].id;
		pb[i].stores = gs[i].stores;
		pb[i].n_stores = gs[i].n;
		pb[i].writable = group_writable(d, &gs[i]);
		pp[i] = &pb[i];
	}
	r->groups = pp;
	r->n_groups = n;
}

static void
list_stores(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__ListStoresRequest *q = (const Hs__ListStoresRequest *)m;
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	Hs__StoreInfo *pb = malloc(DIR_MAX_STORES * sizeof(*pb));
	Hs__StoreInfo **pp = malloc(DIR_MAX_STORES * sizeof(*pp));
	struct dir_group *gs = malloc(DIR_MAX_GROUPS * sizeof(*gs));
	Hs__WriteGroup *gpb = malloc(DIR_MAX_GROUPS * sizeof(*gpb));
	Hs__WriteGroup **gpp = malloc(DIR_MAX_GROUPS * sizeof(*gpp));
	if (st == NULL || pb == NULL || pp == NULL || gs == NULL ||
	    gpb == NULL || gpp == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	size_t n = dir_stores_list(d->stores, q->include_down, st,
	    DIR_MAX_STORES);
	for (size_t i = 0; i < n; i++) {
		dir_store_to_pb(&st[i], &pb[i]);
		pp[i] = &pb[i];
	}
	Hs__ListStoresReply r = HS__LIST_STORES_REPLY__INIT;
	r.stores = pp;
	r.n_stores = n;
	list_groups(d, &r, gs, gpb, gpp);
	rpc_reply(call, &r.base);
out:
	free(st);
	free(pb);
	free(pp);
	free(gs);
	free(gpb);
	free(gpp);
}

static void
stats(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	struct dir_rec_stats rs;
	(void)m;
	if (!dir_loaded_or_fail(d, call))
		return;
	dir_records_stats(d->recs, &rs);
	Hs__DirectoryStatsReply r = HS__DIRECTORY_STATS_REPLY__INIT;
	r.photos = rs.active;
	r.deleted = rs.deleted;
	r.bytes = rs.bytes;
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	if (st == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	size_t n = dir_stores_list(d->stores, 1, st, DIR_MAX_STORES);
	for (size_t i = 0; i < n; i++) {
		r.stores_total++;
		if (st[i].state == HS__STORE_STATE__STORE_DOWN ||
		    st[i].state == HS__STORE_STATE__STORE_UNKNOWN)
			continue;
		r.stores_up++;
		r.capacity_bytes += st[i].capacity_bytes;
		r.free_bytes += st[i].free_bytes;
		r.volumes += st[i].volumes;
	}
	free(st);
	r.applied_seq = dir_records_applied(d->recs);
	r.lookups = atomic_load(&d->lookups);
	r.registrations = atomic_load(&d->registrations);
	rpc_reply(call, &r.base);
}

static void
health(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	Hs__StoreInfo *pb = malloc(DIR_MAX_STORES * sizeof(*pb));
	Hs__StoreInfo **pp = malloc(DIR_MAX_STORES * sizeof(*pp));
	(void)m;
	if (st == NULL || pb == NULL || pp == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	Hs__HealthReply r = HS__HEALTH_REPLY__INIT;
	struct dir_leader k;
	size_t n = dir_stores_list(d->stores, 1, st, DIR_MAX_STORES);
	for (size_t i = 0; i < n; i++) {
		dir_store_to_pb(&st[i], &pb[i]);
		pp[i] = &pb[i];
	}
	r.stores = pp;
	r.n_stores = n;
	r.self_id = (char *)d->cfg.id;
	r.leader = dir_is_leader(d, NULL, 0, NULL);
	r.applied_seq = dir_records_applied(d->recs);
	/* The node list is swapped by housekeeping under mu: answer while
	 * holding it (rpc_reply only packs and queues the send). */
	pthread_mutex_lock(&d->mu);
	k = d->known;
	r.leader_id = k.id;
	r.leader_addr = k.rpc;
	r.epoch = k.epoch;
	r.redis_ok = d->redis_ok;
	r.head_seq = d->head_seq > r.applied_seq ? d->head_seq : r.applied_seq;
	r.directories = d->nodes;
	r.n_directories = d->nnodes;
	rpc_reply(call, &r.base);
	pthread_mutex_unlock(&d->mu);
out:
	free(st);
	free(pb);
	free(pp);
}

/* --- CatchUp: read the Redis change log on the reader thread --- */

static void
catch_up(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__CatchUpRequest *q = (const Hs__CatchUpRequest *)m;
	if (q->max > 10000) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "CatchUp returns at "
		    "most 10000 changes a call, not %" PRIu32,
		    q->max);
		return;
	}
	dir_catchup_queue(d, call, q);
}

static const struct rpc_method methods[] = {
	{ "Allocate", allocate, RT_ROLES_USER | RT_ROLE_DIRECTORY },
	{ "RegisterPhotos", register_photos,
	    RT_ROLE_STORE | RT_ROLE_DIRECTORY },
	{ "RegisterPhoto", register_photo, RT_ROLE_DIRECTORY },
	{ "Lookup", lookup, RT_ROLES_ANY },
	{ "Delete", delete_photo, RT_ROLES_USER | RT_ROLE_DIRECTORY },
	{ "UpdateLocations", update_locations,
	    RT_ROLE_REPLICATOR | RT_ROLE_DIRECTORY },
	{ "Heartbeat", dir_heartbeat, RT_ROLE_STORE | RT_ROLE_DIRECTORY },
	{ "ListStores", list_stores, RT_ROLES_ANY },
	{ "Stats", stats, RT_ROLES_ANY },
	{ "Health", health, RT_ROLES_ANY },
	{ "CatchUp", catch_up, RT_ROLES_SERVER },
	{ "ListRecords", dir_list_records,
	    RT_ROLE_ADMIN | RT_ROLE_REPLICATOR | RT_ROLE_DIRECTORY },
	{ "Restore", dir_restore, RT_ROLE_ADMIN | RT_ROLE_DIRECTORY },
	{ "AddPrincipal", dir_add_principal,
	    RT_ROLE_ADMIN | RT_ROLE_DIRECTORY },
	{ "RevokePrincipal", dir_revoke_principal,
	    RT_ROLE_ADMIN | RT_ROLE_DIRECTORY },
	{ "ListPrincipals", dir_list_principals,
	    RT_ROLE_ADMIN | RT_ROLES_SERVER },
	{ "UpdateLocationsBatch", dir_update_locations_batch,
	    RT_ROLE_REPLICATOR | RT_ROLE_DIRECTORY },
};

int
dir_rpc_add(struct dir *d)
{
	if (dir_waiters_open(d, dir_lookup_answer) != 0)
		return -1;
	return rpc_server_add_service(d->rpc, &hs__directory__descriptor,
	    methods, sizeof(methods) / sizeof(methods[0]), d);
}
