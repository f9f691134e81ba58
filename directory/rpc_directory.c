/* The hs.Directory service surface: one handler per method, in .proto
 * order. Handlers validate, then either answer from memory (reads, on any
 * replica), hand the write to the writer thread (leader) or forward it
 * (follower). None of them waits on Redis or the network. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "catchup.h"
#include "clock.h"
#include "delete_ack.h"
#include "dir_forward.h"
#include "log.h"
#include "lookup.h"
#include "photo_id.h"
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

static uint64_t
random64(void)
{
	uint64_t v;
	while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		;
	return v;
}

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
	if (!sha_ok_or_fail(call, q->sha256) || !dir_loaded_or_fail(d, call))
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
	/* Any directory may answer (docs/directory.md, "Followers"): an
	 * allocation commits nothing, so a follower saves the client a hop
	 * to the leader. It leaves the answer to the leader when its copy of
	 * the store table is not fresh (reloaded every
	 * FOLLOWER_SYNC_INTERVAL; five allow for a slow reload), or when
	 * that copy finds too few stores. */
	int leader = dir_is_leader(d, NULL, 0, NULL);
	int fresh = rt_mono_ms() - atomic_load(&d->stores_loaded_ms) <=
	    5 * d->cfg.follower_sync_ms;
	if (!leader && !fresh) {
		dir_forward(d, call, m);
		return;
	}
	size_t want = q->replicas ? q->replicas :
				    (size_t)d->cfg.default_replicas;
	uint32_t ids[DIR_MAX_REPLICAS];
	size_t ups;
	size_t got = dir_stores_pick(d->stores, want, q->size, ids, &ups);
	if (got < want && !leader) {
		dir_forward(d, call, m);
		return;
	}
	if (got < want) {
		rpc_fail(call, HS_FAILED_PRECONDITION,
		    "need %zu stores "
		    "that are UP with %" PRIu64 " bytes free, but only %zu of "
		    "%zu UP stores qualify; add stores or wait for DOWN ones",
		    want, q->size, got, ups);
		return;
	}
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	do
		id.key = random64();
	while (id.key == 0 || dir_records_has(d->recs, id.key));
	id.cookie = (uint32_t)random64();
	Hs__AllocateReply r = HS__ALLOCATE_REPLY__INIT;
	Hs__Replica rep[DIR_MAX_REPLICAS], *repp[DIR_MAX_REPLICAS];
	struct dir_store st[DIR_MAX_REPLICAS];
	for (size_t i = 0; i < want; i++) {
		hs__replica__init(&rep[i]);
		dir_stores_get(d->stores, ids[i], &st[i]);
		rep[i].store_id = ids[i];
		rep[i].rpc_addr = st[i].rpc_addr;
		rep[i].state = st[i].state;
		rep[i].zone = st[i].zone;
		repp[i] = &rep[i];
	}
	r.id = &id;
	r.stores = repp;
	r.n_stores = want;
	r.token_expiry_ms = rt_now_ms() + d->cfg.token_ttl_ms;
	if (rt_token_make(&d->key, id.key, id.cookie, ids, want,
		r.token_expiry_ms, &r.write_token.data,
		&r.write_token.len) != 0) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	rpc_reply(call, &r.base);
	free(r.write_token.data);
}

/* --- writes handed to the writer --- */

static void
register_photo(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__RegisterRequest *q = (const Hs__RegisterRequest *)m;
	if (!id_ok_or_fail(call, q->id, "RegisterPhoto") ||
	    !sha_ok_or_fail(call, q->sha256))
		return;
	if (q->size > MAX_PHOTO_SIZE) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "size %" PRIu64 " is over the 64 MiB limit", q->size);
		return;
	}
	if (q->n_stores == 0 || q->n_stores > DIR_MAX_REPLICAS) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "a registration "
		    "names 1..%d stores that hold the photo, not %zu",
		    DIR_MAX_REPLICAS, q->n_stores);
		return;
	}
	for (size_t i = 0; i < q->n_stores; i++)
		if (q->stores[i] == 0) {
			rpc_fail(call, HS_INVALID_ARGUMENT,
			    "store id 0 "
			    "is not valid");
			return;
		}
	if (leader_or_forward(d, call, m))
		dir_writer_register(d, call, q);
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

/* --- Heartbeat: the store table, on the leader --- */

static void
heartbeat(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__HeartbeatRequest *q = (const Hs__HeartbeatRequest *)m;
	if (q->store == NULL || q->store->id == 0 || q->store->id > INT32_MAX ||
	    q->store->rpc_addr[0] == '\0') {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "a heartbeat needs "
		    "the store's id (1..2^31) and rpc_addr");
		return;
	}
	uint64_t epoch;
	if (!dir_is_leader(d, NULL, 0, &epoch)) {
		dir_forward(d, call, m);
		return;
	}
	struct dir_store e;
	Hs__StoreInfo in = *q->store;
	in.last_heartbeat_ms = rt_now_ms();
	enum dir_store_change c = dir_stores_heartbeat(d->stores, &in,
	    rt_mono_ms(), &e);
	const char *topic = dir_store_topic(c);
	if (topic != NULL) {
		Hs__StoreInfo pb;
		Hs__Event ev = HS__EVENT__INIT;
		dir_store_to_pb(&e, &pb);
		ev.topic = (char *)topic;
		ev.body_case = HS__EVENT__BODY_STORE;
		ev.store = &pb;
		dir_publish(d, &ev);
		atomic_store(&d->stores_dirty, 1);
		rt_log_info("store %" PRIu32 " (%s, zone '%s'): %s", e.id,
		    e.rpc_addr, e.zone, topic);
	}
	/* Heard before the seq is read (delete_ack.c says why). */
	dir_acks_heard(d->acks, q->store->id, q->hint_lease_ms, epoch);
	Hs__HeartbeatReply r = HS__HEARTBEAT_REPLY__INIT;
	r.epoch = epoch;
	r.leader_id = (char *)d->cfg.id;
	r.applied_seq = dir_records_applied(d->recs);
	rpc_reply(call, &r.base);
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

static void
list_stores(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__ListStoresRequest *q = (const Hs__ListStoresRequest *)m;
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	Hs__StoreInfo *pb = malloc(DIR_MAX_STORES * sizeof(*pb));
	Hs__StoreInfo **pp = malloc(DIR_MAX_STORES * sizeof(*pp));
	if (st == NULL || pb == NULL || pp == NULL) {
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
	rpc_reply(call, &r.base);
out:
	free(st);
	free(pb);
	free(pp);
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
	{ "Allocate", allocate },
	{ "RegisterPhoto", register_photo },
	{ "Lookup", lookup },
	{ "Delete", delete_photo },
	{ "UpdateLocations", update_locations },
	{ "Heartbeat", heartbeat },
	{ "ListStores", list_stores },
	{ "Stats", stats },
	{ "Health", health },
	{ "CatchUp", catch_up },
	{ "ListRecords", dir_list_records },
	{ "Restore", dir_restore },
};

int
dir_rpc_add(struct dir *d)
{
	if (dir_waiters_open(d, dir_lookup_answer) != 0)
		return -1;
	return rpc_server_add_service(d->rpc, &hs__directory__descriptor,
	    methods, sizeof(methods) / sizeof(methods[0]), d);
}
