/* The location memory (see locations.h): a direct-mapped table of recent
 * Lookup answers. A collision overwrites and costs one Lookup, never a
 * wrong read: the entry holds the whole key and cookie. Store addresses
 * are few, so entries keep indexes into one table of them, which keeps an
 * entry near 100 bytes. */
#include "locations.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define SLOTS 4096
#define MAX_ADDRS 256 /* distinct store addresses remembered */

struct entry {
	uint64_t key; /* 0: empty */
	uint32_t cookie;
	uint32_t n;
	uint64_t size;
	int64_t expires_ms; /* monotonic */
	uint8_t sha[HS_SHA256_LEN];
	uint32_t store[HSI_LOC_MAX];
	uint8_t addr[HSI_LOC_MAX];  /* index into hsi_locations.addrs */
	uint8_t state[HSI_LOC_MAX]; /* Hs__StoreState */
};

/* A write group: its stores (addresses interned), the last good one. */
struct group {
	uint32_t id, n, good;
	uint32_t store[HSI_LOC_MAX];
	uint8_t addr[HSI_LOC_MAX];
};

struct hsi_locations {
	pthread_mutex_t mu;
	int64_t ttl_ms;
	size_t naddrs;
	char addrs[MAX_ADDRS][HS_ADDR_MAX];
	struct entry slots[SLOTS];
	struct group *groups; /* sorted by id */
	size_t ngroups;
	int64_t groups_fetched; /* monotonic; 0 = never */
};

struct hsi_locations *
hsi_locations_open(int64_t ttl_ms)
{
	struct hsi_locations *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	l->ttl_ms = ttl_ms;
	return l;
}

void
hsi_locations_close(struct hsi_locations *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->groups);
	free(l);
}

static struct entry *
slot_of(struct hsi_locations *l, uint64_t key)
{
	return &l->slots[(key * 0x9e3779b97f4a7c15ULL) >> 52];
}

/* The index of addr, added if new; -1 when the table is full or addr is
 * too long to keep. mu held. */
static int
intern(struct hsi_locations *l, const char *addr)
{
	for (size_t i = 0; i < l->naddrs; i++)
		if (strcmp(l->addrs[i], addr) == 0)
			return (int)i;
	if (l->naddrs == MAX_ADDRS || strlen(addr) >= HS_ADDR_MAX)
		return -1;
	strcpy(l->addrs[l->naddrs], addr);
	return (int)l->naddrs++;
}

void
hsi_locations_put(struct hsi_locations *l, hs_photo_id id,
    const Hs__LookupResult *x)
{
	const Hs__PhotoRecord *rec = x->record;
	if (l == NULL || rec == NULL || x->n_replicas == 0 ||
	    rec->sha256.len != HS_SHA256_LEN)
		return;
	struct entry e = { .key = id.key,
		.cookie = id.cookie,
		.size = rec->size,
		.expires_ms = rt_mono_ms() + l->ttl_ms };
	memcpy(e.sha, rec->sha256.data, HS_SHA256_LEN);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < x->n_replicas && e.n < HSI_LOC_MAX; i++) {
		const Hs__Replica *r = x->replicas[i];
		int a = r->rpc_addr != NULL ? intern(l, r->rpc_addr) : -1;
		if (a < 0)
			continue;
		e.store[e.n] = r->store_id;
		e.addr[e.n] = (uint8_t)a;
		e.state[e.n] = (uint8_t)r->state;
		e.n++;
	}
	if (e.n > 0)
		*slot_of(l, id.key) = e;
	pthread_mutex_unlock(&l->mu);
}

/* Rebuilds the Lookup answer of e in out. mu held. */
static void
fill(struct hsi_locations *l, const struct entry *e, struct hsi_location *out)
{
	hs__photo_id__init(&out->id);
	out->id.key = e->key;
	out->id.cookie = e->cookie;
	hs__photo_record__init(&out->rec);
	out->rec.id = &out->id;
	out->rec.size = e->size;
	out->rec.state = HS__PHOTO_STATE__PHOTO_ACTIVE;
	memcpy(out->sha, e->sha, HS_SHA256_LEN);
	out->rec.sha256.data = out->sha;
	out->rec.sha256.len = HS_SHA256_LEN;
	for (uint32_t i = 0; i < e->n; i++) {
		hs__replica__init(&out->rep[i]);
		out->rep[i].store_id = e->store[i];
		/* Interned addresses never move or change: no copy needed. */
		out->rep[i].rpc_addr = l->addrs[e->addr[i]];
		out->rep[i].state = (Hs__StoreState)e->state[i];
		out->repp[i] = &out->rep[i];
	}
	hs__lookup_result__init(&out->res);
	out->res.id = &out->id;
	out->res.code = HS__CODE__OK;
	out->res.record = &out->rec;
	out->res.replicas = out->repp;
	out->res.n_replicas = e->n;
}

int
hsi_locations_get(struct hsi_locations *l, hs_photo_id id,
    struct hsi_location *out)
{
	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	const struct entry *e = slot_of(l, id.key);
	int hit = e->key == id.key && e->cookie == id.cookie && e->n > 0 &&
	    rt_mono_ms() < e->expires_ms;
	if (hit)
		fill(l, e, out);
	pthread_mutex_unlock(&l->mu);
	return hit;
}

void
hsi_locations_forget(struct hsi_locations *l, hs_photo_id id)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	struct entry *e = slot_of(l, id.key);
	if (e->key == id.key)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&l->mu);
}

int
hsi_groups_due(struct hsi_locations *l, int miss)
{
	if (l == NULL)
		return 0;
	int64_t now = rt_mono_ms();
	pthread_mutex_lock(&l->mu);
	int64_t age = now - l->groups_fetched;
	int due = l->groups_fetched == 0 || age >= HSI_GROUPS_REFRESH_MS ||
	    (miss && age >= HSI_GROUPS_MISS_MS);
	if (due)
		l->groups_fetched = now;
	pthread_mutex_unlock(&l->mu);
	return due;
}

static int
group_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct group *)a)->id;
	uint32_t y = ((const struct group *)b)->id;
	return x < y ? -1 : x > y;
}

/* The interned address of UP store id in r, or -1. mu held. */
static int
store_addr(struct hsi_locations *l, const Hs__ListStoresReply *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_stores; i++)
		if (r->stores[i]->id == id)
			return r->stores[i]->state ==
				    HS__STORE_STATE__STORE_UP &&
				r->stores[i]->rpc_addr != NULL ?
			    intern(l, r->stores[i]->rpc_addr) :
			    -1;
	return -1;
}

void
hsi_groups_set(struct hsi_locations *l, const Hs__ListStoresReply *r)
{
	if (l == NULL)
		return;
	struct group *g = calloc(r->n_groups ? r->n_groups : 1, sizeof(*g));
	size_t n = 0;
	if (g == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < r->n_groups; i++) {
		const Hs__WriteGroup *w = r->groups[i];
		g[n].id = w->id;
		for (size_t k = 0; k < w->n_stores && g[n].n < HSI_LOC_MAX;
		     k++) {
			int a = store_addr(l, r, w->stores[k]);
			if (a < 0)
				continue;
			g[n].store[g[n].n] = w->stores[k];
			g[n].addr[g[n].n++] = (uint8_t)a;
		}
		/* Keep the store that served the group last. */
		for (size_t k = 0; k < l->ngroups; k++)
			if (l->groups[k].id == w->id)
				g[n].good = l->groups[k].good;
		n += g[n].n > 0;
	}
	qsort(g, n, sizeof(*g), group_cmp);
	free(l->groups);
	l->groups = g;
	l->ngroups = n;
	pthread_mutex_unlock(&l->mu);
}

/* The group with id, or NULL. mu held. */
static struct group *
group_find(struct hsi_locations *l, uint32_t id)
{
	struct group k = { .id = id };
	return bsearch(&k, l->groups, l->ngroups, sizeof(k), group_cmp);
}

int
hsi_groups_get(struct hsi_locations *l, uint32_t group,
    struct hsi_location *out)
{
	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	const struct group *g = group_find(l, group);
	uint32_t n = 0;
	for (int pass = 0; g != NULL && pass < 2; pass++)
		for (uint32_t i = 0; i < g->n; i++) {
			if ((g->store[i] == g->good) != (pass == 0))
				continue;
			hs__replica__init(&out->rep[n]);
			out->rep[n].store_id = g->store[i];
			out->rep[n].rpc_addr = l->addrs[g->addr[i]];
			out->rep[n].state = HS__STORE_STATE__STORE_UP;
			out->repp[n] = &out->rep[n];
			n++;
		}
	pthread_mutex_unlock(&l->mu);
	hs__lookup_result__init(&out->res);
	out->res.replicas = out->repp;
	out->res.n_replicas = n;
	return n > 0;
}

void
hsi_groups_good(struct hsi_locations *l, uint32_t group, uint32_t store_id)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	struct group *g = group_find(l, group);
	if (g != NULL)
		g->good = store_id;
	pthread_mutex_unlock(&l->mu);
}
