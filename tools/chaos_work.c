/* The soak's workload (chaos_impl.h): one thread uploads, downloads and
 * deletes through libhs at a steady pace, recording what the cluster
 * acknowledged; another reads a few photos very often for a while and then
 * leaves them alone, so the replicator adds replicas and trims them again.
 * A wrong byte served is counted at once; a failed call during a fault is
 * expected and only counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_impl.h"
#include "clock.h"

#define OP_GAP_MS 40	   /* pace: about 25 operations a second */
#define OP_TIMEOUT_MS 8000 /* well under the orphan grace (see run) */
#define HOT_PHOTOS 3	   /* the first uploads are the hot ones */
#define HOT_PHASE_MS 8000  /* read hot this long, then cool as long */
#define MIN_SIZE 512
#define MAX_SIZE (16 * 1024)

uint64_t
chaos_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

int64_t
chaos_between(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(chaos_rand(s) % (uint64_t)(hi - lo + 1));
}

void
chaos_photo_bytes(uint64_t seed, uint8_t *out, size_t len)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = chaos_rand(&s);
		memcpy(out + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* Index of a random photo in state want (not hot unless hot_ok), or -1.
 * Under mu. */
static long
pick(struct chaos *x, int want, int hot_ok)
{
	if (x->nph == 0)
		return -1;
	for (int tries = 0; tries < 20; tries++) {
		size_t i = chaos_rand(&x->wrng) % x->nph;
		if (x->ph[i].state == want && (hot_ok || !x->ph[i].hot))
			return (long)i;
	}
	return -1;
}

static void
upload(struct chaos *x)
{
	struct chaos_photo p = { 0 };
	pthread_mutex_lock(&x->mu);
	p.seed = chaos_rand(&x->wrng);
	p.len = (uint32_t)chaos_between(&x->wrng, MIN_SIZE, MAX_SIZE);
	pthread_mutex_unlock(&x->mu);
	uint8_t *buf = malloc(p.len);
	chaos_photo_bytes(p.seed, buf, p.len);
	hs_sha256(buf, p.len, p.sha);
	hs_error err;
	hs_status st = hs_upload(x->work, buf, p.len, 0, OP_TIMEOUT_MS, &p.id,
	    &err);
	free(buf);
	pthread_mutex_lock(&x->mu);
	if (st == HS_OK) {
		x->up_ok++;
		if (x->nph == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 1024;
			x->ph = realloc(x->ph, x->cap * sizeof(*x->ph));
		}
		p.hot = x->nph < HOT_PHOTOS;
		x->ph[x->nph++] = p;
	} else {
		x->up_fail++;
	}
	pthread_mutex_unlock(&x->mu);
}

/* Reads photo p through client c: 1 read right, 0 failed, -1 WRONG
 * bytes (counted and shown at once: no fault excuses that). */
static int
read_check(struct chaos *x, hs_client *c, const struct chaos_photo *p)
{
	void *data = NULL;
	size_t len = 0;
	hs_error err;
	if (hs_download(c, p->id, OP_TIMEOUT_MS, &data, &len, &err) != HS_OK)
		return 0;
	uint8_t sha[HS_SHA256_LEN];
	hs_sha256(data, len, sha);
	free(data);
	if (len == p->len && memcmp(sha, p->sha, sizeof(sha)) == 0)
		return 1;
	char hex[HS_ID_HEX_LEN + 1];
	hs_id_format(p->id, hex);
	fprintf(stderr, "chaos: %s served %zu WRONG bytes (want %u)\n", hex,
	    len, p->len);
	pthread_mutex_lock(&x->mu);
	x->bad_reads++;
	pthread_mutex_unlock(&x->mu);
	return -1;
}

static void
download(struct chaos *x)
{
	pthread_mutex_lock(&x->mu);
	long i = pick(x, CP_LIVE, 1);
	struct chaos_photo p = i >= 0 ? x->ph[i] : (struct chaos_photo){ 0 };
	pthread_mutex_unlock(&x->mu);
	if (i < 0)
		return;
	int ok = read_check(x, x->work, &p);
	pthread_mutex_lock(&x->mu);
	if (ok > 0)
		x->rd_ok++;
	else if (ok == 0)
		x->rd_fail++;
	pthread_mutex_unlock(&x->mu);
}

/* Deletes a cold live photo, after reading it through the client with the
 * long location memory so that memory is asked again at the end. */
static void delete (struct chaos *x)
{
	pthread_mutex_lock(&x->mu);
	long i = pick(x, CP_LIVE, 0);
	if (i >= 0)
		x->ph[i].state = CP_UNSURE;
	struct chaos_photo p = i >= 0 ? x->ph[i] : (struct chaos_photo){ 0 };
	pthread_mutex_unlock(&x->mu);
	if (i < 0)
		return;
	read_check(x, x->mem, &p);
	hs_error err;
	hs_status st = hs_delete(x->work, p.id, OP_TIMEOUT_MS, &err);
	pthread_mutex_lock(&x->mu);
	x->ph[i].state = st == HS_OK ? CP_DELETED : CP_UNSURE;
	x->ph[i].deleted_ms = rt_mono_ms();
	if (st == HS_OK)
		x->del_ok++;
	else
		x->del_fail++;
	pthread_mutex_unlock(&x->mu);
}

void *
chaos_work_main(void *arg)
{
	struct chaos *x = arg;
	while (!atomic_load(&x->stop)) {
		pthread_mutex_lock(&x->mu);
		int r = (int)(chaos_rand(&x->wrng) % 100);
		size_t n = x->nph;
		pthread_mutex_unlock(&x->mu);
		if (r < 45 || n < 20)
			upload(x);
		else if (r < 85)
			download(x);
		else
			delete (x);
		rt_sleep_ms(OP_GAP_MS);
	}
	return NULL;
}

/* Notes the most copies a hot photo has now (the replicator's answer to
 * the reads), for the summary. */
static void
hot_copies(struct chaos *x, const struct chaos_photo *hot, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hs_photo_info info;
		hs_error err;
		if (hs_stat(x->hot, hot[i].id, 2000, &info, &err) != HS_OK)
			continue;
		pthread_mutex_lock(&x->mu);
		if (info.nreplicas > x->hot_peak)
			x->hot_peak = info.nreplicas;
		pthread_mutex_unlock(&x->mu);
	}
}

void *
chaos_hot_main(void *arg)
{
	struct chaos *x = arg;
	int64_t last_stat = 0;
	while (!atomic_load(&x->stop)) {
		int64_t phase = rt_mono_ms() / HOT_PHASE_MS;
		pthread_mutex_lock(&x->mu);
		size_t n = x->nph < HOT_PHOTOS ? x->nph : HOT_PHOTOS;
		struct chaos_photo hot[HOT_PHOTOS];
		if (n > 0)
			memcpy(hot, x->ph, n * sizeof(*hot));
		pthread_mutex_unlock(&x->mu);
		if (phase % 2 == 1 || n == 0) {
			rt_sleep_ms(100);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			read_check(x, x->hot, &hot[i]);
		if (rt_mono_ms() - last_stat > 1000) {
			hot_copies(x, hot, n);
			last_stat = rt_mono_ms();
		}
	}
	return NULL;
}
