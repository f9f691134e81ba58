/* Access rates per photo from the stores' ReportAccess: a count that decays
 * with a half-life, read as requests per minute. For a steady stream of r
 * reads/min the estimate converges to r, and a photo that stops being read
 * falls below any threshold within a few half-lives, with no timers: decay
 * is applied lazily when a photo is touched or read.
 *
 * Bounded: at most cap photos are tracked; when full, the coldest are
 * evicted (a cold photo's rate is as good as zero). Thread safe. */
#ifndef REPL_RATES_H
#define REPL_RATES_H

#include <stddef.h>
#include <stdint.h>

typedef struct repl_rates repl_rates;

repl_rates *repl_rates_open(size_t cap, int64_t half_life_ms);
void repl_rates_close(repl_rates *r);

/* Adds reads seen on one store for one photo at now_ms (monotonic).
 * Returns the photo's rate (requests/min) after the addition. */
double repl_rates_add(repl_rates *r, uint64_t key, uint32_t cookie,
    uint32_t reads, int64_t now_ms);

/* The photo's rate at now_ms (0 if untracked). */
double repl_rates_get(repl_rates *r, uint64_t key, int64_t now_ms);

/* Marks a photo hot (its target was raised) or not; hot photos are what
 * repl_rates_cooled scans. */
void repl_rates_set_hot(repl_rates *r, uint64_t key, uint32_t cookie, int hot);

/* 1 if the photo is marked hot. */
int repl_rates_is_hot(repl_rates *r, uint64_t key);

struct repl_rate_photo {
	uint64_t key;
	uint32_t cookie;
	double rate;
};

/* Copies up to max hot photos whose rate is now below threshold into out. */
size_t repl_rates_cooled(repl_rates *r, double threshold, int64_t now_ms,
    struct repl_rate_photo *out, size_t max);

/* Photos tracked now, and evicted to stay within cap so far. */
void repl_rates_size(repl_rates *r, size_t *count, uint64_t *evicted);

#endif
