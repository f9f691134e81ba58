/* The client pool (see rpc_pool.h): a small array searched linearly, since
 * a process talks to tens of peers, not thousands. */
#include "rpc_pool.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool_entry {
	char *url;
	char *peer;
	rpc_client *client;
};

struct rpc_pool {
	struct rpc_client_opts opts;
	pthread_mutex_t mu;
	struct pool_entry *entries;
	size_t n, cap, max;
};

int
rpc_pool_open(rpc_pool **out, const struct rpc_client_opts *opts)
{
	rpc_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NNG_ENOMEM;
	p->opts = *opts;
	p->max = RPC_POOL_MAX;
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return 0;
}

void
rpc_pool_set_max(rpc_pool *p, size_t max)
{
	p->max = max < 1 ? 1 : max;
}

rpc_client *
rpc_pool_get(rpc_pool *p, const char *url, const char *peer, char *err,
    size_t errlen)
{
	rpc_client *c = NULL;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->entries[i].url, url) == 0 &&
		    strcmp(p->entries[i].peer, peer) == 0) {
			c = p->entries[i].client;
			goto out;
		}
	if (p->n >= p->max) {
		snprintf(err, errlen,
		    "this process already dials its limit of %zu "
		    "addresses; %s is not dialed",
		    p->max, url);
		goto out;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct pool_entry *e = realloc(p->entries, cap * sizeof(*e));
		if (e == NULL)
			goto out;
		p->entries = e;
		p->cap = cap;
	}
	char *copy = strdup(url), *pcopy = strdup(peer);
	struct rpc_client_opts o = p->opts;
	o.peer = peer;
	if (copy == NULL || pcopy == NULL ||
	    rpc_client_open(&c, &url, 1, &o, err, errlen) != 0) {
		free(copy);
		free(pcopy);
		c = NULL;
		goto out;
	}
	p->entries[p->n].url = copy;
	p->entries[p->n].peer = pcopy;
	p->entries[p->n].client = c;
	p->n++;
out:
	pthread_mutex_unlock(&p->mu);
	return c;
}

void
rpc_pool_close(rpc_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		rpc_client_close(p->entries[i].client);
		free(p->entries[i].url);
		free(p->entries[i].peer);
	}
	free(p->entries);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
