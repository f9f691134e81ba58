/* Calls to the stores and the store table (see storelink.h). */
#include "storelink.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirlink.h"
#include "log.h"
#include "photo_id.h"

struct store_addr {
	uint32_t id;
	char rpc[128];
};

struct repl_stores {
	pthread_mutex_t mu;
	struct repl_store v[REPL_MAX_STORES];
	struct store_addr addr[REPL_MAX_STORES];
	size_t n;
	int loaded;
	/* The write groups, by id (a grant key names its group in clear). */
	struct repl_group *groups; /* REPL_MAX_GROUPS */
	size_t ngroups;
	uint16_t *gidx; /* group id -> index + 1 in groups, 0: unknown */
};

struct repl_stores *
repl_stores_open(void)
{
	struct repl_stores *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->groups = calloc(REPL_MAX_GROUPS, sizeof(*s->groups));
	s->gidx = calloc(REPL_GROUP_IDS, sizeof(*s->gidx));
	if (s->groups == NULL || s->gidx == NULL) {
		free(s->groups);
		free(s->gidx);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void
repl_stores_close(struct repl_stores *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->groups);
	free(s->gidx);
	free(s);
}

int
repl_store_addr(struct repl *r, uint32_t id, char *out, size_t len)
{
	int rc = -1;
	pthread_mutex_lock(&r->stores->mu);
	for (size_t i = 0; i < r->stores->n; i++)
		if (r->stores->addr[i].id == id) {
			snprintf(out, len, "%s", r->stores->addr[i].rpc);
			rc = 0;
		}
	pthread_mutex_unlock(&r->stores->mu);
	return rc;
}

hs_status
repl_store_call(struct repl *r, uint32_t store, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
    struct rpc_error *err)
{
	char addr[128], why[256];
	*reply = NULL;
	if (repl_store_addr(r, store, addr, sizeof(addr)) != 0) {
		err->code = HS_NOT_FOUND;
		snprintf(err->message, sizeof(err->message),
		    "store %u is not in the directory's store table", store);
		return HS_NOT_FOUND;
	}
	char peer[RT_NAME_MAX];
	rt_store_principal(store, peer);
	rpc_client *c = rpc_pool_get(r->pool, addr, peer, why, sizeof(why));
	if (c == NULL) {
		err->code = HS_INVALID_ARGUMENT;
		snprintf(err->message, sizeof(err->message),
		    "store %u has a bad address: %s", store, why);
		return HS_INVALID_ARGUMENT;
	}
	return rpc_invoke(c, &hs__store__descriptor, method, req, reply,
	    timeout_ms > 0 ? timeout_ms : r->cfg.rpc_timeout_ms, 0, err);
}

rpc_client *
repl_store_client(struct repl *r, uint32_t store)
{
	char addr[128], why[256];
	if (repl_store_addr(r, store, addr, sizeof(addr)) != 0)
		return NULL;
	char peer[RT_NAME_MAX];
	rt_store_principal(store, peer);
	return rpc_pool_get(r->pool, addr, peer, why, sizeof(why));
}

void
repl_store_delete(struct repl *r, uint32_t store, uint64_t key, uint32_t cookie,
    int kind)
{
	Hs__StoreDeleteRequest req = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = repl_pb_id(key, cookie);
	req.id = &id;
	req.kind = (Hs__DeleteKind)kind;
	req.repl_epoch = repl_epoch(r);
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	char id24[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(key, cookie, id24);
	hs_status st = repl_store_call(r, store, "Delete", &req.base, &m, 0,
	    &e);
	if (st == HS_OK) {
		rt_log_info("deleted photo %s from store %u (%s)", id24, store,
		    kind == HS__DELETE_KIND__DELETE_KIND_TRIM	    ? "trim" :
			kind == HS__DELETE_KIND__DELETE_KIND_ORPHAN ? "orphan" :
								      "delete");
		protobuf_c_message_free_unpacked(m, NULL);
	} else {
		rt_log_warn("cannot delete photo %s from store %u: %s: %s (the "
			    "audit will retry)",
		    id24, store, hs_status_str(st), e.message);
	}
}

/* The write groups of rep into s (under s->mu). */
static void
load_groups(struct repl_stores *s, const Hs__ListStoresReply *rep)
{
	for (size_t i = 0; i < s->ngroups; i++)
		s->gidx[s->groups[i].id] = 0;
	s->ngroups = 0;
	for (size_t i = 0; i < rep->n_groups && s->ngroups < REPL_MAX_GROUPS;
	     i++) {
		const Hs__WriteGroup *in = rep->groups[i];
		if (in->id == 0 || in->id >= REPL_GROUP_IDS)
			continue;
		struct repl_group *g = &s->groups[s->ngroups];
		g->id = in->id;
		g->n = in->n_stores < REPL_MAX_LOC ? in->n_stores :
						     REPL_MAX_LOC;
		memcpy(g->stores, in->stores, g->n * sizeof(uint32_t));
		s->gidx[in->id] = (uint16_t)++s->ngroups;
	}
}

int
repl_store_group(struct repl *r, uint32_t id, struct repl_group *out)
{
	int rc = -1;
	pthread_mutex_lock(&r->stores->mu);
	if (id > 0 && id < REPL_GROUP_IDS && r->stores->gidx[id] != 0) {
		*out = r->stores->groups[r->stores->gidx[id] - 1];
		rc = 0;
	}
	pthread_mutex_unlock(&r->stores->mu);
	return rc;
}

int
repl_stores_refresh(struct repl *r)
{
	Hs__ListStoresRequest req = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	req.include_down = 1;
	if (repl_dir_call(r, "ListStores", &req.base, &m, &e) != HS_OK) {
		rt_log_debug("ListStores failed: %s: %s", hs_status_str(e.code),
		    e.message);
		return -1;
	}
	Hs__ListStoresReply *rep = (Hs__ListStoresReply *)m;
	struct repl_stores *s = r->stores;
	pthread_mutex_lock(&s->mu);
	s->n = 0;
	for (size_t i = 0; i < rep->n_stores && s->n < REPL_MAX_STORES; i++) {
		const Hs__StoreInfo *in = rep->stores[i];
		struct repl_store *o = &s->v[s->n];
		o->id = in->id;
		o->state = in->state;
		o->free_bytes = in->free_bytes;
		o->capacity_bytes = in->capacity_bytes;
		o->last_heartbeat_ms = in->last_heartbeat_ms;
		snprintf(o->zone, sizeof(o->zone), "%s",
		    in->zone ? in->zone : "");
		s->addr[s->n].id = in->id;
		snprintf(s->addr[s->n].rpc, sizeof(s->addr[s->n].rpc), "%s",
		    in->rpc_addr ? in->rpc_addr : "");
		s->n++;
	}
	load_groups(s, rep);
	s->loaded = 1;
	pthread_mutex_unlock(&s->mu);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

size_t
repl_stores_snapshot(struct repl *r, struct repl_store *out, size_t max)
{
	pthread_mutex_lock(&r->stores->mu);
	size_t n = r->stores->n < max ? r->stores->n : max;
	memcpy(out, r->stores->v, n * sizeof(*out));
	pthread_mutex_unlock(&r->stores->mu);
	return n;
}

int
repl_stores_loaded(struct repl *r)
{
	pthread_mutex_lock(&r->stores->mu);
	int l = r->stores->loaded;
	pthread_mutex_unlock(&r->stores->mu);
	return l;
}
