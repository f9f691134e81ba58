/* The soak's settle phase and final check (chaos_impl.h). Settling: every
 * process back, every store UP, an audit, then the check run quietly until
 * it passes or the bound runs out. The check asks every path a user's read
 * can take: libhs (cache, location memory), each directory's Lookup, each
 * store's Read, and the cache Redis itself. */
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_impl.h"
#include "clock.h"
#include "directory.pb-c.h"
#include "photo_id.h"
#include "redis.h"
#include "store.pb-c.h"

#define CALL_MS 5000

/* Store id s's Read of p: CHAOS_R_GOOD, CHAOS_R_NOT_FOUND, CHAOS_R_WRONG bytes or CHAOS_R_ERROR. */
static int
store_read(struct chaos *x, uint32_t s, const struct chaos_photo *p)
{
	if (s == 0 || s > (uint32_t)x->c.nstores)
		return CHAOS_R_ERROR;
	Hs__ReadRequest q = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = p->id.key;
	id.cookie = p->id.cookie;
	q.id = &id;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = rpc_invoke(x->stores[s - 1], &hs__store__descriptor,
	    "Read", &q.base, &m, CALL_MS, 0, &e);
	if (st != HS_OK)
		return st == HS_NOT_FOUND ? CHAOS_R_NOT_FOUND : CHAOS_R_ERROR;
	Hs__ReadReply *r = (Hs__ReadReply *)m;
	uint8_t sha[32];
	SHA256(r->data.data, r->data.len, sha);
	int good = r->data.len == p->len && memcmp(sha, p->sha, 32) == 0;
	protobuf_c_message_free_unpacked(m, NULL);
	return good ? CHAOS_R_GOOD : CHAOS_R_WRONG;
}

/* Directory d's Lookup of p: its reply (to free) in *out and the code. */
static hs_status
lookup(struct chaos *x, int d, const struct chaos_photo *p,
    Hs__LookupReply **out)
{
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[1] = { &id };
	id.key = p->id.key;
	id.cookie = p->id.cookie;
	q.ids = ids;
	q.n_ids = 1;
	q.include_down = 1;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	*out = NULL;
	hs_status st = rpc_invoke(x->dirs[d], &hs__directory__descriptor,
	    "Lookup", &q.base, &m, CALL_MS, 0, &e);
	if (st != HS_OK)
		return st;
	*out = (Hs__LookupReply *)m;
	if ((*out)->n_results != 1)
		return HS_INTERNAL;
	return (hs_status)(*out)->results[0]->code;
}

/* libhs's download through c: CHAOS_R_GOOD, CHAOS_R_NOT_FOUND, CHAOS_R_WRONG or CHAOS_R_ERROR,
 * with libhs's message in why. */
static int
hs_read(hs_client *c, const struct chaos_photo *p, char *why, size_t len)
{
	void *data = NULL;
	size_t n = 0;
	hs_error err;
	hs_status st = hs_download(c, p->id, CALL_MS, &data, &n, &err);
	snprintf(why, len, "%s", st == HS_OK ? "" : err.message);
	if (st != HS_OK)
		return st == HS_NOT_FOUND ? CHAOS_R_NOT_FOUND : CHAOS_R_ERROR;
	uint8_t sha[32];
	hs_sha256(data, n, sha);
	free(data);
	return n == p->len && memcmp(sha, p->sha, 32) == 0 ? CHAOS_R_GOOD :
							     CHAOS_R_WRONG;
}

static const char *const rname[] = { "good", "not found", "WRONG BYTES",
	"error" };

/* Copies, zones and readability of a live photo at the leader's record. */
static void
check_copies(struct chaos *x, const Hs__PhotoRecord *rec,
    const struct chaos_photo *p, int verbose, struct chaos_tally *t)
{
	char hex[HS_ID_HEX_LEN + 1], got[256] = "";
	int good = 0, zones[CHAOS_ZONES] = { 0 }, dup = 0;
	hs_id_format(p->id, hex);
	for (size_t i = 0; i < rec->n_stores; i++) {
		uint32_t s = rec->stores[i];
		int r = store_read(x, s, p);
		good += r == CHAOS_R_GOOD;
		dup |= zones[(s - 1) % CHAOS_ZONES]++ > 0;
		size_t u = strlen(got);
		snprintf(got + u, sizeof(got) - u, " store-%u:%s", s, rname[r]);
	}
	/* After the settle no photo is hot: a target raised for reads (the
	 * record keeps it until a trim) asks no more than the default. */
	uint32_t want = rec->target_replicas < CHAOS_DEFAULT_REPLICAS ?
	    rec->target_replicas :
	    CHAOS_DEFAULT_REPLICAS;
	int under = good < (int)want;
	int spread = dup && rec->n_stores <= CHAOS_ZONES;
	t->under += under;
	t->spread += spread;
	t->over += rec->n_stores > rec->target_replicas;
	if (verbose && (under || spread) && t->under + t->spread <= 20)
		printf("chaos: %s %s (target %u, flipped on store-%u):%s\n",
		    hex, under ? "UNDER-REPLICATED" : "TWO COPIES IN ONE ZONE",
		    rec->target_replicas, p->flipped, got);
}

static void
check_live(struct chaos *x, int leader, const struct chaos_photo *p,
    int verbose, struct chaos_tally *t)
{
	char hex[HS_ID_HEX_LEN + 1], why[512];
	hs_id_format(p->id, hex);
	t->live++;
	int r = hs_read(x->work, p, why, sizeof(why));
	if (r != CHAOS_R_GOOD) {
		t->lost++;
		if (verbose && t->lost <= 50)
			printf("chaos: LOST %s (%u bytes): libhs says %s %s\n",
			    hex, p->len, rname[r], why);
	}
	Hs__LookupReply *rep;
	hs_status st = lookup(x, leader, p, &rep);
	if (st == HS_OK)
		check_copies(x, rep->results[0]->record, p, verbose, t);
	else {
		t->under++;
		if (verbose)
			printf("chaos: %s: the leader's Lookup says %s\n", hex,
			    hs_status_str(st));
	}
	if (rep)
		hs__lookup_reply__free_unpacked(rep, NULL);
	chaos_web_check_live(x, p, verbose, t);
}

static void
check_deleted(struct chaos *x, redisContext *cache, const struct chaos_photo *p,
    int verbose, struct chaos_tally *t)
{
	char hex[HS_ID_HEX_LEN + 1], why[512], path[64],
	    ck[PHOTO_CACHE_KEY_LEN + 1];
	hs_id_format(p->id, hex);
	t->deleted++;
	int r = hs_read(x->mem, p, why, sizeof(why));
	chaos_deleted_path(t, verbose, hex, "libhs (location memory)", r, why);
	photo_cache_key(p->id.key, p->id.cookie, ck);
	redisReply *g = cache ? redisCommand(cache, "GET %s", ck) : NULL;
	r = g == NULL || g->type == REDIS_REPLY_ERROR ? CHAOS_R_ERROR :
	    g->type == REDIS_REPLY_NIL ||
		(g->type == REDIS_REPLY_STRING &&
		    strcmp(g->str, PHOTO_CACHE_DELETED) == 0) ?
							CHAOS_R_NOT_FOUND :
							CHAOS_R_GOOD;
	chaos_deleted_path(t, verbose, hex, "the cache Redis", r, ck);
	if (g)
		freeReplyObject(g);
	for (int d = 0; d < x->c.ndirs; d++) {
		Hs__LookupReply *rep;
		hs_status st = lookup(x, d, p, &rep);
		if (rep)
			hs__lookup_reply__free_unpacked(rep, NULL);
		snprintf(path, sizeof(path), "directory-%d's Lookup", d + 1);
		chaos_deleted_path(t, verbose, hex, path,
		    st == HS_OK		   ? CHAOS_R_GOOD :
			st == HS_NOT_FOUND ? CHAOS_R_NOT_FOUND :
					     CHAOS_R_ERROR,
		    hs_status_str(st));
	}
	for (int s = 1; s <= x->c.nstores; s++) {
		snprintf(path, sizeof(path), "store-%d's Read", s);
		chaos_deleted_path(t, verbose, hex, path, store_read(x, s, p),
		    "");
	}
	chaos_web_check_deleted(x, p, verbose, t);
}

/* Each directory's store table, one line each: where copies could go. */
static void
show_stores(struct chaos *x)
{
	static const char *const state[] = { "?", "UP", "DOWN", "RO" };
	for (int d = 0; d < x->c.ndirs; d++) {
		Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		printf("chaos: directory-%d's stores:", d + 1);
		if (rpc_invoke(x->dirs[d], &hs__directory__descriptor,
			"ListStores", &q.base, &m, CALL_MS, 0, &e) != HS_OK) {
			printf(" (%s)\n", e.message);
			continue;
		}
		Hs__ListStoresReply *r = (Hs__ListStoresReply *)m;
		for (size_t i = 0; i < r->n_stores; i++) {
			const Hs__StoreInfo *si = r->stores[i];
			printf(" %u:%s:%s:%lluMiB", si->id, si->zone,
			    state[si->state < 4 ? si->state : 0],
			    (unsigned long long)(si->free_bytes >> 20));
		}
		printf("\n");
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

void
chaos_check(struct chaos *x, int verbose, struct chaos_tally *t)
{
	memset(t, 0, sizeof(*t));
	redisContext *cache = test_redis_connect(&x->c.cache, "admin");
	int leader = test_cluster_leader(&x->c);
	if (leader < 0)
		leader = 0;
	pthread_mutex_lock(&x->mu);
	size_t n = x->nph;
	struct chaos_photo *ph = x->ph; /* the threads are joined */
	pthread_mutex_unlock(&x->mu);
	for (size_t i = 0; i < n; i++) {
		if (ph[i].state == CP_LIVE)
			check_live(x, leader, &ph[i], verbose, t);
		else if (ph[i].state == CP_DELETED)
			check_deleted(x, cache, &ph[i], verbose, t);
	}
	if (cache)
		redisFree(cache);
	if (verbose && t->under + t->spread > 0)
		show_stores(x);
}

/* Nothing left to wait for (two copies in one zone only when they fail
 * the run: nothing moves them, waiting longer changes nothing). */
static int
clean(const struct chaos *x, const struct chaos_tally *t)
{
	int spread = x->o.zones_advisory ? 0 : t->spread;
	return t->lost + t->resurrected + t->under + spread + t->over + t->odd +
	    t->web_lost ==
	    0;
}

void
chaos_settle(struct chaos *x)
{
	int64_t until = rt_mono_ms() + x->o.settle_ms;
	chaos_restore_all(x);
	if (x->filler[0])
		unlink(x->filler);
	if (!test_cluster_wait_stores_up(&x->c, x->c.nstores,
		(int)x->o.settle_ms / 2))
		fprintf(stderr,
		    "chaos: not every store is UP at the leader "
		    "after the faults\n");
	x->redis_settled = chaos_redis_settle(x, x->o.settle_ms / 2);
	Hs__AuditReply *a = NULL;
	hs_error err;
	if (hs_audit(x->work, 1, x->o.settle_ms / 2, &a, &err) != HS_OK)
		fprintf(stderr, "chaos: the audit failed: %s\n", err.message);
	if (a)
		hs__audit_reply__free_unpacked(a, NULL);
	struct chaos_tally t;
	while (rt_mono_ms() < until) {
		chaos_check(x, 0, &t);
		if (clean(x, &t))
			return;
		rt_sleep_ms(1000);
	}
}
