/* Decaying access rates (see rates.h). count(t) = count(t0) * 2^-(dt/H) +
 * new reads; rate/min = count * ln2 / H * 60000, which for a steady stream
 * of r/min settles at r. Open addressing with linear probing and
 * backward-shift deletion, keyed by photo key. */
#include "rates.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

struct slot {
	uint64_t key; /* 0 = empty (photo keys are never 0) */
	uint32_t cookie;
	uint8_t hot;
	double count;
	int64_t at;
};

struct repl_rates {
	pthread_mutex_t mu;
	struct slot *s;
	size_t nslots, n, cap;
	double half_life;
	uint64_t evicted;
};

repl_rates *
repl_rates_open(size_t cap, int64_t half_life_ms)
{
	repl_rates *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->cap = cap ? cap : 1;
	r->nslots = 16;
	while (r->nslots < r->cap * 2)
		r->nslots *= 2;
	r->s = calloc(r->nslots, sizeof(*r->s));
	if (r->s == NULL) {
		free(r);
		return NULL;
	}
	r->half_life = half_life_ms > 0 ? (double)half_life_ms : 60000.0;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
repl_rates_close(repl_rates *r)
{
	if (r == NULL)
		return;
	free(r->s);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static size_t
home(const repl_rates *r, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (r->nslots - 1);
}

static struct slot *
lookup(repl_rates *r, uint64_t key)
{
	for (size_t i = home(r, key);; i = (i + 1) & (r->nslots - 1)) {
		if (r->s[i].key == key)
			return &r->s[i];
		if (r->s[i].key == 0)
			return NULL;
	}
}

static void
remove_slot(repl_rates *r, size_t i)
{
	size_t mask = r->nslots - 1;
	r->s[i].key = 0;
	for (size_t j = (i + 1) & mask; r->s[j].key != 0; j = (j + 1) & mask) {
		size_t h = home(r, r->s[j].key);
		/* Move j back into the hole if its home is not in (i, j]. */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			r->s[i] = r->s[j];
			r->s[j].key = 0;
			i = j;
		}
	}
	r->n--;
}

static double
decayed(const repl_rates *r, const struct slot *s, int64_t now)
{
	double dt = (double)(now - s->at);
	if (dt <= 0)
		return s->count;
	return s->count * exp2(-dt / r->half_life);
}

static double
per_min(const repl_rates *r, double count)
{
	return count * M_LN2 / r->half_life * 60000.0;
}

/* Drops every non-hot slot below the median-ish cut: anything under a
 * tenth of a read per minute, then the coldest half if still full. */
static void
evict(repl_rates *r, int64_t now)
{
	for (double cut = 0.1; r->n >= r->cap; cut *= 4) {
		for (size_t i = 0; i < r->nslots; i++) {
			if (r->s[i].key == 0 || r->s[i].hot)
				continue;
			if (per_min(r, decayed(r, &r->s[i], now)) < cut) {
				remove_slot(r, i);
				r->evicted++;
				i--; /* the shift may have moved a slot into i */
			}
		}
		if (cut > 1e12)
			break;
	}
}

static struct slot *
insert(repl_rates *r, uint64_t key, uint32_t cookie, int64_t now)
{
	if (r->n >= r->cap)
		evict(r, now);
	if (r->n >= r->cap)
		return NULL;
	size_t i = home(r, key);
	while (r->s[i].key != 0)
		i = (i + 1) & (r->nslots - 1);
	struct slot *s = &r->s[i];
	s->key = key;
	s->cookie = cookie;
	s->hot = 0;
	s->count = 0;
	s->at = now;
	r->n++;
	return s;
}

double
repl_rates_add(repl_rates *r, uint64_t key, uint32_t cookie, uint32_t reads,
    int64_t now_ms)
{
	if (key == 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	struct slot *s = lookup(r, key);
	if (s == NULL)
		s = insert(r, key, cookie, now_ms);
	double rate = 0;
	if (s != NULL) {
		s->count = decayed(r, s, now_ms) + reads;
		if (now_ms > s->at)
			s->at = now_ms;
		rate = per_min(r, s->count);
	}
	pthread_mutex_unlock(&r->mu);
	return rate;
}

double
repl_rates_get(repl_rates *r, uint64_t key, int64_t now_ms)
{
	pthread_mutex_lock(&r->mu);
	struct slot *s = key ? lookup(r, key) : NULL;
	double rate = s ? per_min(r, decayed(r, s, now_ms)) : 0;
	pthread_mutex_unlock(&r->mu);
	return rate;
}

void
repl_rates_set_hot(repl_rates *r, uint64_t key, uint32_t cookie, int hot)
{
	if (key == 0)
		return;
	pthread_mutex_lock(&r->mu);
	struct slot *s = lookup(r, key);
	if (s == NULL && hot)
		s = insert(r, key, cookie, 0);
	if (s != NULL)
		s->hot = (uint8_t)(hot != 0);
	pthread_mutex_unlock(&r->mu);
}

size_t
repl_rates_cooled(repl_rates *r, double threshold, int64_t now_ms,
    struct repl_rate_photo *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nslots && n < max; i++) {
		struct slot *s = &r->s[i];
		if (s->key == 0 || !s->hot)
			continue;
		double rate = per_min(r, decayed(r, s, now_ms));
		if (rate < threshold) {
			out[n].key = s->key;
			out[n].cookie = s->cookie;
			out[n].rate = rate;
			n++;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

void
repl_rates_size(repl_rates *r, size_t *count, uint64_t *evicted)
{
	pthread_mutex_lock(&r->mu);
	*count = r->n;
	*evicted = r->evicted;
	pthread_mutex_unlock(&r->mu);
}

int
repl_rates_is_hot(repl_rates *r, uint64_t key)
{
	pthread_mutex_lock(&r->mu);
	struct slot *s = key ? lookup(r, key) : NULL;
	int hot = s ? s->hot : 0;
	pthread_mutex_unlock(&r->mu);
	return hot;
}
