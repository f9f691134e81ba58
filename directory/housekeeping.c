/* The housekeeping thread, every few tens of ms: expires parked lookups;
 * on the leader, marks silent stores DOWN (publishing store.down), saves
 * the store table to Redis (fenced) for followers and the next leader, and
 * sends committed deletes to the stores (tombstones.c); answers the
 * deletes whose stores' leases ran out (delete_ack.c); on every replica,
 * every FOLLOWER_SYNC_INTERVAL, records itself in hs:dirs and reads the
 * others back for Health, and on followers reloads the store table the
 * leader saved. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changelog.h"
#include "clock.h"
#include "delete_ack.h"
#include "dir.h"
#include "groups_redis.h"
#include "log.h"
#include "principals.h"
#include "redis.h"
#include "redis_keys.h"
#include "stores_redis.h"
#include "tombstones.h"
#include "waiters.h"

#define MAX_NODES 16

static void
leader_tick(struct dir *d, rt_redis *r, int save_all)
{
	char lease[128];
	struct dir_store down[64];
	if (!dir_is_leader(d, lease, sizeof(lease), NULL))
		return;
	size_t n = dir_stores_expire(d->stores, rt_mono_ms(), down, 64);
	for (size_t i = 0; i < n; i++) {
		Hs__StoreInfo pb;
		Hs__Event ev = HS__EVENT__INIT;
		dir_store_to_pb(&down[i], &pb);
		ev.topic = (char *)dir_store_topic(DIR_STORE_DOWN);
		ev.body_case = HS__EVENT__BODY_STORE;
		ev.store = &pb;
		dir_publish(d, &ev);
		rt_log_warn("store %" PRIu32 " (%s) missed %d heartbeats: DOWN",
		    down[i].id, down[i].rpc_addr, DIR_MISSED_BEATS);
		dir_stores_save(r, lease, &down[i]);
	}
	if (!save_all)
		return;
	struct dir_store *all = malloc(DIR_MAX_STORES * sizeof(*all));
	if (all == NULL)
		return;
	size_t m = dir_stores_list(d->stores, 1, all, DIR_MAX_STORES);
	for (size_t i = 0; i < m; i++)
		dir_stores_save(r, lease, &all[i]);
	free(all);
}

/* Follower: the table the leader saved; a read marks the copy fresh for
 * Allocate (rpc_directory.c). */
static void
reload_stores(struct dir *d, rt_redis *r)
{
	char err[256];
	int64_t at;
	if (dir_stores_load(d->stores, r, &at, err, sizeof(err)) == 0)
		atomic_store(&d->stores_loaded_ms, at);
	if (dir_groups_load(d->groups, r, err, sizeof(err)) != 0)
		rt_log_debug("cannot reload the write groups: %s", err);
}

static void
free_nodes(Hs__DirectoryNode **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hs__directory_node__free_unpacked(nodes[i], NULL);
	free(nodes);
}

/* Writes our node to hs:dirs and reads every node back for Health. */
static void
nodes_tick(struct dir *d, rt_redis *r)
{
	char err[256];
	uint8_t buf[1024];
	uint64_t head = 0;
	if (dir_log_head(r, &head, err, sizeof(err)) != 0)
		return;
	Hs__DirectoryNode me = HS__DIRECTORY_NODE__INIT;
	me.id = (char *)d->cfg.id;
	me.rpc_addr = (char *)d->cfg.advertise;
	me.leader = dir_is_leader(d, NULL, 0, NULL);
	me.applied_seq = dir_records_applied(d->recs);
	me.epoch_seen = dir_epoch_seen(d);
	me.lag = head > me.applied_seq ? head - me.applied_seq : 0;
	me.last_seen_ms = rt_now_ms();
	size_t len = hs__directory_node__get_packed_size(&me);
	if (len > sizeof(buf))
		return;
	hs__directory_node__pack(&me, buf);
	redisReply *rep = rt_redis_cmd(r, err, sizeof(err),
	    "HSET " RK_DIRS " %s %b", d->cfg.id, buf, len);
	if (rep != NULL)
		freeReplyObject(rep);
	rep = rt_redis_cmd(r, err, sizeof(err), "HGETALL " RK_DIRS);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			freeReplyObject(rep);
		return;
	}
	Hs__DirectoryNode **nodes = calloc(MAX_NODES, sizeof(*nodes));
	size_t n = 0;
	for (size_t i = 0; nodes && i + 1 < rep->elements && n < MAX_NODES;
	     i += 2) {
		Hs__DirectoryNode *x = hs__directory_node__unpack(NULL,
		    rep->element[i + 1]->len,
		    (const uint8_t *)rep->element[i + 1]->str);
		if (x != NULL) {
			/* lag as of now, against the head we just read */
			x->lag = head > x->applied_seq ? head - x->applied_seq :
							 0;
			nodes[n++] = x;
		}
	}
	freeReplyObject(rep);
	pthread_mutex_lock(&d->mu);
	Hs__DirectoryNode **old = d->nodes;
	size_t oldn = d->nnodes;
	d->nodes = nodes;
	d->nnodes = nodes ? n : 0;
	d->head_seq = head;
	pthread_mutex_unlock(&d->mu);
	free_nodes(old, oldn);
}

void *
dir_house_main(void *arg)
{
	struct dir *d = arg;
	rt_redis *r;
	char err[256];
	if (rt_redis_open(&r, &d->cfg.redis, d->cfg.redis_timeout_ms, err,
		sizeof(err)) != 0) {
		rt_log_error("housekeeping: %s", err);
		return NULL;
	}
	int64_t tick = d->cfg.heartbeat_ms / 4;
	tick = tick < 10 ? 10 : tick > 50 ? 50 : tick;
	int64_t save_every = d->cfg.heartbeat_ms > 250 ? d->cfg.heartbeat_ms :
							 250;
	int64_t next_save = 0, next_nodes = 0;
	int was_leader = 0;
	struct dir_tombstones *tombs = dir_tombstones_open();
	while (!atomic_load(&d->stop)) {
		int64_t now = rt_mono_ms();
		dir_waiters_poll(d);
		int save = now >= next_save ||
		    atomic_exchange(&d->stores_dirty, 0);
		leader_tick(d, r, save);
		if (tombs != NULL)
			dir_tombstones_tick(tombs, d, r);
		dir_acks_tick(d->acks);
		if (dir_principals_refresh(d, r, err, sizeof(err)) != 0)
			rt_log_debug("cannot read the principals: %s", err);
		if (save)
			next_save = now + save_every;
		/* A change of role is shown in Health at once, not a sync
		 * interval later. */
		int leader = dir_is_leader(d, NULL, 0, NULL);
		if (now >= next_nodes || leader != was_leader) {
			was_leader = leader;
			nodes_tick(d, r);
			if (!leader)
				reload_stores(d, r);
			next_nodes = now + d->cfg.follower_sync_ms;
		}
		rt_sleep_ms(tick);
	}
	dir_tombstones_close(tombs);
	pthread_mutex_lock(&d->mu);
	free_nodes(d->nodes, d->nnodes);
	d->nodes = NULL;
	d->nnodes = 0;
	pthread_mutex_unlock(&d->mu);
	rt_redis_close(r);
	return NULL;
}
