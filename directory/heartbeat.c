/* Heartbeat on the leader (see heartbeat.h): a store's news into the store
 * table and its events, and what the store learns back: the epoch, the
 * applied seq it follows deletes to, the principal set's version. Every
 * directory notes the store's fencing floor (reported in hs:dirs). */
#include "heartbeat.h"

#include <inttypes.h>

#include "clock.h"
#include "delete_ack.h"
#include "dir_forward.h"
#include "log.h"
#include "principals.h"

void
dir_heartbeat(rpc_call *call, const ProtobufCMessage *m, void *arg)
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
	if (!dir_caller_is_store(call, q->store->id))
		return;
	/* The store's fencing floor, for the next leader to start above. */
	uint64_t f = atomic_load(&d->floor_seen);
	while (q->epoch_floor > f &&
	    !atomic_compare_exchange_weak(&d->floor_seen, &f, q->epoch_floor))
		;
	uint64_t epoch;
	if (!dir_is_leader(d, NULL, 0, &epoch)) {
		dir_forward(d, call, m);
		return;
	}
	if (q->epoch_floor > epoch) {
		/* Our epoch repeats one the store saw (the metadata Redis
		 * lost it in a failover): make way for a term above it. */
		dir_step_down(d, "a store has seen a higher epoch than ours");
		rpc_fail(call, HS_UNAVAILABLE,
		    "store %" PRIu32 " has seen epoch %" PRIu64
		    ", above this leader's %" PRIu64 "; a new term starts "
		    "above it: retry",
		    q->store->id, q->epoch_floor, epoch);
		return;
	}
	dir_principals_note(d, q->store->id, q->principals_version);
	struct dir_store e;
	Hs__StoreInfo in = *q->store;
	in.last_heartbeat_ms = rt_now_ms();
	enum dir_store_change c = dir_stores_heartbeat(d->stores, &in,
	    rt_mono_ms(), &e);
	if (c == DIR_STORE_FULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED,
		    "the store table is full (%zu stores, --max-stores): "
		    "store %" PRIu32 " is not admitted; retire a store or "
		    "raise the limit",
		    dir_stores_max(d->stores), q->store->id);
		return;
	}
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
		if (q->store->http_url[0] != '\0' && e.http_url[0] == '\0')
			rt_log_warn("store %" PRIu32 ": its http_url '%.80s' "
				    "is not an http:// or https:// URL of at "
				    "most 127 printable characters: no "
				    "redirects go to it; fix its --http-url",
			    e.id, q->store->http_url);
	}
	/* Heard before the seq is read (delete_ack.c says why). */
	dir_acks_heard(d->acks, q->store->id, q->hint_lease_ms, epoch);
	Hs__HeartbeatReply r = HS__HEARTBEAT_REPLY__INIT;
	r.epoch = epoch;
	r.leader_id = (char *)d->cfg.id;
	r.applied_seq = dir_records_applied(d->recs);
	r.principals_version = rt_ident_dynamic_version(d->ident);
	rpc_reply(call, &r.base);
}
