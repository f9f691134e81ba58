/* The audit's actions (see audit_act.h): orphan aging, the halt rule and
 * deletion; adoption of good copies into under-replicated records. Orphan
 * sightings live in Redis (hs:repl:orphans, field "<24 hex id>/<store>" =
 * first seen, ms) so a standby that takes over keeps them; a sighting not
 * repeated by the next full audit is forgotten. */
#include "audit_act.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_diff.h"
#include "clock.h"
#include "dirlink.h"
#include "log.h"
#include "photo_id.h"
#include "redis_keys.h"
#include "storelink.h"

/* Index of store in o's table, added if new; -1 when the table is full. */
static int
store_slot(struct audit_orphans *o, uint32_t store)
{
	for (size_t i = 0; i < o->nstores; i++)
		if (o->store[i] == store)
			return (int)i;
	if (o->nstores == sizeof(o->store) / sizeof(o->store[0]))
		return -1;
	o->store[o->nstores] = store;
	o->needles[o->nstores] = o->count[o->nstores] = 0;
	return (int)o->nstores++;
}

void
audit_orphans_needle(struct audit_orphans *o, uint32_t store)
{
	int i = store_slot(o, store);
	if (i >= 0)
		o->needles[i]++;
}

int
audit_orphans_note(struct audit_orphans *o, uint64_t key, uint32_t cookie,
    uint32_t store)
{
	int i = store_slot(o, store);
	if (i >= 0)
		o->count[i]++;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 1024;
		struct audit_orphan *nv = realloc(o->v, nc * sizeof(*nv));
		if (nv == NULL)
			return -1;
		o->v = nv;
		o->cap = nc;
	}
	o->v[o->n++] = (struct audit_orphan){ key, cookie, store };
	return 0;
}

void
audit_orphans_free(struct audit_orphans *o)
{
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* first seen of an orphan (0 = never); records now if never. */
static int64_t
orphan_first_seen(redisContext *rc, const char *field, int64_t now)
{
	redisReply *rep = redisCommand(rc, "HGET %s %s", RK_ORPHANS, field);
	int64_t first = 0;
	if (rep && rep->type == REDIS_REPLY_STRING)
		first = atoll(rep->str);
	if (rep)
		freeReplyObject(rep);
	if (first == 0)
		freeReplyObject(redisCommand(rc, "HSET %s %s %lld", RK_ORPHANS,
		    field, (long long)now));
	return first;
}

/* The sighting's field in hs:repl:orphans: "<24 hex id>/<store>". */
static void
orphan_field(const struct audit_orphan *a, char field[40])
{
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(a->key, a->cookie, id24);
	snprintf(field, 40, "%s/%u", id24, a->store);
}

/* Ages one orphan (its field in field); deletes it when due. 1 if
 * deleted. */
static int
age_orphan(struct repl *r, redisContext *rc, const struct audit_orphan *a,
    const char *field)
{
	int64_t now = rt_now_ms();
	int64_t first = orphan_first_seen(rc, field, now);
	repl_publish_audit(r, "orphan", a->key, a->cookie, a->store, 0, 0);
	if (!repl_orphan_due(first, 0, now, r->cfg.orphan_grace_ms))
		return 0;
	rt_log_info("audit: orphan %.24s on store %u first seen %lld ms ago: "
		    "deleting",
	    field, a->store, (long long)(now - first));
	repl_store_delete(r, a->store, a->key, a->cookie,
	    HS__DELETE_KIND__DELETE_KIND_ORPHAN);
	freeReplyObject(redisCommand(rc, "HDEL %s %s", RK_ORPHANS, field));
	return 1;
}

static int
by_field(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Forgets sightings this audit did not repeat (registered, gone, or on a
 * halted store: aging starts again once the halt is cleared). kept: the
 * fields aged this pass, sorted. */
static void
forget_unseen(redisContext *rc, char (*kept)[40], size_t nkept)
{
	redisReply *rep = redisCommand(rc, "HKEYS %s", RK_ORPHANS);
	for (size_t i = 0;
	     rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		const char *f = rep->element[i]->str;
		if (f != NULL &&
		    bsearch(f, kept, nkept, sizeof(*kept), by_field) == NULL)
			freeReplyObject(
			    redisCommand(rc, "HDEL %s %s", RK_ORPHANS, f));
	}
	if (rep)
		freeReplyObject(rep);
}

/* Applies the halt rule to each store: 1 for halted ones in halted[]. */
static void
halt_stores(struct repl *r, const struct audit_orphans *o, int *halted,
    struct audit_summary *s)
{
	for (size_t i = 0; i < o->nstores; i++) {
		halted[i] = repl_orphan_halt(o->count[i], o->needles[i],
		    r->cfg.orphan_halt);
		if (!halted[i])
			continue;
		char msg[400];
		snprintf(msg, sizeof(msg),
		    "%llu of the %llu needles on store %u have no record: "
		    "more than AUDIT_ORPHAN_HALT_FRACTION (%g); deleting none "
		    "of them. The metadata Redis may be lost or damaged: check "
		    "it, run `hs rebuild` to recover the records from the "
		    "stores, then `hs audit`",
		    (unsigned long long)o->count[i],
		    (unsigned long long)o->needles[i], o->store[i],
		    r->cfg.orphan_halt);
		rt_log_error("audit halted on store %u: %s", o->store[i], msg);
		repl_publish_audit_halt(r, o->store[i], o->needles[i],
		    o->count[i], msg);
		if (s->nhalted < REPL_AUDIT_MAX_HALTED)
			s->halted[s->nhalted++] = o->store[i];
	}
}

/* 1 if the orphan's store is halted. */
static int
on_halted(const struct audit_orphans *o, const int *halted,
    const struct audit_orphan *a)
{
	for (size_t k = 0; k < o->nstores; k++)
		if (o->store[k] == a->store)
			return halted[k];
	return 0;
}

void
audit_orphans_act(struct repl *r, redisContext *rc, struct audit_orphans *o,
    int full, struct audit_summary *s)
{
	int halted[256];
	halt_stores(r, o, halted, s);
	if (rc == NULL)
		return;
	/* A halted store's orphans are counted, not aged: with lost
	 * metadata they are every needle it has. */
	char(*kept)[40] = calloc(o->n ? o->n : 1, sizeof(*kept));
	size_t nkept = 0, i = 0;
	for (; i < o->n && repl_is_active(r); i++) {
		if (on_halted(o, halted, &o->v[i])) {
			s->held++;
			continue;
		}
		char field[40];
		orphan_field(&o->v[i], field);
		if (age_orphan(r, rc, &o->v[i], field))
			s->orphans++;
		else if (kept != NULL)
			memcpy(kept[nkept++], field, sizeof(field));
	}
	if (kept != NULL)
		qsort(kept, nkept, sizeof(*kept), by_field);
	/* Out of memory, or stopped early: forget nothing rather than
	 * sightings not looked at. */
	if (full && kept != NULL && i == o->n)
		forget_unseen(rc, kept, nkept);
	free(kept);
}

/* Is the photo deleted (rather than never registered)? Asked of the
 * leader, which decides from Redis: it refuses an UpdateLocations on a
 * deleted photo with FAILED_PRECONDITION and answers NOT_FOUND for an
 * unknown one; the request changes nothing. */
int
audit_leader_says_deleted(struct repl *r, uint64_t key, uint32_t cookie)
{
	Hs__UpdateLocationsRequest req = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(key, cookie);
	req.id = &id;
	req.repl_epoch = repl_epoch(r);
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = repl_dir_call(r, "UpdateLocations", &req.base, &m, &e);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return st == HS_FAILED_PRECONDITION && strstr(e.message, "deleted");
}

/* 1 if store's copy reads back with the record's size and SHA-256. */
static int
read_matches(struct repl *r, const Hs__PhotoRecord *rec, uint32_t store)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(rec->id->key, rec->id->cookie);
	req.id = &id;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	if (repl_store_call(r, store, "Read", &req.base, &m, 0, &e) != HS_OK)
		return 0;
	Hs__ReadReply *rr = (Hs__ReadReply *)m;
	uint8_t got[32];
	SHA256(rr->data.data ? rr->data.data : (const uint8_t *)"",
	    rr->data.len, got);
	int ok = rr->data.len == rec->size &&
	    memcmp(got, rec->sha256.data, 32) == 0;
	protobuf_c_message_free_unpacked(m, NULL);
	return ok;
}

int
audit_adopt(struct repl *r, const Hs__PhotoRecord *rec, size_t *nstores,
    uint64_t *seq, uint32_t store, uint64_t size, const uint8_t *sha)
{
	if (rec->id == NULL || rec->sha256.len != 32)
		return 0;
	struct repl_adoptee a = { rec->id->cookie, rec->size, rec->sha256.data,
		*nstores, rec->target_replicas };
	struct repl_copy c = { rec->id->cookie, size, sha };
	enum repl_adopt v = repl_adopt_check(&a, r->pol.def, &c);
	if (v == REPL_ADOPT_NO ||
	    (v == REPL_ADOPT_READ && !read_matches(r, rec, store)))
		return 0;
	Hs__UpdateLocationsRequest req = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(rec->id->key, rec->id->cookie);
	req.id = &id;
	req.add = &store;
	req.n_add = 1;
	req.expect_seq = *seq;
	req.repl_epoch = repl_epoch(r);
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	hs_status st = repl_dir_call(r, "UpdateLocations", &req.base, &m, &e);
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(rec->id->key, rec->id->cookie, id24);
	if (st != HS_OK) {
		rt_log_warn("audit: cannot adopt the copy of %s on store %u: "
			    "%s: %s (the next audit tries again)",
		    id24, store, hs_status_str(st), e.message);
		return 0;
	}
	Hs__UpdateLocationsReply *ur = (Hs__UpdateLocationsReply *)m;
	*seq = ur->record ? ur->record->seq : ur->seq;
	protobuf_c_message_free_unpacked(m, NULL);
	(*nstores)++;
	rt_log_info("audit: adopted the good copy of %s on store %u into its "
		    "under-replicated record",
	    id24, store);
	repl_publish_audit(r, "adopted", rec->id->key, rec->id->cookie, store,
	    0, 1);
	return 1;
}
