/* Calls to the directory leader (see dirlink.h). The leader's address is
 * re-read from Redis when a call finds no leader (UNAVAILABLE) or a
 * follower answers with a hint. */
#include "dirlink.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leader_info.h"
#include "log.h"

static void
cached_leader(struct repl *r, char *out, size_t len)
{
	pthread_mutex_lock(&r->leader_mu);
	snprintf(out, len, "%s", r->leader);
	pthread_mutex_unlock(&r->leader_mu);
}

static void
set_leader(struct repl *r, const char *addr)
{
	pthread_mutex_lock(&r->leader_mu);
	snprintf(r->leader, sizeof(r->leader), "%s", addr);
	pthread_mutex_unlock(&r->leader_mu);
}

/* Re-reads the leader from Redis; falls back to the first directory. */
static void
find_leader(struct repl *r)
{
	struct rt_leader_info li;
	char why[256];
	if (r->cfg.redis.addr[0] &&
	    rt_leader_lookup(&r->cfg.redis, 1000, &li, why, sizeof(why)) == 0) {
		set_leader(r, li.rpc);
		return;
	}
	char first[256];
	snprintf(first, sizeof(first), "%s", r->cfg.directories);
	char *comma = strchr(first, ',');
	if (comma)
		*comma = '\0';
	set_leader(r, first);
}

/* The leader's address into addr (sized 256), found if not known yet. */
static void
leader_addr(struct repl *r, char addr[256])
{
	cached_leader(r, addr, 256);
	if (addr[0] == '\0') {
		find_leader(r);
		cached_leader(r, addr, 256);
	}
}

int
repl_dir_leader_pub(struct repl *r, char *out, size_t len, uint64_t *epoch)
{
	struct rt_leader_info li;
	char why[256];
	if (r->cfg.redis.addr[0] == '\0' ||
	    rt_leader_lookup(&r->cfg.redis, 1000, &li, why, sizeof(why)) != 0)
		return -1;
	snprintf(out, len, "%s", li.pub);
	if (epoch)
		*epoch = li.epoch;
	return 0;
}

hs_status
repl_dir_call(struct repl *r, const char *method, const ProtobufCMessage *req,
    ProtobufCMessage **reply, struct rpc_error *err)
{
	char addr[256], why[256];
	hs_status st = HS_UNAVAILABLE;
	leader_addr(r, addr);
	for (int attempt = 0; attempt < 3 && !atomic_load(&r->stop);
	     attempt++) {
		rpc_client *c = addr[0] ?
		    rpc_pool_get(r->pool, addr, RT_DIRECTORY_PRINCIPAL, why,
			sizeof(why)) :
		    NULL;
		if (c == NULL) {
			err->code = HS_UNAVAILABLE;
			snprintf(err->message, sizeof(err->message),
			    "no directory to call: %s",
			    addr[0] ?
				why :
				"no leader in Redis and no --directories");
			find_leader(r);
			cached_leader(r, addr, sizeof(addr));
			continue;
		}
		st = rpc_invoke(c, &hs__directory__descriptor, method, req,
		    reply, r->cfg.rpc_timeout_ms, 0, err);
		if (st == HS_FAILED_PRECONDITION && err->leader_hint[0]) {
			snprintf(addr, sizeof(addr), "%s", err->leader_hint);
			set_leader(r, addr);
			continue;
		}
		if (st != HS_UNAVAILABLE && st != HS_DEADLINE_EXCEEDED)
			return st;
		find_leader(r);
		cached_leader(r, addr, sizeof(addr));
	}
	return st;
}

hs_status
repl_dir_lookup(struct repl *r, Hs__PhotoId **ids, size_t n, uint64_t min_seq,
    Hs__LookupReply **out, struct rpc_error *err)
{
	Hs__LookupRequest req = HS__LOOKUP_REQUEST__INIT;
	req.min_seq = min_seq;
	req.ids = ids;
	req.n_ids = n;
	req.include_down = 1;
	ProtobufCMessage *m = NULL;
	*out = NULL;
	hs_status st = repl_dir_call(r, "Lookup", &req.base, &m, err);
	if (st != HS_OK)
		return st;
	if (((Hs__LookupReply *)m)->n_results != n) {
		protobuf_c_message_free_unpacked(m, NULL);
		snprintf(err->message, sizeof(err->message),
		    "Lookup answered a different number of results");
		return HS_INTERNAL;
	}
	*out = (Hs__LookupReply *)m;
	return HS_OK;
}

rpc_client *
repl_dir_client(struct repl *r)
{
	char addr[256], why[256];
	leader_addr(r, addr);
	return addr[0] ? rpc_pool_get(r->pool, addr, RT_DIRECTORY_PRINCIPAL,
			     why, sizeof(why)) :
			 NULL;
}
