/* Write forwarding (see store_forward.h): one async Replicate per peer,
 * counted down under a mutex; the slow-queue thread that owns the write
 * waits. */
#include "store_forward.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

struct peer_call {
	struct fanout *f;
	uint32_t store_id;
};

struct fanout {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;
	uint32_t ok[FORWARD_MAX];
	size_t nok;
	char why[256];
	struct peer_call calls[FORWARD_MAX];
};

static void
note_failure(struct fanout *f, uint32_t store_id, const char *what)
{
	size_t used = strlen(f->why);
	snprintf(f->why + used, sizeof(f->why) - used, "%sstore %u: %s",
	    used ? "; " : "", store_id, what);
}

static void
peer_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct peer_call *pc = arg;
	struct fanout *f = pc->f;
	const Hs__ReplicateReply *r = (const Hs__ReplicateReply *)reply;
	pthread_mutex_lock(&f->mu);
	if (err->code != HS_OK)
		note_failure(f, pc->store_id, err->message);
	else if (r->n_results != 1 || r->results[0]->code != HS__CODE__OK)
		note_failure(f, pc->store_id,
		    r->n_results == 1 ? hs_status_str(r->results[0]->code) :
					"bad reply");
	else
		f->ok[f->nok++] = pc->store_id;
	if (--f->pending == 0)
		pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
}

struct fanout *
forward_start(struct store_service *svc, const Hs__WriteRequest *req,
    int64_t deadline_ms)
{
	struct fanout *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	int64_t timeout = deadline_ms ? deadline_ms - rt_now_ms() - 50 : 10000;
	if (timeout < 100)
		timeout = 100;

	Hs__Needle needle = HS__NEEDLE__INIT;
	Hs__Needle *needles[] = { &needle };
	Hs__ReplicateRequest rr = HS__REPLICATE_REQUEST__INIT;
	needle.id = req->id;
	needle.data = req->data;
	needle.sha256 = req->sha256;
	rr.needles = needles;
	rr.n_needles = 1;
	rr.write_token = req->write_token;

	for (size_t i = 0; i < req->n_peers && i < FORWARD_MAX; i++) {
		const Hs__Replica *p = req->peers[i];
		char err[256];
		if (p->store_id == (uint32_t)svc->cfg.id)
			continue;
		struct peer_call *pc = &f->calls[i];
		pc->f = f;
		pc->store_id = p->store_id;
		rpc_client *c = rpc_pool_get(svc->peers, p->rpc_addr, err,
		    sizeof(err));
		pthread_mutex_lock(&f->mu);
		f->pending++;
		pthread_mutex_unlock(&f->mu);
		/* The request is packed before rpc_invoke_async returns, so the
		 * stack-held message above is safe. */
		int rc = c == NULL ?
		    HS_INVALID_ARGUMENT :
		    rpc_invoke_async(c, &hs__store__descriptor, "Replicate",
			&rr.base, timeout, 0, peer_done, pc);
		if (rc != 0) {
			pthread_mutex_lock(&f->mu);
			note_failure(f, p->store_id,
			    c == NULL ? err : "cannot start the call");
			f->pending--;
			pthread_mutex_unlock(&f->mu);
		}
	}
	if (req->n_peers > FORWARD_MAX)
		note_failure(f, 0, "too many peers");
	return f;
}

size_t
forward_wait(struct fanout *f, uint32_t *ids, char *why, size_t whylen)
{
	if (f == NULL) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	pthread_mutex_lock(&f->mu);
	while (f->pending > 0)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	memcpy(ids, f->ok, f->nok * sizeof(*ids));
	snprintf(why, whylen, "%s", f->why[0] ? f->why : "no peer failed");
	size_t n = f->nok;
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	return n;
}
