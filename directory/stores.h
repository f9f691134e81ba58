/* The store table: what the directory knows of each store, from its
 * heartbeats (leader) or the leader's snapshot in Redis and store.* events
 * (followers). A store heard from for the first time joins; one silent for
 * 3 heartbeat intervals is DOWN and is filtered out of lookups and
 * allocations until it heartbeats again. Thread safe (one mutex). */
#ifndef DIR_STORES_H
#define DIR_STORES_H

#include <stddef.h>
#include <stdint.h>

#include "common.pb-c.h"

#define DIR_MAX_STORES 1024
#define DIR_MISSED_BEATS 3
#define DIR_MAX_REPLICAS_PICK 16 /* most stores one Allocate may pick */

typedef struct dir_stores dir_stores;

struct dir_store {
	uint32_t id;
	char rpc_addr[128];
	char pub_addr[128];
	char zone[64];
	/* Its web face's base URL (StoreInfo.http_url); "" = none, or one
	 * that is not an http(s) URL of at most 127 printable characters. */
	char http_url[128];
	Hs__StoreState state;
	uint64_t capacity_bytes, free_bytes, needles;
	uint32_t volumes;
	int64_t last_heartbeat_ms; /* wall clock, for people */
	int64_t last_seen_mono;	   /* monotonic, for the DOWN rule */
};

/* What a heartbeat or an expiry changed, for events. */
enum dir_store_change {
	DIR_STORE_SAME,
	DIR_STORE_JOINED,
	DIR_STORE_UP,
	DIR_STORE_DOWN,
	DIR_STORE_STATE,
	DIR_STORE_FULL /* a new id, refused: the table holds max_stores */
};

/* max_stores (0 = DIR_MAX_STORES, at most that) bounds the table: a
 * heartbeat with a new id past it is refused, so forged ids cannot crowd
 * out real stores, and the stores already in it keep working. */
int dir_stores_open(dir_stores **out, int64_t heartbeat_interval_ms,
    size_t max_stores);
size_t dir_stores_max(dir_stores *s);
void dir_stores_close(dir_stores *s);

/* Leader: records a heartbeat at now_mono; copies the new entry to out.
 * DIR_STORE_FULL (out untouched) for a new id when the table is full. */
enum dir_store_change dir_stores_heartbeat(dir_stores *s,
    const Hs__StoreInfo *in, int64_t now_mono, struct dir_store *out);

/* Leader: marks DOWN every UP store silent for DIR_MISSED_BEATS intervals;
 * copies up to max of them to out and returns how many. */
size_t dir_stores_expire(dir_stores *s, int64_t now_mono, struct dir_store *out,
    size_t max);

/* Follower (or a new leader loading the snapshot): sets the entry as the
 * leader saw it; the silence clock restarts at now_mono. */
void dir_stores_put(dir_stores *s, const Hs__StoreInfo *in, int64_t now_mono);

/* 0 and a copy, or -1 if unknown. */
int dir_stores_get(dir_stores *s, uint32_t id, struct dir_store *out);

/* Copies up to max entries (DOWN ones only if include_down). */
size_t dir_stores_list(dir_stores *s, int include_down, struct dir_store *out,
    size_t max);

/* Picks n distinct UP stores with at least need bytes free, spread over
 * zones first, each draw weighted by free bytes. Returns n, or the number
 * available (fewer than n: nothing is picked). ups = stores UP in total. */
size_t dir_stores_pick(dir_stores *s, size_t n, uint64_t need, uint32_t *out,
    size_t *ups);

/* Fills a proto view of e (pointers into e). */
void dir_store_to_pb(const struct dir_store *e, Hs__StoreInfo *pb);

/* The "store.up" style topic for a change, or NULL for none. */
const char *dir_store_topic(enum dir_store_change c);

#endif
