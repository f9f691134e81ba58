/* The event feed for `hs tap` and programs that watch the cluster: a SUB
 * socket (runtime/pubsub.h) dialing every PUB address of the cluster file,
 * filtered by topic prefix, with the publisher's gap count passed on so a
 * watcher knows when it missed events. Frames are opened as the client's
 * principal: an admin's credential holds the servers' secret and sees the
 * photo ids (cookies) in events; a client's sees those events "sealed". */
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_internal.h"
#include "pubsub.h"

struct hs_events {
	rt_sub *sub;
	char where[512];
};

hs_status
hs_events_open(hs_client *c, const char *const *prefixes, size_t n,
    hs_events **out, hs_error *err)
{
	static const char *const all[] = { "" };
	const char *urls[HS_MAX_ADDRS];
	if (c->cfg.npubs == 0)
		return hsi_err(err, HS_FAILED_PRECONDITION,
		    "the cluster file "
		    "names no event feed (`pub = tcp://HOST:PORT` lines)");
	hs_events *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	hsi_addr_list(c->cfg.pubs, c->cfg.npubs, urls, e->where,
	    sizeof(e->where));
	int rv = rt_sub_open(&e->sub, urls, c->cfg.npubs, n ? prefixes : all,
	    n ? n : 1, c->ident);
	if (rv != 0) {
		hsi_err(err, HS_INVALID_ARGUMENT,
		    "cannot subscribe to %s: %s "
		    "(check the pub lines of the cluster file)",
		    e->where, nng_strerror(rv));
		free(e);
		return HS_INVALID_ARGUMENT;
	}
	*out = e;
	return HS_OK;
}

hs_status
hs_events_next(hs_events *e, int timeout_ms, Hs__Event **ev, uint64_t *missed,
    hs_error *err)
{
	uint64_t gap = 0;
	int rv = rt_sub_recv(e->sub, ev, &gap, timeout_ms);
	if (rv == NNG_ETIMEDOUT)
		return hsi_err(err, HS_DEADLINE_EXCEEDED,
		    "no event within %d ms", timeout_ms);
	if (rv != 0)
		return hsi_err(err, rpc_status_from_nng(rv),
		    "event feed from %s "
		    "failed: %s",
		    e->where, nng_strerror(rv));
	*missed = gap;
	return HS_OK;
}

void
hs_events_close(hs_events *e)
{
	if (e == NULL)
		return;
	rt_sub_close(e->sub);
	free(e);
}
