/* The write-group table (see groups.h): a small array under a mutex; a
 * cluster has a few groups per store (placement.h), looked up once per
 * grant. */
#include "groups.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dir_groups {
	pthread_mutex_t mu;
	struct dir_group g[DIR_MAX_GROUPS];
	size_t n;
};

int
dir_groups_open(dir_groups **out)
{
	dir_groups *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -1;
	pthread_mutex_init(&g->mu, NULL);
	*out = g;
	return 0;
}

void
dir_groups_close(dir_groups *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static struct dir_group *
find_id(dir_groups *g, uint32_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->g[i].id == id)
			return &g->g[i];
	return NULL;
}

int
dir_groups_put(dir_groups *g, const struct dir_group *e)
{
	int rc = 0;
	pthread_mutex_lock(&g->mu);
	struct dir_group *slot = find_id(g, e->id);
	if (slot == NULL && g->n < DIR_MAX_GROUPS)
		slot = &g->g[g->n++];
	if (slot != NULL)
		*slot = *e;
	else
		rc = -1;
	pthread_mutex_unlock(&g->mu);
	return rc;
}

static int
holds(const struct dir_group *e, uint32_t store)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->stores[i] == store)
			return 1;
	return 0;
}

/* Same set: same size and every store of one in the other (stores of a
 * group are distinct). */
static int
same_set(const struct dir_group *e, const uint32_t *stores, size_t n)
{
	if (e->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!holds(e, stores[i]))
			return 0;
	return 1;
}

uint32_t
dir_groups_find(dir_groups *g, const uint32_t *stores, size_t n)
{
	uint32_t id = 0;
	pthread_mutex_lock(&g->mu);
	for (size_t i = 0; i < g->n && id == 0; i++)
		if (same_set(&g->g[i], stores, n))
			id = g->g[i].id;
	pthread_mutex_unlock(&g->mu);
	return id;
}

size_t
dir_groups_holding(dir_groups *g, uint32_t store, size_t n,
    struct dir_group *out, size_t max)
{
	size_t found = 0;
	pthread_mutex_lock(&g->mu);
	for (size_t i = 0; i < g->n; i++)
		if (g->g[i].n == n && holds(&g->g[i], store)) {
			if (found < max)
				out[found] = g->g[i];
			found++;
		}
	pthread_mutex_unlock(&g->mu);
	return found;
}

int
dir_groups_get(dir_groups *g, uint32_t id, struct dir_group *out)
{
	pthread_mutex_lock(&g->mu);
	struct dir_group *e = find_id(g, id);
	if (e != NULL)
		*out = *e;
	pthread_mutex_unlock(&g->mu);
	return e != NULL ? 0 : -1;
}

size_t
dir_groups_list(dir_groups *g, struct dir_group *out, size_t max)
{
	pthread_mutex_lock(&g->mu);
	size_t n = g->n < max ? g->n : max;
	memcpy(out, g->g, n * sizeof(*out));
	pthread_mutex_unlock(&g->mu);
	return n;
}

void
dir_group_format(const struct dir_group *e, char *out, size_t len)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < e->n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%" PRIu32,
		    i ? "," : "", e->stores[i]);
}

int
dir_group_parse(const char *s, size_t len, struct dir_group *e)
{
	char buf[DIR_MAX_REPLICAS * 11 + 1];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	e->n = 0;
	for (char *p = buf; *p != '\0';) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v == 0 || v > UINT32_MAX ||
		    e->n == DIR_MAX_REPLICAS || holds(e, (uint32_t)v))
			return -1;
		e->stores[e->n++] = (uint32_t)v;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -1;
		p = end;
	}
	return e->n > 0 ? 0 : -1;
}
