/* The ring of recent events (recent.h). */
#include "recent.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "stores.h"

struct dir_recent {
	pthread_mutex_t mu;
	struct dir_recent_event ring[DIR_RECENT_MAX];
	uint64_t n; /* events noted in all; the next goes at n % MAX */
};

struct dir_recent *
dir_recent_open(void)
{
	struct dir_recent *r = calloc(1, sizeof(*r));
	if (r != NULL)
		pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
dir_recent_close(struct dir_recent *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The body of ev in a few words; a photo by its key only (no cookie). */
static void
describe(const Hs__Event *ev, char *out, size_t len)
{
	out[0] = '\0';
	if (ev->body_case == HS__EVENT__BODY_PHOTO && ev->photo != NULL) {
		const Hs__PhotoRecord *p = ev->photo;
		snprintf(out, len,
		    "photo %016" PRIx64 " seq %" PRIu64 ", %zu "
		    "replica(s)",
		    p->id != NULL ? p->id->key : 0, p->seq, p->n_stores);
	} else if (ev->body_case == HS__EVENT__BODY_STORE &&
	    ev->store != NULL) {
		snprintf(out, len, "store %" PRIu32 " (%s) %s", ev->store->id,
		    ev->store->zone, dir_store_state_name(ev->store->state));
	} else if (ev->body_case == HS__EVENT__BODY_LEADER &&
	    ev->leader != NULL) {
		snprintf(out, len, "%s, epoch %" PRIu64, ev->leader->leader_id,
		    ev->leader->epoch);
	}
}

void
dir_recent_note(struct dir_recent *r, const Hs__Event *ev, int published)
{
	if (r == NULL)
		return;
	struct dir_recent_event e = { .at_ms = ev->time_ms ? ev->time_ms :
							     rt_now_ms(),
		.epoch = ev->epoch,
		.published = published };
	snprintf(e.topic, sizeof(e.topic), "%s", ev->topic ? ev->topic : "");
	describe(ev, e.detail, sizeof(e.detail));
	pthread_mutex_lock(&r->mu);
	r->ring[r->n % DIR_RECENT_MAX] = e;
	r->n++;
	pthread_mutex_unlock(&r->mu);
}

size_t
dir_recent_list(struct dir_recent *r, struct dir_recent_event *out, size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&r->mu);
	for (uint64_t i = r->n; i > 0 && k < max && r->n - i < DIR_RECENT_MAX;
	     i--)
		out[k++] = r->ring[(i - 1) % DIR_RECENT_MAX];
	pthread_mutex_unlock(&r->mu);
	return k;
}
