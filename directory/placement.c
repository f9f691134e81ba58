/* Where a grant's photos go (see placement.h). */
#include "placement.h"

#include <string.h>

/* Groups of a store looked at per grant: the table bounds them near
 * DIR_GROUPS_PER_STORE, so more are not needed to find a writable one. */
#define CANDIDATES 64

/* Distinct zones among e[0..n). */
static size_t
zones_of(const struct dir_store *e, size_t n)
{
	size_t z = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < i && strcmp(e[k].zone, e[i].zone) != 0)
			k++;
		z += k == i;
	}
	return z;
}

/* Group c's stores into e when every one is UP with need bytes free: the
 * smallest free space among them, or 0 when c cannot take the grant. */
static uint64_t
writable(dir_stores *s, const struct dir_group *c, uint64_t need,
    struct dir_store *e)
{
	uint64_t least = UINT64_MAX;
	for (size_t i = 0; i < c->n; i++) {
		if (dir_stores_get(s, c->stores[i], &e[i]) != 0 ||
		    e[i].state != HS__STORE_STATE__STORE_UP ||
		    e[i].free_bytes < need)
			return 0;
		if (e[i].free_bytes < least)
			least = e[i].free_bytes;
	}
	return least + 1; /* need may be 0: room is never 0 */
}

/* Among the groups holding stores[0], the writable one spread over at
 * least as many zones as stores[0..n), with the most room in its fullest
 * store: its id (its stores into stores), or 0 when there are fewer than
 * DIR_GROUPS_PER_STORE such groups or none qualifies. */
static uint32_t
reuse(dir_stores *s, dir_groups *g, size_t n, uint64_t need, uint32_t *stores)
{
	struct dir_group c[CANDIDATES];
	struct dir_store drawn[DIR_MAX_REPLICAS], e[DIR_MAX_REPLICAS];
	size_t nc = dir_groups_holding(g, stores[0], n, c, CANDIDATES);
	if (nc < DIR_GROUPS_PER_STORE)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (dir_stores_get(s, stores[i], &drawn[i]) != 0)
			return 0;
	size_t spread = zones_of(drawn, n), best = CANDIDATES;
	uint64_t best_room = 0;
	for (size_t k = 0; k < nc && k < CANDIDATES; k++) {
		uint64_t room = writable(s, &c[k], need, e);
		if (room > best_room && zones_of(e, n) >= spread) {
			best = k;
			best_room = room;
		}
	}
	if (best == CANDIDATES)
		return 0;
	memcpy(stores, c[best].stores, n * sizeof(*stores));
	return c[best].id;
}

size_t
dir_place(dir_stores *s, dir_groups *g, size_t n, uint64_t need,
    uint32_t *stores, uint32_t *group, size_t *ups)
{
	size_t got = dir_stores_pick(s, n, need, stores, ups);
	if (got != n || n == 0)
		return got;
	*group = dir_groups_find(g, stores, n);
	if (*group == 0)
		*group = reuse(s, g, n, need, stores);
	return n;
}
