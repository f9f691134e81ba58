/* Parked lookups (see waiters.h): an unsorted list under a mutex; calls
 * are answered outside the lock. */
#include "waiters.h"

#include <inttypes.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

struct waiter {
	rpc_call *call;
	const Hs__LookupRequest *req;
	int64_t until;
	struct waiter *next;
};

struct dir_waiters {
	pthread_mutex_t mu;
	struct waiter *head;
	dir_lookup_fn answer;
};

int
dir_waiters_open(struct dir *d, dir_lookup_fn answer)
{
	struct dir_waiters *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	pthread_mutex_init(&w->mu, NULL);
	w->answer = answer;
	d->waiters = w;
	return 0;
}

void
dir_waiters_close(struct dir *d)
{
	struct dir_waiters *w = d->waiters;
	if (w == NULL)
		return;
	while (w->head != NULL) {
		struct waiter *x = w->head;
		w->head = x->next;
		rpc_fail(x->call, HS_UNAVAILABLE,
		    "directory shutting down; "
		    "retry at another");
		free(x);
	}
	pthread_mutex_destroy(&w->mu);
	free(w);
	d->waiters = NULL;
}

void
dir_waiters_add(struct dir *d, rpc_call *call, const Hs__LookupRequest *req,
    int64_t until_mono)
{
	struct dir_waiters *w = d->waiters;
	struct waiter *x = malloc(sizeof(*x));
	if (x == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*x = (struct waiter){ .call = call, .req = req, .until = until_mono };
	pthread_mutex_lock(&w->mu);
	x->next = w->head;
	w->head = x;
	pthread_mutex_unlock(&w->mu);
	/* The seq may have been applied between the check and the add. */
	dir_waiters_poll(d);
}

void
dir_waiters_poll(struct dir *d)
{
	struct dir_waiters *w = d->waiters;
	struct waiter *done = NULL;
	uint64_t applied = dir_records_applied(d->recs);
	int64_t now = rt_mono_ms();
	pthread_mutex_lock(&w->mu);
	for (struct waiter **p = &w->head; *p != NULL;) {
		struct waiter *x = *p;
		if (x->req->min_seq <= applied || now >= x->until) {
			*p = x->next;
			x->next = done;
			done = x;
		} else {
			p = &x->next;
		}
	}
	pthread_mutex_unlock(&w->mu);
	while (done != NULL) {
		struct waiter *x = done;
		done = x->next;
		if (x->req->min_seq <= applied)
			w->answer(d, x->call, x->req);
		else
			rpc_fail(x->call, HS_UNAVAILABLE,
			    "%s has applied the "
			    "change log only up to seq %" PRIu64
			    ", not %" PRIu64
			    ", within the wait bound; retry or ask "
			    "the leader",
			    d->cfg.id, applied, x->req->min_seq);
		free(x);
	}
}
