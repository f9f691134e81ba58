/* The task queue (see queue.h): a chained hash from photo key to its node
 * (dedup), and one binary heap per priority ordered by (not before, seq),
 * so a retry in backoff never blocks ready work behind it. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

enum { N_WAITING, N_IN_FLIGHT };

struct node {
	struct repl_task t;
	int state;
	int again;	       /* pushed while in flight: run once more */
	struct repl_task next; /* ... with this (merged) */
	int64_t not_before;
	uint64_t seq;
	size_t hidx; /* position in heaps[t.prio] */
	struct node *chain;
};

struct heap {
	struct node **v;
	size_t n, cap;
};

struct repl_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct node **buckets;
	size_t nbuckets, count, cap;
	struct heap heaps[REPL_PRIOS];
	uint64_t seq;
	struct repl_queue_stats st;
	int woken;
};

static size_t
bucket_of(const repl_queue *q, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) &
	    (q->nbuckets - 1);
}

static struct node *
find(repl_queue *q, uint64_t key)
{
	for (struct node *n = q->buckets[bucket_of(q, key)]; n; n = n->chain)
		if (n->t.key == key)
			return n;
	return NULL;
}

static void
unlink_node(repl_queue *q, struct node *x)
{
	struct node **pp = &q->buckets[bucket_of(q, x->t.key)];
	while (*pp != x)
		pp = &(*pp)->chain;
	*pp = x->chain;
	q->count--;
}

/* Doubling keeps chains short; a failed grow only costs speed. */
static void
maybe_grow(repl_queue *q)
{
	if (q->count < q->nbuckets)
		return;
	size_t nb = q->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	struct node **old = q->buckets;
	size_t on = q->nbuckets;
	q->buckets = b;
	q->nbuckets = nb;
	for (size_t i = 0; i < on; i++) {
		struct node *n = old[i];
		while (n) {
			struct node *nx = n->chain;
			size_t k = bucket_of(q, n->t.key);
			n->chain = b[k];
			b[k] = n;
			n = nx;
		}
	}
	free(old);
}

static int
before(const struct node *a, const struct node *b)
{
	if (a->not_before != b->not_before)
		return a->not_before < b->not_before;
	return a->seq < b->seq;
}

static void
heap_set(struct heap *h, size_t i, struct node *n)
{
	h->v[i] = n;
	n->hidx = i;
}

static void
sift_up(struct heap *h, size_t i)
{
	struct node *n = h->v[i];
	while (i > 0 && before(n, h->v[(i - 1) / 2])) {
		heap_set(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, n);
}

static void
sift_down(struct heap *h, size_t i)
{
	struct node *n = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
			c++;
		if (!before(h->v[c], n))
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, n);
}

static int
heap_add(struct heap *h, struct node *n)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		struct node **v = realloc(h->v, nc * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		h->v = v;
		h->cap = nc;
	}
	heap_set(h, h->n++, n);
	sift_up(h, h->n - 1);
	return 0;
}

static void
heap_remove(struct heap *h, size_t i)
{
	struct node *last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	sift_down(h, i);
	sift_up(h, last->hidx);
}

repl_queue *
repl_queue_open(size_t cap)
{
	repl_queue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->nbuckets = 1024;
	q->buckets = calloc(q->nbuckets, sizeof(*q->buckets));
	if (q->buckets == NULL) {
		free(q);
		return NULL;
	}
	q->cap = cap ? cap : 1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	return q;
}

void
repl_queue_close(repl_queue *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct node *n = q->buckets[i];
		while (n) {
			struct node *nx = n->chain;
			free(n);
			n = nx;
		}
	}
	for (int p = 0; p < REPL_PRIOS; p++)
		free(q->heaps[p].v);
	free(q->buckets);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

/* Folds b into a: the higher priority and the union of bad stores. */
static void
merge_task(struct repl_task *a, const struct repl_task *b)
{
	if (b->prio < a->prio)
		a->prio = b->prio;
	for (int i = 0; i < b->nbad; i++) {
		int seen = 0;
		for (int j = 0; j < a->nbad; j++)
			seen |= a->bad[j] == b->bad[i];
		if (!seen && a->nbad < REPL_TASK_MAX_BAD)
			a->bad[a->nbad++] = b->bad[i];
	}
}

/* Removes the newest-leaf waiting task of the lowest priority below prio. */
static int
drop_lowest_below(repl_queue *q, int prio)
{
	for (int p = REPL_PRIOS - 1; p > prio; p--) {
		struct heap *h = &q->heaps[p];
		if (h->n == 0)
			continue;
		struct node *victim = h->v[h->n - 1];
		heap_remove(h, h->n - 1);
		unlink_node(q, victim);
		free(victim);
		q->st.dropped++;
		return 1;
	}
	return 0;
}

static enum repl_push_result
push_locked(repl_queue *q, const struct repl_task *t, int64_t not_before)
{
	struct node *n = find(q, t->key);
	if (n != NULL && n->state == N_IN_FLIGHT) {
		if (!n->again) {
			n->again = 1;
			n->next = *t;
			n->next.attempt = 0;
		} else {
			merge_task(&n->next, t);
		}
		return REPL_PUSH_MERGED;
	}
	if (n != NULL) {
		int old = n->t.prio;
		merge_task(&n->t, t);
		if (n->t.prio != old) {
			heap_remove(&q->heaps[old], n->hidx);
			n->not_before = not_before; /* an upgrade runs now */
			heap_add(&q->heaps[n->t.prio], n);
			q->st.upgraded++;
		}
		return REPL_PUSH_MERGED;
	}
	if (q->count >= q->cap && !drop_lowest_below(q, t->prio)) {
		q->st.dropped++;
		return REPL_PUSH_DROPPED;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		q->st.dropped++;
		return REPL_PUSH_DROPPED;
	}
	n->t = *t;
	if (n->t.prio < 0 || n->t.prio >= REPL_PRIOS)
		n->t.prio = REPL_LOW;
	n->state = N_WAITING;
	n->not_before = not_before;
	n->seq = ++q->seq;
	if (heap_add(&q->heaps[n->t.prio], n) != 0) {
		free(n);
		q->st.dropped++;
		return REPL_PUSH_DROPPED;
	}
	size_t b = bucket_of(q, t->key);
	n->chain = q->buckets[b];
	q->buckets[b] = n;
	q->count++;
	maybe_grow(q);
	return REPL_PUSH_NEW;
}

enum repl_push_result
repl_queue_push(repl_queue *q, const struct repl_task *t)
{
	pthread_mutex_lock(&q->mu);
	enum repl_push_result r = push_locked(q, t, 0);
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return r;
}

/* The earliest not_before among heap tops, or INT64_MAX. */
static int64_t
next_ready(repl_queue *q)
{
	int64_t m = INT64_MAX;
	for (int p = 0; p < REPL_PRIOS; p++)
		if (q->heaps[p].n && q->heaps[p].v[0]->not_before < m)
			m = q->heaps[p].v[0]->not_before;
	return m;
}

static size_t
take_ready(repl_queue *q, struct repl_task *out, size_t max, int64_t now)
{
	size_t got = 0;
	for (int p = 0; p < REPL_PRIOS && got < max; p++) {
		struct heap *h = &q->heaps[p];
		while (got < max && h->n && h->v[0]->not_before <= now) {
			struct node *n = h->v[0];
			heap_remove(h, 0);
			n->state = N_IN_FLIGHT;
			out[got++] = n->t;
			q->st.in_flight++;
		}
	}
	return got;
}

size_t
repl_queue_pop(repl_queue *q, struct repl_task *out, size_t max, int64_t now_ms,
    int wait_ms)
{
	pthread_mutex_lock(&q->mu);
	size_t got = take_ready(q, out, max, now_ms);
	if (got == 0 && wait_ms > 0 && !q->woken) {
		int64_t nr = next_ready(q);
		int64_t w = wait_ms;
		if (nr != INT64_MAX && nr - now_ms < w)
			w = nr - now_ms > 0 ? nr - now_ms : 1;
		struct timespec ts;
		rt_timespec_in(w, &ts);
		pthread_cond_timedwait(&q->cv, &q->mu, &ts);
		got = take_ready(q, out, max, now_ms + w);
	}
	pthread_mutex_unlock(&q->mu);
	return got;
}

int
repl_queue_finish(repl_queue *q, const struct repl_task *t, int ok,
    int64_t now_ms, int64_t base_ms, uint32_t max_attempts)
{
	int requeued = 0;
	pthread_mutex_lock(&q->mu);
	struct node *n = find(q, t->key);
	if (n == NULL || n->state != N_IN_FLIGHT) {
		pthread_mutex_unlock(&q->mu);
		return 0; /* cleared meanwhile */
	}
	q->st.in_flight--;
	if (ok)
		q->st.done++;
	if (n->again) {
		/* Newer news arrived during the run: evaluate again now. */
		n->t = n->next;
		n->again = 0;
		if (!ok)
			merge_task(&n->t, t);
		n->not_before = now_ms;
		requeued = 1;
	} else if (!ok && t->attempt + 1 < max_attempts) {
		n->t = *t;
		n->t.attempt = t->attempt + 1;
		int shift = t->attempt < 6 ? (int)t->attempt : 6;
		n->not_before = now_ms + (base_ms << shift);
		requeued = 1;
	} else if (!ok) {
		q->st.failed++;
	}
	if (requeued) {
		n->state = N_WAITING;
		n->seq = ++q->seq;
		if (heap_add(&q->heaps[n->t.prio], n) != 0)
			requeued = 0;
	}
	if (!requeued) {
		unlink_node(q, n);
		free(n);
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return requeued;
}

void
repl_queue_clear(repl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	for (int p = 0; p < REPL_PRIOS; p++) {
		struct heap *h = &q->heaps[p];
		while (h->n) {
			struct node *n = h->v[h->n - 1];
			h->n--;
			unlink_node(q, n);
			free(n);
		}
	}
	pthread_mutex_unlock(&q->mu);
}

void
repl_queue_stats(repl_queue *q, struct repl_queue_stats *s)
{
	pthread_mutex_lock(&q->mu);
	*s = q->st;
	for (int p = 0; p < REPL_PRIOS; p++)
		s->depth[p] = q->heaps[p].n;
	pthread_mutex_unlock(&q->mu);
}

void
repl_queue_wake(repl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->woken = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
