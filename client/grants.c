/* Write grants as libhs keeps them (docs/client.md, "Upload"): one slot per
 * replica count asked for, holding the grant whose ids uploads take now
 * and, once that one runs low (a quarter of its ids left, or half of its
 * token's lifetime gone), the next one, asked for in the background (one
 * such Allocate in flight per slot at most) so that a steady stream of
 * uploads never waits on the directory. An id is handed out once: a
 * failed upload retries it only with the same bytes, and a grant whose
 * stores all failed is retired with its unused ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hs_internal.h"
#include "log.h"

#define GRANT_IDS 64 /* ids asked for in one Allocate */

/* A grant from an Allocate answer (taken over), or NULL (with err) when
 * the answer is unusable. */
static struct hsi_grant *
grant_new(Hs__AllocateReply *a, hs_error *err)
{
	if (a->id == NULL || a->n_stores == 0 || a->write_token.len == 0) {
		hs__allocate_reply__free_unpacked(a, NULL);
		hsi_err(err, HS_INTERNAL,
		    "allocate: the directory answered without an id, stores or "
		    "a write token");
		return NULL;
	}
	struct hsi_grant *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		hs__allocate_reply__free_unpacked(a, NULL);
		hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	int64_t now = rt_now_ms();
	int64_t life = a->token_expiry_ms > now ? a->token_expiry_ms - now : 0;
	atomic_init(&g->refs, 1);
	g->a = a;
	g->nids = a->n_ids ? a->n_ids : 1;
	/* Ids are taken while an eighth of the lifetime is left (the Write
	 * must reach its store in time), renewed from half of it. */
	g->use_until_ms = a->token_expiry_ms - life / 8;
	g->renew_at_ms = a->token_expiry_ms - life / 2;
	return g;
}

const Hs__PhotoId *
hsi_grant_id(const struct hsi_grant *g, size_t idx)
{
	return g->a->n_ids ? g->a->ids[idx] : g->a->id;
}

static void
fill_request(Hs__AllocateRequest *q, uint32_t replicas, size_t len,
    const uint8_t sha[HS_SHA256_LEN])
{
	hs__allocate_request__init(q);
	q->size = len;
	q->sha256.data = (uint8_t *)sha;
	q->sha256.len = HS_SHA256_LEN;
	q->replicas = replicas;
	q->count = GRANT_IDS;
}

static struct hsi_grant_slot *
slot_for(hs_client *c, uint32_t replicas)
{
	struct hsi_grant_slot *free_slot = NULL;
	for (size_t i = 0; i < HSI_GRANT_SLOTS; i++) {
		struct hsi_grant_slot *s = &c->grants[i];
		if (s->used && s->replicas == replicas)
			return s;
		if (!s->used && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot == NULL) /* many replica counts: reuse the first */
		free_slot = &c->grants[replicas % HSI_GRANT_SLOTS];
	hsi_grant_put(free_slot->cur);
	hsi_grant_put(free_slot->next);
	*free_slot = (struct hsi_grant_slot){ .c = c,
		.used = 1,
		.replicas = replicas };
	return free_slot;
}

static int
usable(const struct hsi_grant *g, int64_t now)
{
	return g != NULL && !g->retired && g->taken < g->nids &&
	    now < g->use_until_ms;
}

/* Whether slot s should ask for its next grant now (c->grant_mu held). */
static int
wants_next(const struct hsi_grant_slot *s, int64_t now)
{
	const struct hsi_grant *g = s->cur;
	return s->next == NULL && !s->prefetching &&
	    rt_mono_ms() >= s->retry_after_ms &&
	    (g->nids - g->taken <= g->nids / 4 || now >= g->renew_at_ms);
}

struct prefetch {
	struct hsi_grant_slot *s;
	uint32_t replicas;
};

/* On an nng thread: keeps the next grant, or notes when to try again. */
static void
prefetch_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct prefetch *p = arg;
	hs_client *c = p->s->c;
	struct hsi_grant *g = NULL;
	if (err->code == HS_OK)
		g = grant_new((Hs__AllocateReply *)reply, NULL);
	else
		rt_log_debug("allocate ahead of need: %s (%s); the next upload "
			     "asks again",
		    hs_status_str(err->code), err->message);
	pthread_mutex_lock(&c->grant_mu);
	if (p->s->used && p->s->replicas == p->replicas) {
		p->s->prefetching = 0;
		if (g != NULL && p->s->next == NULL) {
			p->s->next = g;
			g = NULL;
		} else if (g == NULL) {
			p->s->retry_after_ms = rt_mono_ms() + 1000;
		}
	}
	pthread_mutex_unlock(&c->grant_mu);
	hsi_grant_put(g);
	free(p);
}

static void
prefetch(hs_client *c, struct hsi_grant_slot *s, uint32_t replicas, size_t len,
    const uint8_t sha[HS_SHA256_LEN])
{
	Hs__AllocateRequest q;
	struct prefetch *p = malloc(sizeof(*p));
	int rc = HS_RESOURCE_EXHAUSTED;
	fill_request(&q, replicas, len, sha);
	if (p != NULL) {
		*p = (struct prefetch){ s, replicas };
		atomic_fetch_add(&c->allocate_calls, 1);
		rc = rpc_invoke_async(c->dir, &hs__directory__descriptor,
		    "Allocate", &q.base, HS_DEFAULT_TIMEOUT_MS, 0,
		    prefetch_done, p);
	}
	if (rc == 0)
		return;
	free(p);
	pthread_mutex_lock(&c->grant_mu);
	if (s->used && s->replicas == replicas) {
		s->prefetching = 0;
		s->retry_after_ms = rt_mono_ms() + 1000;
	}
	pthread_mutex_unlock(&c->grant_mu);
}

/* Allocate now, with the directory-call retries, because no grant is
 * usable. */
static hs_status
allocate_now(hs_client *c, uint32_t replicas, size_t len,
    const uint8_t sha[HS_SHA256_LEN], int64_t deadline, struct hsi_grant **out,
    hs_error *err)
{
	Hs__AllocateRequest q;
	ProtobufCMessage *reply = NULL;
	fill_request(&q, replicas, len, sha);
	atomic_fetch_add(&c->allocate_calls, 1);
	hs_status st = hsi_dir_call(c, "Allocate", &q.base, &reply, deadline,
	    "allocate", err);
	if (st != HS_OK)
		return st;
	struct hsi_grant *g = grant_new((Hs__AllocateReply *)reply, err);
	if (g == NULL)
		return err != NULL ? err->code : HS_INTERNAL;
	if (!usable(g, rt_now_ms())) {
		long long exp = (long long)g->a->token_expiry_ms;
		hsi_grant_put(g);
		return hsi_err(err, HS_FAILED_PRECONDITION,
		    "allocate: the directory's grant expires at %lld (Unix "
		    "ms), too soon to use at %lld: are this machine's and the "
		    "directory's clocks in step?",
		    exp, (long long)rt_now_ms());
	}
	*out = g;
	return HS_OK;
}

/* Takes an id of slot s's current grant (c->grant_mu held), switching to
 * the next grant when the current one is used up. NULL when none is
 * usable; *fetch says whether to ask for the next grant. */
static struct hsi_grant *
take_locked(struct hsi_grant_slot *s, size_t *idx, int *fetch)
{
	int64_t now = rt_now_ms();
	if (!usable(s->cur, now)) {
		hsi_grant_put(s->cur);
		s->cur = usable(s->next, now) ? s->next : NULL;
		if (s->cur == NULL)
			hsi_grant_put(s->next);
		s->next = NULL;
	}
	struct hsi_grant *g = s->cur;
	*fetch = 0;
	if (g == NULL)
		return NULL;
	*idx = g->taken++;
	atomic_fetch_add(&g->refs, 1);
	if ((*fetch = wants_next(s, now)) != 0)
		s->prefetching = 1;
	return g;
}

hs_status
hsi_grant_take(hs_client *c, uint32_t replicas, size_t len,
    const uint8_t sha[HS_SHA256_LEN], int64_t deadline, struct hsi_grant **out,
    size_t *idx, hs_error *err)
{
	for (;;) {
		int fetch;
		pthread_mutex_lock(&c->grant_mu);
		struct hsi_grant_slot *s = slot_for(c, replicas);
		struct hsi_grant *g = take_locked(s, idx, &fetch);
		pthread_mutex_unlock(&c->grant_mu);
		if (g != NULL) {
			if (fetch)
				prefetch(c, s, replicas, len, sha);
			*out = g;
			return HS_OK;
		}
		hs_status st = allocate_now(c, replicas, len, sha, deadline, &g,
		    err);
		if (st != HS_OK)
			return st;
		pthread_mutex_lock(&c->grant_mu);
		s = slot_for(c, replicas);
		if (!usable(s->cur, rt_now_ms())) {
			hsi_grant_put(s->cur);
			s->cur = g;
		} else if (s->next == NULL) {
			s->next = g;
		} else {
			hsi_grant_put(g);
		}
		pthread_mutex_unlock(&c->grant_mu);
	}
}

void
hsi_grant_retire(hs_client *c, struct hsi_grant *g)
{
	pthread_mutex_lock(&c->grant_mu);
	g->retired = 1;
	pthread_mutex_unlock(&c->grant_mu);
}
