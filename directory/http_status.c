/* /status.json and the page that renders it (http_status.h). Every string
 * a peer or a person chose (ids, zones, addresses, event details) goes
 * through rt_json_str, so none can break the JSON or reach the page as
 * markup (the page sets them as text only). */
#include "http_status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dir.h"
#include "json_str.h"
#include "leader_info.h"
#include "recent.h"
#include "replicator.pb-c.h"
#include "sbuf.h"
#include "status_page.h"

/* How long the page may wait on the replicator: the page polls every 2 s
 * and runs on one of the web face's few threads. */
#define QUEUE_TIMEOUT_MS 500

void
dir_http_status_page(void *arg, struct rt_http_req *req)
{
	(void)arg;
	rt_http_add_header(req, "Cache-Control", "no-cache");
	rt_http_reply(req, 200, "text/html; charset=utf-8", dir_status_page,
	    strlen(dir_status_page), NULL, NULL);
}

/* "key": "value", escaped. */
static void
kstr(struct rt_sbuf *b, const char *key, const char *val)
{
	rt_sbuf_printf(b, "\"%s\":", key);
	rt_json_cstr(b, val);
}

/* This directory, the leader as it knows it, and every directory from the
 * last read of hs:dirs (the view Health answers from). */
static void
put_directories(struct rt_sbuf *b, struct dir *d)
{
	uint64_t applied = dir_records_applied(d->recs);
	int leader = dir_is_leader(d, NULL, 0, NULL);
	kstr(b, "id", d->cfg.id);
	rt_sbuf_printf(b, ",\"role\":\"%s\",\"applied_seq\":%" PRIu64 ",",
	    leader ? "leader" : "follower", applied);
	pthread_mutex_lock(&d->mu);
	uint64_t head = d->head_seq > applied ? d->head_seq : applied;
	rt_sbuf_printf(b, "\"head_seq\":%" PRIu64 ",\"redis_ok\":%s,", head,
	    d->redis_ok ? "true" : "false");
	rt_sbuf_printf(b, "\"epoch\":%" PRIu64 ",\"leader\":{", d->known.epoch);
	kstr(b, "id", d->known.id);
	rt_sbuf_append(b, ",", 1);
	kstr(b, "rpc", d->known.rpc);
	rt_sbuf_printf(b, ",\"epoch\":%" PRIu64 "},\"directories\":[",
	    d->known.epoch);
	for (size_t i = 0; i < d->nnodes; i++) {
		const Hs__DirectoryNode *n = d->nodes[i];
		rt_sbuf_append(b, i ? ",{" : "{", i ? 2 : 1);
		kstr(b, "id", n->id);
		rt_sbuf_append(b, ",", 1);
		kstr(b, "rpc", n->rpc_addr);
		rt_sbuf_printf(b,
		    ",\"leader\":%s,\"applied_seq\":%" PRIu64
		    ",\"lag\":%" PRIu64 ",\"last_seen_ms\":%" PRId64 "}",
		    n->leader ? "true" : "false", n->applied_seq, n->lag,
		    n->last_seen_ms);
	}
	pthread_mutex_unlock(&d->mu);
	rt_sbuf_append(b, "]", 1);
}

/* Every store in this directory's table, DOWN ones included. */
static void
put_stores(struct rt_sbuf *b, struct dir *d)
{
	struct dir_store *st = malloc(DIR_MAX_STORES * sizeof(*st));
	size_t n = st ? dir_stores_list(d->stores, 1, st, DIR_MAX_STORES) : 0;
	rt_sbuf_append(b, ",\"stores\":[", 11);
	for (size_t i = 0; i < n; i++) {
		const struct dir_store *s = &st[i];
		uint64_t used = s->capacity_bytes > s->free_bytes ?
		    s->capacity_bytes - s->free_bytes :
		    0;
		rt_sbuf_printf(b, "%s{\"id\":%" PRIu32 ",", i ? "," : "",
		    s->id);
		kstr(b, "zone", s->zone);
		rt_sbuf_append(b, ",", 1);
		kstr(b, "rpc", s->rpc_addr);
		rt_sbuf_append(b, ",", 1);
		kstr(b, "http", s->http_url);
		rt_sbuf_printf(b,
		    ",\"state\":\"%s\",\"capacity_bytes\":%" PRIu64
		    ",\"free_bytes\":%" PRIu64 ",\"used_bytes\":%" PRIu64
		    ",\"needles\":%" PRIu64 ",\"volumes\":%" PRIu32
		    ",\"last_heartbeat_ms\":%" PRId64 "}",
		    dir_store_state_name(s->state), s->capacity_bytes,
		    s->free_bytes, used, s->needles, s->volumes,
		    s->last_heartbeat_ms);
	}
	rt_sbuf_append(b, "]", 1);
	free(st);
}

/* The active replicator's queue, from its Queue RPC (it publishes no
 * depth anywhere else): found through hs:replicator:info, asked with a
 * short deadline. Absent or silent, the page says why. */
static void
put_replication(struct rt_sbuf *b, struct dir *d)
{
	struct rt_leader_info info;
	struct rpc_error e = { 0 };
	char why[256] = "";
	ProtobufCMessage *m = NULL;
	rpc_client *c = NULL;
	Hs__QueueRequest q = HS__QUEUE_REQUEST__INIT;
	rt_sbuf_append(b, ",\"replication\":{", 16);
	if (rt_replicator_lookup(&d->cfg.redis, QUEUE_TIMEOUT_MS, &info, why,
		sizeof(why)) != 0 ||
	    (c = rpc_pool_get(d->pool, info.rpc, "replicator", why,
		 sizeof(why))) == NULL) {
		rt_sbuf_append(b, "\"ok\":false,", 11);
		kstr(b, "error", why);
		rt_sbuf_append(b, "}", 1);
		return;
	}
	kstr(b, "id", info.id);
	rt_sbuf_append(b, ",", 1);
	kstr(b, "rpc", info.rpc);
	if (rpc_invoke(c, &hs__replicator__descriptor, "Queue", &q.base, &m,
		QUEUE_TIMEOUT_MS, 0, &e) != HS_OK) {
		rt_sbuf_append(b, ",\"ok\":false,", 12);
		kstr(b, "error", e.message);
		rt_sbuf_append(b, "}", 1);
		return;
	}
	const Hs__QueueReply *r = (const Hs__QueueReply *)m;
	static const char *const prio[] = { "urgent", "high", "normal", "low" };
	rt_sbuf_printf(b, ",\"ok\":true,\"active\":%s,\"depth\":{",
	    r->active ? "true" : "false");
	for (size_t i = 0; i < 4; i++)
		rt_sbuf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", prio[i],
		    i < r->n_depth ? r->depth[i] : 0);
	rt_sbuf_printf(b,
	    "},\"in_flight\":%" PRIu64 ",\"done\":%" PRIu64
	    ",\"failed\":%" PRIu64 ",\"last_audit_ms\":%" PRId64 "}",
	    r->in_flight, r->done, r->failed, r->last_audit_ms);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* The last events, newest first. */
static void
put_events(struct rt_sbuf *b, struct dir *d)
{
	struct dir_recent_event ev[DIR_RECENT_MAX];
	size_t n = dir_recent_list(d->recent, ev, DIR_RECENT_MAX);
	rt_sbuf_append(b, ",\"events\":[", 11);
	for (size_t i = 0; i < n; i++) {
		rt_sbuf_printf(b,
		    "%s{\"at_ms\":%" PRId64 ",\"epoch\":%" PRIu64
		    ",\"how\":\"%s\",",
		    i ? "," : "", ev[i].at_ms, ev[i].epoch,
		    ev[i].published ? "published" : "applied");
		kstr(b, "topic", ev[i].topic);
		rt_sbuf_append(b, ",", 1);
		kstr(b, "detail", ev[i].detail);
		rt_sbuf_append(b, "}", 1);
	}
	rt_sbuf_append(b, "]", 1);
}

void
dir_http_status_json(void *arg, struct rt_http_req *req)
{
	struct dir *d = arg;
	struct rt_sbuf b = { 0 };
	rt_sbuf_printf(&b, "{\"now_ms\":%" PRId64 ",", rt_now_ms());
	put_directories(&b, d);
	put_stores(&b, d);
	put_replication(&b, d);
	put_events(&b, d);
	rt_sbuf_append(&b, "}\n", 2);
	if (b.failed) {
		rt_sbuf_free(&b);
		rt_http_reply_text(req, 503,
		    "out of memory building the status; retry");
		return;
	}
	rt_http_add_header(req, "Cache-Control", "no-cache");
	rt_http_reply(req, 200, "application/json", b.buf, b.len, free, b.buf);
}
