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

struct hsi_locations {
	pthread_mutex_t mu;
	int64_t ttl_ms;
	size_t naddrs;
	char addrs[MAX_ADDRS][HS_ADDR_MAX];
	struct entry slots[SLOTS];
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
