/* The libhs client: opening and closing, the per-address RPC client table,
 * the directory-call retry loop every directory method goes through, the
 * read-your-writes sequence table and the Lookup of one photo. The
 * one-call operations are in hs_calls.c; upload and download, which have
 * their own retry logic, in upload.c and download.c; the cache in cache.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_internal.h"
#include "log.h"

hs_status
hs_open(hs_client **out, const struct hs_cluster *cfg, hs_error *err)
{
	char msg[256];
	if (cfg->ndirectories == 0)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "no directory address given; name at least one");
	hs_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	c->cfg = *cfg;
	if (c->cfg.key_file[0] == '\0' && getenv("HS_KEY_FILE") != NULL)
		snprintf(c->cfg.key_file, sizeof(c->cfg.key_file), "%s",
		    getenv("HS_KEY_FILE"));
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->grant_mu, NULL);
	hs_status st;
	if (c->cfg.key_file[0] == '\0') {
		st = hsi_err(err, HS_INVALID_ARGUMENT,
		    "no credential: add `key_file = PATH` (your identity "
		    "file) to the cluster file or set HS_KEY_FILE");
		goto fail;
	}
	if (rt_ident_load(&c->ident, c->cfg.key_file, c->cfg.roster, msg,
		sizeof(msg)) != 0) {
		st = hsi_err(err, HS_UNAUTHENTICATED,
		    "cannot load your credential: %s", msg);
		goto fail;
	}
	c->ropts.ident = c->ident;
	if ((st = hsi_tls_setup(&c->cfg, err)) != HS_OK)
		goto fail;
	/* Stores are many and interchangeable for reads: a store that does
	 * not connect within 250 ms is skipped for the next replica, rather
	 * than waited on for the runtime's default second. */
	struct rpc_client_opts store_opts = c->ropts;
	store_opts.connect_wait_ms = 250;
	if (rpc_pool_open(&c->peers, &store_opts) != 0) {
		st = hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	const char *urls[HS_MAX_ADDRS];
	hsi_addr_list(c->cfg.directories, c->cfg.ndirectories, urls,
	    c->dir_where, sizeof(c->dir_where));
	struct rpc_client_opts dir_opts = c->ropts;
	dir_opts.peer = RT_DIRECTORY_PRINCIPAL;
	if (rpc_client_open(&c->dir, urls, c->cfg.ndirectories, &dir_opts, msg,
		sizeof(msg)) != 0) {
		st = hsi_err(err, HS_INVALID_ARGUMENT, "directory %s", msg);
		goto fail;
	}
	if (c->cfg.replicator[0] != '\0') {
		const char *u = c->cfg.replicator;
		struct rpc_client_opts ro = c->ropts;
		ro.peer = "replicator";
		if (rpc_client_open(&c->repl, &u, 1, &ro, msg, sizeof(msg)) !=
		    0) {
			st = hsi_err(err, HS_INVALID_ARGUMENT, "replicator %s",
			    msg);
			goto fail;
		}
	}
	if (c->cfg.cache[0] != '\0' &&
	    (c->cache = hsi_cache_open(&c->cfg, err)) == NULL) {
		st = err != NULL ? err->code : HS_INVALID_ARGUMENT;
		goto fail;
	}
	int64_t ttl = c->cfg.location_ttl_ms == 0 ? HS_DEFAULT_LOCATION_TTL_MS :
						    c->cfg.location_ttl_ms;
	if (ttl > 0 && (c->locs = hsi_locations_open(ttl)) == NULL) {
		st = hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	*out = c;
	return HS_OK;
fail:
	hs_close(c);
	return st;
}

hs_status
hs_open_file(hs_client **out, const char *cluster_file, hs_error *err)
{
	struct hs_cluster *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	hs_status st = hs_cluster_load(cluster_file, cfg, err);
	if (st == HS_OK)
		st = hs_open(out, cfg, err);
	free(cfg);
	return st;
}

void
hs_close(hs_client *c)
{
	if (c == NULL)
		return;
	/* rpc_client_close waits for calls in flight, so the asynchronous
	 * corruption reports and grant requests finish before their client
	 * goes. */
	rpc_client_close(c->repl);
	rpc_client_close(c->dir);
	rpc_pool_close(c->peers);
	hsi_cache_close(c->cache);
	rt_ident_free(c->ident);
	hsi_locations_close(c->locs);
	for (size_t i = 0; i < HSI_GRANT_SLOTS; i++) {
		hsi_grant_put(c->grants[i].cur);
		hsi_grant_put(c->grants[i].next);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->grant_mu);
	free(c);
}

void
hsi_grant_put(struct hsi_grant *g)
{
	if (g != NULL && atomic_fetch_sub(&g->refs, 1) == 1) {
		hs__allocate_reply__free_unpacked(g->a, NULL);
		free(g);
	}
}

void
hs_upload_counters(hs_client *c, struct hs_upload_counters *out)
{
	out->allocate_calls = atomic_load(&c->allocate_calls);
	out->register_calls = atomic_load(&c->register_calls);
}

rpc_client *
hsi_store(hs_client *c, uint32_t store_id, const char *addr, hs_error *err)
{
	char peer[RT_NAME_MAX];
	rt_store_principal(store_id, peer);
	return hsi_peer(c, addr, peer, err);
}

rpc_client *
hsi_peer(hs_client *c, const char *addr, const char *peer, hs_error *err)
{
	char msg[256];
	rpc_client *r = rpc_pool_get(c->peers, addr, peer, msg, sizeof(msg));
	if (r == NULL)
		hsi_err(err, HS_INVALID_ARGUMENT, "%s", msg);
	return r;
}

/* Whether a failed directory call may succeed if tried again: the tier
 * is failing over, or one attempt ran out of time. */
static int
dir_retryable(hs_status st)
{
	return st == HS_UNAVAILABLE || st == HS_FAILED_PRECONDITION ||
	    st == HS_DEADLINE_EXCEEDED || st == HS_ABORTED;
}

hs_status
hsi_dir_call(hs_client *c, const char *method, const ProtobufCMessage *req,
    ProtobufCMessage **reply, int64_t deadline, const char *what, hs_error *err)
{
	struct rpc_error re;
	char hint[sizeof(re.leader_hint)] = "";
	for (int attempt = 0;; attempt++) {
		int64_t left = hsi_left(deadline);
		/* A single attempt gets at most half of a long deadline, so a
		 * directory that dies mid-call leaves time to retry. */
		int64_t slice = left > 4000 ? left / 2 : left;
		rpc_client *rc = c->dir;
		if (hint[0] != '\0' &&
		    (rc = hsi_peer(c, hint, RT_DIRECTORY_PRINCIPAL, NULL)) ==
			NULL)
			rc = c->dir;
		memset(&re, 0, sizeof(re));
		hs_status st = left <= 0 ?
		    HS_DEADLINE_EXCEEDED :
		    rpc_invoke(rc, &hs__directory__descriptor, method, req,
			reply, slice, 0, &re);
		if (st == HS_OK || re.answered)
			atomic_store(&c->dir_answered, 1);
		if (st == HS_OK)
			return HS_OK;
		if (left <= 0 && attempt == 0)
			snprintf(re.message, sizeof(re.message),
			    "the deadline had passed before the call");
		if (st == HS_UNAVAILABLE && !atomic_load(&c->dir_answered))
			return hsi_err(err, st,
			    "cannot reach the cluster at %s "
			    "(no directory answered within 1 s): is it "
			    "running?",
			    c->dir_where);
		if (!dir_retryable(st) || hsi_left(deadline) <= 0)
			return hsi_err(err, st,
			    "%s failed at the directory: %s%s", what,
			    re.message,
			    dir_retryable(st) ?
				" (retried "
				"until the deadline; retry later or with a longer "
				"--timeout)" :
				"");
		/* Follow the hint once per refusal; a stale hint falls back
		 * to the whole directory tier on the next round. */
		snprintf(hint, sizeof(hint), "%s",
		    st == HS_FAILED_PRECONDITION ? re.leader_hint : "");
		rt_log_debug("%s: %s (%s), retrying", what, hs_status_str(st),
		    re.message);
		if (!hsi_backoff(attempt, deadline))
			return hsi_err(err, st,
			    "%s failed at the directory: %s "
			    "(retried until the deadline; retry later or with a "
			    "longer --timeout)",
			    what, re.message);
	}
}

void
hsi_seq_remember(hs_client *c, hs_photo_id id, uint64_t seq)
{
	size_t slot = (size_t)((id.key * 0x9e3779b97f4a7c15ull) >> 52) %
	    HSI_SEQ_SLOTS;
	pthread_mutex_lock(&c->mu);
	if (c->seqs[slot].key != id.key || c->seqs[slot].seq < seq) {
		c->seqs[slot].key = id.key;
		c->seqs[slot].seq = seq;
	}
	pthread_mutex_unlock(&c->mu);
}

static uint64_t
seq_for(hs_client *c, hs_photo_id id)
{
	size_t slot = (size_t)((id.key * 0x9e3779b97f4a7c15ull) >> 52) %
	    HSI_SEQ_SLOTS;
	pthread_mutex_lock(&c->mu);
	uint64_t seq = c->seqs[slot].key == id.key ? c->seqs[slot].seq : 0;
	pthread_mutex_unlock(&c->mu);
	return seq;
}

hs_status
hsi_lookup(hs_client *c, hs_photo_id id, int include_down, int64_t deadline,
    Hs__LookupReply **out, Hs__LookupResult **res, hs_error *err)
{
	Hs__LookupRequest req = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId pid, *ids[1] = { &pid };
	ProtobufCMessage *reply = NULL;
	char hex[HS_ID_HEX_LEN + 1];
	hsi_id_to_pb(id, &pid);
	hs_id_format(id, hex);
	req.n_ids = 1;
	req.ids = ids;
	req.min_seq = seq_for(c, id);
	req.include_down = include_down;
	hs_status st = hsi_dir_call(c, "Lookup", &req.base, &reply, deadline,
	    "lookup", err);
	if (st != HS_OK)
		return st;
	Hs__LookupReply *r = (Hs__LookupReply *)reply;
	Hs__LookupResult *x = r->n_results == 1 ? r->results[0] : NULL;
	if (x == NULL || (x->code == HS__CODE__OK && x->record == NULL)) {
		hs__lookup_reply__free_unpacked(r, NULL);
		return hsi_err(err, HS_INTERNAL,
		    "lookup of %s: the directory "
		    "sent a malformed answer",
		    hex);
	}
	if (x->code != HS__CODE__OK ||
	    x->record->state == HS__PHOTO_STATE__PHOTO_DELETED) {
		hs_status code = x->code == HS__CODE__OK ? HS_NOT_FOUND :
							   (hs_status)x->code;
		hs__lookup_reply__free_unpacked(r, NULL);
		return hsi_err(err, code, "photo %s %s", hex,
		    code == HS_NOT_FOUND ? "does not exist (never uploaded, "
					   "deleted, or a wrong cookie)" :
					   "could not be looked up");
	}
	*out = r;
	*res = x;
	return HS_OK;
}
