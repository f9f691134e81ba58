/* The audit's listings (see audit_list.h): a thread per store, so the
 * stores list at once instead of one after another. */
#include "audit_list.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "storelink.h"

static int
by_key(const void *a, const void *b)
{
	const struct audit_entry *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->store < y->store ? -1 : x->store > y->store;
}

/* Appends store's whole listing to *v. 0, or -1 (store not listed). */
static int
list_store(struct repl *r, uint32_t store, struct audit_entry **v, size_t *n,
    size_t *cap, struct audit_orphans *o)
{
	uint64_t after = 0;
	for (;;) {
		Hs__ListNeedlesRequest req = HS__LIST_NEEDLES_REQUEST__INIT;
		req.after_key = after;
		req.limit = 10000;
		req.include_deleted = 1;
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		hs_status st = repl_store_call(r, store, "ListNeedles",
		    &req.base, &m, 0, &e);
		if (st != HS_OK) {
			rt_log_warn("audit: cannot list store %u: %s: %s",
			    store, hs_status_str(st), e.message);
			return -1;
		}
		Hs__ListNeedlesReply *lr = (Hs__ListNeedlesReply *)m;
		if (*n + lr->n_needles > *cap) {
			size_t nc = (*cap ? *cap * 2 : 65536) + lr->n_needles;
			struct audit_entry *nv = realloc(*v, nc * sizeof(*nv));
			if (nv == NULL) {
				protobuf_c_message_free_unpacked(m, NULL);
				return -1;
			}
			*v = nv;
			*cap = nc;
		}
		for (size_t i = 0; i < lr->n_needles; i++) {
			const Hs__NeedleInfo *ni = lr->needles[i];
			if (ni->id == NULL)
				continue;
			struct audit_entry *en = &(*v)[(*n)++];
			en->key = ni->id->key;
			en->cookie = ni->id->cookie;
			en->store = store;
			en->deleted = ni->deleted;
			en->size = ni->size;
			en->has_sha = ni->sha256.len == 32;
			if (en->has_sha)
				memcpy(en->sha, ni->sha256.data, 32);
			if (!ni->deleted && o != NULL)
				audit_orphans_needle(o, store);
			after = ni->id->key;
		}
		int more = lr->more && lr->n_needles > 0;
		protobuf_c_message_free_unpacked(m, NULL);
		if (!more)
			return 0;
	}
}

/* One store's listing, made on a thread of its own. */
struct lister {
	struct repl *r;
	uint32_t store;
	struct audit_entry *v;
	size_t n, cap;
	int rc;
};

static void *
lister_main(void *arg)
{
	struct lister *l = arg;
	l->rc = list_store(l->r, l->store, &l->v, &l->n, &l->cap, NULL);
	return NULL;
}

/* Appends l's listing to *v (growing it); 0 or -1. Counts its live
 * needles for the orphan halt rule. */
static int
take_listing(struct lister *l, struct audit_entry **v, size_t *n,
    struct audit_orphans *o)
{
	struct audit_entry *nv = realloc(*v, (*n + l->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	*v = nv;
	if (l->n > 0) /* an empty store's listing has no array */
		memcpy(nv + *n, l->v, l->n * sizeof(*nv));
	*n += l->n;
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].deleted)
			audit_orphans_needle(o, l->store);
	return 0;
}

size_t
audit_list_all(struct repl *r, struct audit_orphans *o, uint32_t *listed,
    size_t *nlisted, struct audit_entry **v)
{
	struct repl_store st[REPL_MAX_STORES];
	size_t nst = repl_stores_snapshot(r, st, REPL_MAX_STORES), nl = 0;
	struct lister *ls = calloc(nst ? nst : 1, sizeof(*ls));
	pthread_t *th = calloc(nst ? nst : 1, sizeof(*th));
	int *started = calloc(nst ? nst : 1, sizeof(*started));
	size_t n = 0;
	for (size_t i = 0; ls && th && started && i < nst; i++) {
		if (st[i].state == HS__STORE_STATE__STORE_DOWN)
			continue;
		ls[nl] = (struct lister){ .r = r, .store = st[i].id };
		started[nl] = pthread_create(&th[nl], NULL, lister_main,
				  &ls[nl]) == 0;
		if (!started[nl])
			lister_main(&ls[nl]);
		nl++;
	}
	for (size_t i = 0; i < nl; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		if (ls[i].rc == 0 && !atomic_load(&r->stop) &&
		    take_listing(&ls[i], v, &n, o) == 0)
			listed[(*nlisted)++] = ls[i].store;
		free(ls[i].v);
	}
	free(ls);
	free(th);
	free(started);
	if (n > 0)
		qsort(*v, n, sizeof(**v), by_key);
	return n;
}
