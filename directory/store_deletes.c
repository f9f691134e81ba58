/* Store Deletes in flight (see store_deletes.h). */
#include "store_deletes.h"

#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "store.pb-c.h"

#define CLOSE_WAIT_MS 5000

/* One Delete out: whose count it is in, and its owner's callback. */
struct one {
	struct dir_store_deletes *s;
	void (*done)(void *arg, const struct rpc_error *err);
	void *arg;
};

void
dir_store_deletes_init(struct dir_store_deletes *s)
{
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->inflight = 0;
}

int
dir_store_deletes_close(struct dir_store_deletes *s, const char *what)
{
	pthread_mutex_lock(&s->mu);
	int drained = rt_wait_zero(&s->mu, &s->cv, &s->inflight,
			  CLOSE_WAIT_MS) == 0;
	int left = s->inflight;
	pthread_mutex_unlock(&s->mu);
	if (!drained) {
		rt_log_warn("shutdown: %d %s still in flight after %d s; "
			    "not waiting for them",
		    left, what, CLOSE_WAIT_MS / 1000);
		return -1;
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	return 0;
}

int
dir_store_deletes_out(struct dir_store_deletes *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->inflight;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* One fewer out; once it is zero a closing owner may free s. */
static void
count_down(struct dir_store_deletes *s)
{
	pthread_mutex_lock(&s->mu);
	if (--s->inflight == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
delete_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct one o = *(struct one *)arg;
	free(arg);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	o.done(o.arg, err);
	count_down(o.s);
}

int
dir_store_delete(struct dir_store_deletes *s, struct dir *d, uint32_t id,
    uint64_t key, uint32_t cookie, int64_t timeout_ms,
    void (*done)(void *arg, const struct rpc_error *err), void *arg)
{
	struct dir_store st;
	char peer[RT_NAME_MAX], err[256];
	if (dir_stores_get(d->stores, id, &st) != 0 ||
	    st.state != HS__STORE_STATE__STORE_UP)
		return -1;
	rt_store_principal(id, peer);
	rpc_client *c = rpc_pool_get(d->pool, st.rpc_addr, peer, err,
	    sizeof(err));
	struct one *o = malloc(sizeof(*o));
	if (c == NULL || o == NULL) {
		free(o);
		return -1;
	}
	*o = (struct one){ s, done, arg };
	Hs__StoreDeleteRequest req = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId pid = HS__PHOTO_ID__INIT;
	pid.key = key;
	pid.cookie = cookie;
	req.id = &pid;
	pthread_mutex_lock(&s->mu);
	s->inflight++;
	pthread_mutex_unlock(&s->mu);
	if (rpc_invoke_async(c, &hs__store__descriptor, "Delete", &req.base,
		timeout_ms, 0, delete_done, o) != 0) {
		free(o);
		count_down(s);
		return -1;
	}
	return 0;
}
