/* The set of gone keys (see gone_keys.h): two open-addressing hash sets of
 * keys (0 = empty slot), the current one and the one before; every
 * keep_ms the older is dropped and the current becomes older. */
#include "gone_keys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct gen {
	uint64_t *slot; /* capacity a power of two, or NULL when empty */
	size_t cap, n;
};

struct gone_keys {
	pthread_mutex_t mu;
	struct gen cur, old;
	int64_t keep_ms, rotated; /* monotonic ms of the last rotation */
};

static size_t
hash(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static int
gen_has(const struct gen *g, uint64_t key)
{
	if (g->slot == NULL)
		return 0;
	for (size_t i = hash(key, g->cap);; i = (i + 1) & (g->cap - 1)) {
		if (g->slot[i] == key)
			return 1;
		if (g->slot[i] == 0)
			return 0;
	}
}

/* Inserts into a table known to have room. */
static void
gen_put(struct gen *g, uint64_t key)
{
	size_t i = hash(key, g->cap);
	while (g->slot[i] != 0 && g->slot[i] != key)
		i = (i + 1) & (g->cap - 1);
	if (g->slot[i] == 0) {
		g->slot[i] = key;
		g->n++;
	}
}

/* Keeps the load at most one half. 0, or -1 when out of memory. */
static int
gen_room(struct gen *g)
{
	if (g->slot != NULL && 2 * (g->n + 1) <= g->cap)
		return 0;
	struct gen bigger = { NULL, g->cap ? 2 * g->cap : 1024, 0 };
	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (bigger.slot == NULL)
		return -1;
	for (size_t i = 0; i < g->cap; i++)
		if (g->slot[i] != 0)
			gen_put(&bigger, g->slot[i]);
	free(g->slot);
	*g = bigger;
	return 0;
}

struct gone_keys *
gone_keys_open(int64_t keep_ms)
{
	struct gone_keys *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	pthread_mutex_init(&g->mu, NULL);
	g->keep_ms = keep_ms;
	g->rotated = rt_mono_ms();
	return g;
}

void
gone_keys_close(struct gone_keys *g)
{
	if (g == NULL)
		return;
	free(g->cur.slot);
	free(g->old.slot);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* Under g->mu: ages the generations. */
static void
rotate(struct gone_keys *g)
{
	int64_t now = rt_mono_ms();
	if (now - g->rotated < g->keep_ms)
		return;
	free(g->old.slot);
	g->old = g->cur;
	memset(&g->cur, 0, sizeof(g->cur));
	g->rotated = now;
}

void
gone_keys_add(struct gone_keys *g, uint64_t key)
{
	if (key == 0)
		return;
	pthread_mutex_lock(&g->mu);
	rotate(g);
	if (gen_room(&g->cur) == 0)
		gen_put(&g->cur, key);
	pthread_mutex_unlock(&g->mu);
}

int
gone_keys_has(struct gone_keys *g, uint64_t key)
{
	pthread_mutex_lock(&g->mu);
	rotate(g);
	int has = gen_has(&g->cur, key) || gen_has(&g->old, key);
	pthread_mutex_unlock(&g->mu);
	return has;
}
