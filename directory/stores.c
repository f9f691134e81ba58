/* The store table (see stores.h): a small array searched linearly (a
 * cluster has tens of stores, not thousands). */
#include "stores.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct dir_stores {
	pthread_mutex_t mu;
	int64_t interval_ms;
	struct dir_store *e;
	size_t n, max;
};

int
dir_stores_open(dir_stores **out, int64_t heartbeat_interval_ms,
    size_t max_stores)
{
	dir_stores *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->max = max_stores == 0 || max_stores > DIR_MAX_STORES ?
	    DIR_MAX_STORES :
	    max_stores;
	s->e = calloc(s->max, sizeof(*s->e));
	if (s->e == NULL) {
		free(s);
		return -1;
	}
	s->interval_ms = heartbeat_interval_ms;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

void
dir_stores_close(dir_stores *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->e);
	free(s);
}

size_t
dir_stores_max(dir_stores *s)
{
	return s->max;
}

static struct dir_store *
find(dir_stores *s, uint32_t id, int create)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].id == id)
			return &s->e[i];
	if (!create || s->n == s->max)
		return NULL;
	struct dir_store *e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	return e;
}

/* 1 if u may go into a Location header as it is: http:// or https://,
 * printable ASCII without blanks, and it fits in cap. */
static int
http_url_ok(const char *u, size_t cap)
{
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	size_t n = strlen(u);
	for (size_t i = 0; i < n; i++)
		if (u[i] <= ' ' || u[i] >= 0x7f)
			return 0;
	return n < cap;
}

static void
copy_info(struct dir_store *e, const Hs__StoreInfo *in)
{
	snprintf(e->rpc_addr, sizeof(e->rpc_addr), "%s", in->rpc_addr);
	if (http_url_ok(in->http_url, sizeof(e->http_url)))
		snprintf(e->http_url, sizeof(e->http_url), "%s", in->http_url);
	else
		e->http_url[0] = '\0';
	snprintf(e->pub_addr, sizeof(e->pub_addr), "%s", in->pub_addr);
	snprintf(e->zone, sizeof(e->zone), "%s", in->zone);
	e->capacity_bytes = in->capacity_bytes;
	e->free_bytes = in->free_bytes;
	e->volumes = in->volumes;
	e->needles = in->needles;
}

enum dir_store_change
dir_stores_heartbeat(dir_stores *s, const Hs__StoreInfo *in, int64_t now_mono,
    struct dir_store *out)
{
	enum dir_store_change c = DIR_STORE_SAME;
	pthread_mutex_lock(&s->mu);
	struct dir_store *e = find(s, in->id, 0);
	if (e == NULL) {
		e = find(s, in->id, 1);
		c = DIR_STORE_JOINED;
	}
	if (e == NULL) {
		pthread_mutex_unlock(&s->mu);
		return DIR_STORE_FULL;
	}
	/* The store says whether it is writable; we only add DOWN. */
	Hs__StoreState st = in->state == HS__STORE_STATE__STORE_READONLY ?
	    HS__STORE_STATE__STORE_READONLY :
	    HS__STORE_STATE__STORE_UP;
	if (c == DIR_STORE_SAME && e->state != st)
		c = e->state == HS__STORE_STATE__STORE_DOWN ||
			e->state == HS__STORE_STATE__STORE_UNKNOWN ?
		    DIR_STORE_UP :
		    DIR_STORE_STATE;
	copy_info(e, in);
	e->state = st;
	e->last_heartbeat_ms = in->last_heartbeat_ms;
	e->last_seen_mono = now_mono;
	*out = *e;
	pthread_mutex_unlock(&s->mu);
	return c;
}

size_t
dir_stores_expire(dir_stores *s, int64_t now_mono, struct dir_store *out,
    size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		struct dir_store *e = &s->e[i];
		if (e->state == HS__STORE_STATE__STORE_DOWN ||
		    now_mono - e->last_seen_mono <=
			DIR_MISSED_BEATS * s->interval_ms)
			continue;
		e->state = HS__STORE_STATE__STORE_DOWN;
		if (k < max)
			out[k++] = *e;
	}
	pthread_mutex_unlock(&s->mu);
	return k;
}

void
dir_stores_put(dir_stores *s, const Hs__StoreInfo *in, int64_t now_mono)
{
	pthread_mutex_lock(&s->mu);
	struct dir_store *e = find(s, in->id, 1);
	if (e != NULL) {
		copy_info(e, in);
		e->state = in->state;
		e->last_heartbeat_ms = in->last_heartbeat_ms;
		e->last_seen_mono = now_mono;
	}
	pthread_mutex_unlock(&s->mu);
}

int
dir_stores_get(dir_stores *s, uint32_t id, struct dir_store *out)
{
	pthread_mutex_lock(&s->mu);
	struct dir_store *e = find(s, id, 0);
	if (e != NULL)
		*out = *e;
	pthread_mutex_unlock(&s->mu);
	return e ? 0 : -1;
}

size_t
dir_stores_list(dir_stores *s, int include_down, struct dir_store *out,
    size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n && k < max; i++)
		if (include_down ||
		    s->e[i].state == HS__STORE_STATE__STORE_UP ||
		    s->e[i].state == HS__STORE_STATE__STORE_READONLY)
			out[k++] = s->e[i];
	pthread_mutex_unlock(&s->mu);
	return k;
}

static uint64_t
rand64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)random() << 32 ^ (uint64_t)random();
	return v;
}

static int
zone_used(const char *zone, const char (*used)[64], size_t nused)
{
	for (size_t i = 0; i < nused; i++)
		if (strcmp(used[i], zone) == 0)
			return 1;
	return 0;
}

/* One weighted draw among candidates not taken; with fresh_zone only
 * among stores whose zone is not used yet. -1 if none qualifies. */
static int
draw(const struct dir_store *c, size_t nc, const int *taken,
    const char (*used)[64], size_t nused, int fresh_zone)
{
	uint64_t total = 0;
	for (size_t i = 0; i < nc; i++)
		if (!taken[i] &&
		    !(fresh_zone && zone_used(c[i].zone, used, nused)))
			total += c[i].free_bytes / 4096 + 1;
	if (total == 0)
		return -1;
	uint64_t x = rand64() % total;
	for (size_t i = 0; i < nc; i++) {
		if (taken[i] ||
		    (fresh_zone && zone_used(c[i].zone, used, nused)))
			continue;
		uint64_t w = c[i].free_bytes / 4096 + 1;
		if (x < w)
			return (int)i;
		x -= w;
	}
	return -1;
}

size_t
dir_stores_pick(dir_stores *s, size_t n, uint64_t need, uint32_t *out,
    size_t *ups)
{
	struct dir_store *c = malloc(DIR_MAX_STORES * sizeof(*c));
	int taken[DIR_MAX_STORES] = { 0 };
	char used[DIR_MAX_REPLICAS_PICK][64];
	size_t nc = 0, nused = 0;
	*ups = 0;
	if (c == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].state != HS__STORE_STATE__STORE_UP)
			continue;
		(*ups)++;
		if (s->e[i].free_bytes >= need)
			c[nc++] = s->e[i];
	}
	pthread_mutex_unlock(&s->mu);
	if (nc < n || n > DIR_MAX_REPLICAS_PICK) {
		free(c);
		return nc < n ? nc : 0;
	}
	for (size_t k = 0; k < n; k++) {
		/* Zones first: only when every zone is used do two replicas
		 * share one (stores without a label form the zone ""). */
		int i = draw(c, nc, taken, used, nused, 1);
		if (i < 0)
			i = draw(c, nc, taken, used, nused, 0);
		taken[i] = 1;
		out[k] = c[i].id;
		snprintf(used[nused++], sizeof(used[0]), "%s", c[i].zone);
	}
	free(c);
	return n;
}

void
dir_store_to_pb(const struct dir_store *e, Hs__StoreInfo *pb)
{
	hs__store_info__init(pb);
	pb->id = e->id;
	pb->rpc_addr = (char *)e->rpc_addr;
	pb->pub_addr = (char *)e->pub_addr;
	pb->zone = (char *)e->zone;
	pb->http_url = (char *)e->http_url;
	pb->state = e->state;
	pb->capacity_bytes = e->capacity_bytes;
	pb->free_bytes = e->free_bytes;
	pb->volumes = e->volumes;
	pb->needles = e->needles;
	pb->last_heartbeat_ms = e->last_heartbeat_ms;
}

const char *
dir_store_topic(enum dir_store_change c)
{
	switch (c) {
	case DIR_STORE_JOINED:
		return "store.joined";
	case DIR_STORE_UP:
		return "store.up";
	case DIR_STORE_DOWN:
		return "store.down";
	case DIR_STORE_STATE:
		return "store.state";
	default:
		return NULL;
	}
}
