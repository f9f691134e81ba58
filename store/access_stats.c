/* Access counting (see access_stats.h): an open-addressing table of
 * (key, cookie, reads) swapped out whole at each report. */
#include "access_stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "replicator.pb-c.h"
#include "store.h"

#define MAX_ENTRIES 100000 /* per window, as ReportAccess allows */

struct slot {
	uint64_t key; /* 0 = empty; photo keys are never 0 */
	uint32_t cookie;
	uint32_t reads;
};

struct table {
	struct slot *slots;
	size_t cap, used;
};

struct access_stats {
	pthread_mutex_t mu;
	struct table t;
	int64_t window_start;
};

static int
table_init(struct table *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(cap, sizeof(*t->slots));
	t->cap = t->slots ? cap : 0;
	return t->slots ? 0 : -1;
}

static struct slot *
table_find(struct table *t, uint64_t key)
{
	size_t i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (t->cap - 1);
	while (t->slots[i].key != 0 && t->slots[i].key != key)
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

static void
table_grow(struct table *t)
{
	struct table n;
	if (table_init(&n, t->cap * 2) != 0)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key != 0)
			*table_find(&n, t->slots[i].key) = t->slots[i];
	n.used = t->used;
	free(t->slots);
	*t = n;
}

struct access_stats *
access_stats_open(void)
{
	struct access_stats *a = calloc(1, sizeof(*a));
	if (a == NULL || table_init(&a->t, 1024) != 0) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->window_start = rt_now_ms();
	return a;
}

void
access_stats_close(struct access_stats *a)
{
	if (a == NULL)
		return;
	free(a->t.slots);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
access_stats_count(struct access_stats *a, uint64_t key, uint32_t cookie)
{
	pthread_mutex_lock(&a->mu);
	if (a->t.used * 4 >= a->t.cap * 3)
		table_grow(&a->t);
	struct slot *s = table_find(&a->t, key);
	if (s->key == 0 && a->t.used < MAX_ENTRIES) {
		s->key = key;
		s->cookie = cookie;
		a->t.used++;
	}
	if (s->key == key)
		s->reads++;
	pthread_mutex_unlock(&a->mu);
}

void
access_stats_report(struct access_stats *a, struct store_service *svc)
{
	struct table old, fresh;
	if (table_init(&fresh, 1024) != 0)
		return;
	pthread_mutex_lock(&a->mu);
	old = a->t;
	a->t = fresh;
	int64_t start = a->window_start;
	a->window_start = rt_now_ms();
	pthread_mutex_unlock(&a->mu);

	rpc_client *c = store_replicator(svc);
	if (c != NULL && old.used > 0) {
		Hs__AccessCount *counts = calloc(old.used, sizeof(*counts));
		Hs__AccessCount **ptrs = calloc(old.used, sizeof(*ptrs));
		Hs__PhotoId *ids = calloc(old.used, sizeof(*ids));
		size_t n = 0;
		for (size_t i = 0; counts && ptrs && ids && i < old.cap; i++) {
			if (old.slots[i].key == 0)
				continue;
			hs__access_count__init(&counts[n]);
			hs__photo_id__init(&ids[n]);
			ids[n].key = old.slots[i].key;
			ids[n].cookie = old.slots[i].cookie;
			counts[n].id = &ids[n];
			counts[n].reads = old.slots[i].reads;
			ptrs[n] = &counts[n];
			n++;
		}
		Hs__ReportAccessRequest req = HS__REPORT_ACCESS_REQUEST__INIT;
		req.store_id = (uint32_t)svc->cfg.id;
		req.interval_ms = rt_now_ms() - start;
		req.counts = ptrs;
		req.n_counts = n;
		store_report(c, "ReportAccess", &req.base);
		free(counts);
		free(ptrs);
		free(ids);
	}
	free(old.slots);
}
