/* rpc_batch (see rpc_batch.h): a counter of outstanding calls under a
 * mutex; completions arrive on nng threads, fill their slot and wake the
 * caller, which starts the next call while the window has room. */
#include "rpc_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct batch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t outstanding;
};

/* What a completion needs: one per call, alive until rpc_batch_run ends. */
struct slot_ref {
	struct batch *b;
	struct rpc_batch_call *call;
};

static void
call_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct slot_ref *ref = arg;
	struct rpc_batch_call *c = ref->call;
	c->reply = reply;
	c->status = reply != NULL ? HS_OK : err->code;
	if (reply == NULL)
		c->err = *err;
	pthread_mutex_lock(&ref->b->mu);
	ref->b->outstanding--;
	pthread_cond_signal(&ref->b->cv);
	pthread_mutex_unlock(&ref->b->mu);
}

static void
fail_now(struct rpc_batch_call *c, hs_status st, const char *why)
{
	c->reply = NULL;
	c->status = st;
	c->err = (struct rpc_error){ .code = st };
	snprintf(c->err.message, sizeof(c->err.message), "%s", why);
}

void
rpc_batch_run(struct rpc_batch_call *calls, size_t n, size_t window,
    int64_t timeout_ms)
{
	struct slot_ref *refs = calloc(n ? n : 1, sizeof(*refs));
	if (refs == NULL) {
		for (size_t i = 0; i < n; i++)
			fail_now(&calls[i], HS_RESOURCE_EXHAUSTED,
			    "out of memory");
		return;
	}
	struct batch b = { .outstanding = 0 };
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	if (window == 0)
		window = 1;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&b.mu);
		while (b.outstanding >= window)
			pthread_cond_wait(&b.cv, &b.mu);
		b.outstanding++;
		pthread_mutex_unlock(&b.mu);
		refs[i] = (struct slot_ref){ .b = &b, .call = &calls[i] };
		int rc = calls[i].client == NULL ?
		    HS_UNAVAILABLE :
		    rpc_invoke_async(calls[i].client, calls[i].svc,
			calls[i].method, calls[i].req, timeout_ms, 0, call_done,
			&refs[i]);
		if (rc != 0) {
			fail_now(&calls[i], (hs_status)rc,
			    calls[i].client == NULL ?
				"no connection for this call" :
				"the call could not start");
			pthread_mutex_lock(&b.mu);
			b.outstanding--;
			pthread_mutex_unlock(&b.mu);
		}
	}
	pthread_mutex_lock(&b.mu);
	while (b.outstanding > 0)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&b.cv);
	free(refs);
}
