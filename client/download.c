/* Download: cache -> the stores of the write group the id names, by hint
 * -> Lookup -> Read from the replicas in order, UP stores first, the next
 * one on any failure (docs/client.md); a photo read a moment ago skips the
 * Lookup (locations.h). Reads that made no Lookup go by hint: a store that
 * may not have applied every delete refuses them (UNAVAILABLE) and the
 * Lookup decides. Bytes are returned only when their SHA-256 matches: the
 * cache value carries its digest so a hit needs no directory round trip; a
 * read by hint is checked against the SHA-256 the needle carries; a
 * replica that fails the check is reported to the replicator (best effort)
 * and skipped. When every replica fails the caller gets DATA_LOSS (all bad) or
 * UNAVAILABLE, with the stores tried and why each failed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grant.h"
#include "hs_internal.h"
#include "log.h"
#include "replicator.pb-c.h"
#include "store.pb-c.h"

static int
state_rank(Hs__StoreState s)
{
	switch (s) {
	case HS__STORE_STATE__STORE_UP:
		return 0;
	case HS__STORE_STATE__STORE_READONLY:
		return 1;
	case HS__STORE_STATE__STORE_UNKNOWN:
		return 2;
	default:
		return 3;
	}
}

static void
report_done_cb(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	(void)arg;
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	else
		rt_log_debug("corruption report not delivered: %s",
		    err->message);
}

/* Tells the replicator that store_id holds bad bytes for id. Best effort
 * and asynchronous: the download goes on to the next replica meanwhile,
 * and hs_close waits for the report. */
static void
report_corruption(hs_client *c, const Hs__PhotoId *id, uint32_t store_id,
    const char *detail)
{
	if (c->repl == NULL)
		return;
	Hs__ReportCorruptionRequest req = HS__REPORT_CORRUPTION_REQUEST__INIT;
	req.id = (Hs__PhotoId *)id;
	req.store_id = store_id;
	req.reporter = "client";
	req.detail = (char *)detail;
	rpc_invoke_async(c->repl, &hs__replicator__descriptor,
	    "ReportCorruption", &req.base, 5000, 0, report_done_cb, NULL);
}

/* 1 if r's bytes are rec's (rec NULL: the SHA-256 the needle carries). */
static int
bytes_match(const Hs__ReadReply *r, const Hs__PhotoRecord *rec)
{
	uint8_t sha[HS_SHA256_LEN];
	const ProtobufCBinaryData *want = rec ? &rec->sha256 : &r->sha256;
	if (want->len != HS_SHA256_LEN || (rec && r->data.len != rec->size))
		return 0;
	hs_sha256(r->data.data, r->data.len, sha);
	return memcmp(sha, want->data, HS_SHA256_LEN) == 0;
}

/* Reads id from one replica (by hint: see the top) and checks the bytes
 * against rec, or with no record against the needle's own SHA-256. HS_OK
 * with *data (malloc'd) and *len; DATA_LOSS for bad bytes; else the
 * error. */
static hs_status
read_one(hs_client *c, const Hs__Replica *rep, Hs__PhotoId *id,
    const Hs__PhotoRecord *rec, int by_hint, int64_t deadline, void **data,
    size_t *len, char *why, size_t whylen)
{
	hs_error e;
	rpc_client *rc = hsi_store(c, rep->store_id, rep->rpc_addr, &e);
	if (rc == NULL) {
		snprintf(why, whylen, "%.150s", e.message);
		return e.code;
	}
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	req.id = id;
	req.by_hint = by_hint;
	ProtobufCMessage *reply = NULL;
	struct rpc_error re;
	hs_status st = rpc_invoke(rc, &hs__store__descriptor, "Read", &req.base,
	    &reply, hsi_left(deadline), 0, &re);
	if (st != HS_OK) {
		snprintf(why, whylen, "%s: %.150s", hs_status_str(st),
		    re.message);
		return st;
	}
	Hs__ReadReply *r = (Hs__ReadReply *)reply;
	if (!bytes_match(r, rec)) {
		snprintf(why, whylen,
		    "returned %zu bytes that do not match "
		    "the photo's SHA-256 (%s)",
		    r->data.len, rec ? "from its record" : "from the needle");
		if (rec != NULL || r->sha256.len == HS_SHA256_LEN)
			report_corruption(c, id, rep->store_id, why);
		hs__read_reply__free_unpacked(r, NULL);
		return HS_DATA_LOSS;
	}
	/* Hand the bytes over without a copy: the unpacked reply is one
	 * allocation per field, and data is its own malloc'd block. */
	*data = r->data.data;
	*len = r->data.len;
	if (*data == NULL && (*data = malloc(1)) == NULL) {
		hs__read_reply__free_unpacked(r, NULL);
		snprintf(why, whylen, "out of memory");
		return HS_RESOURCE_EXHAUSTED;
	}
	r->data.data = NULL;
	r->data.len = 0;
	hs__read_reply__free_unpacked(r, NULL);
	return HS_OK;
}

/* UP stores first; within a state, stores this client is connected to
 * before those it has lost (a store that just died is tried last, not
 * waited on first). Dialing starts here for every replica, in parallel. */
static int
replica_rank(hs_client *c, const Hs__Replica *rep)
{
	rpc_client *rc = hsi_store(c, rep->store_id, rep->rpc_addr, NULL);
	int lost = rc != NULL && rpc_client_connected(rc) == 0;
	return state_rank(rep->state) * 2 + lost;
}

static hs_status
read_replicas(hs_client *c, hs_photo_id id, const Hs__LookupResult *x,
    int by_hint, int64_t deadline, void **data, size_t *len, hs_error *err)
{
	const Hs__Replica *order[HS_MAX_REPLICAS];
	size_t n = 0;
	for (int rank = 0; rank < 8; rank++)
		for (size_t i = 0; i < x->n_replicas && n < HS_MAX_REPLICAS;
		     i++)
			if (replica_rank(c, x->replicas[i]) == rank)
				order[n++] = x->replicas[i];
	char tried[400] = "", hex[HS_ID_HEX_LEN + 1];
	int bad = 0, notfound = 0;
	hs_id_format(id, hex);
	for (size_t i = 0; i < n; i++) {
		char why[200];
		if (hsi_left(deadline) <= 0)
			return hsi_err(err, HS_DEADLINE_EXCEEDED,
			    "the deadline "
			    "passed while reading %s%s%s; retry with a longer "
			    "--timeout",
			    hex, tried[0] ? " after " : "", tried);
		hs_status st = read_one(c, order[i], x->record->id, x->record,
		    by_hint, deadline, data, len, why, sizeof(why));
		if (st == HS_OK)
			return HS_OK;
		bad += st == HS_DATA_LOSS;
		notfound += st == HS_NOT_FOUND;
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used,
		    "%sstore %u (%s): "
		    "%s",
		    used ? "; " : "", order[i]->store_id, order[i]->rpc_addr,
		    why);
	}
	if (n == 0)
		return hsi_err(err, HS_UNAVAILABLE,
		    "photo %s has no replica "
		    "on a reachable store; retry when its stores are back "
		    "(`hs status %s` lists them)",
		    hex, hex);
	if (bad == (int)n || bad + notfound == (int)n)
		return hsi_err(err, HS_DATA_LOSS,
		    "no replica of %s holds good "
		    "bytes (%s); the replicator has been told, check `hs "
		    "status %s`",
		    hex, tried, hex);
	return hsi_err(err, HS_UNAVAILABLE,
	    "could not read %s from any "
	    "replica (%s); retry later",
	    hex, tried);
}

/* Fetches the write groups (ListStores); failures are left to the next
 * try (the download goes on by Lookup). */
static void
fetch_groups(hs_client *c, int64_t deadline)
{
	Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	hs_error e;
	if (hsi_dir_call(c, "ListStores", &q.base, &m, deadline,
		"list the write groups", &e) != HS_OK)
		return;
	hsi_groups_set(c->locs, (const Hs__ListStoresReply *)m);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* One round trip: id read by hint from a store of the write group its key
 * names, the one that served the group last first. HS_OK, or the reason
 * to look the photo up (NOT_FOUND at once: the store is caught up). */
static hs_status
read_by_hint(hs_client *c, hs_photo_id id, int64_t deadline, void **data,
    size_t *len)
{
	uint32_t group = rt_grant_group_of(id.key);
	struct hsi_location g;
	Hs__PhotoId pid = HS__PHOTO_ID__INIT;
	char why[200];
	if (group == 0 || c->locs == NULL)
		return HS_NOT_FOUND;
	if (hsi_groups_due(c->locs, 0))
		fetch_groups(c, deadline);
	if (!hsi_groups_get(c->locs, group, &g)) {
		if (!hsi_groups_due(c->locs, 1))
			return HS_NOT_FOUND;
		fetch_groups(c, deadline);
		if (!hsi_groups_get(c->locs, group, &g))
			return HS_NOT_FOUND;
	}
	hsi_id_to_pb(id, &pid);
	hs_status st = HS_UNAVAILABLE;
	for (size_t i = 0; i < g.res.n_replicas && st != HS_NOT_FOUND; i++) {
		st = read_one(c, g.repp[i], &pid, NULL, 1, deadline, data, len,
		    why, sizeof(why));
		if (st == HS_OK) {
			hsi_groups_good(c->locs, group, g.repp[i]->store_id);
			return HS_OK;
		}
	}
	return st;
}

hs_status
hs_download(hs_client *c, hs_photo_id id, int64_t timeout_ms, void **data,
    size_t *len, hs_error *err)
{
	int64_t deadline = hsi_deadline(timeout_ms);
	int cached = c->cache != NULL ?
	    hsi_cache_get(c->cache, id, deadline, data, len) :
	    0;
	if (cached == 1) {
		atomic_fetch_add(&c->cache_hits, 1);
		return HS_OK;
	}
	if (c->cache != NULL)
		atomic_fetch_add(&c->cache_misses, 1);
	if (cached < 0) {
		/* The leader marks the entry before it acknowledges a delete,
		 * and ids are never reused: deleted, whatever a location we
		 * remember would still find. */
		char hex[HS_ID_HEX_LEN + 1];
		hs_id_format(id, hex);
		hsi_locations_forget(c->locs, id);
		return hsi_err(err, HS_NOT_FOUND,
		    "photo %s does not exist "
		    "(deleted)",
		    hex);
	}
	/* Read again where a recent Lookup said it is; on any failure, the
	 * directory decides (the photo may have moved or been deleted). */
	struct hsi_location loc;
	if (hsi_locations_get(c->locs, id, &loc)) {
		if (read_replicas(c, id, &loc.res, 1, deadline, data, len,
			NULL) == HS_OK)
			return HS_OK;
		hsi_locations_forget(c->locs, id);
	} else if (read_by_hint(c, id, deadline, data, len) == HS_OK) {
		return HS_OK;
	}
	Hs__LookupReply *r;
	Hs__LookupResult *x;
	hs_status st = hsi_lookup(c, id, 0, deadline, &r, &x, err);
	if (st != HS_OK)
		return st;
	st = read_replicas(c, id, x, 0, deadline, data, len, err);
	if (st == HS_OK)
		hsi_locations_put(c->locs, id, x);
	hs__lookup_reply__free_unpacked(r, NULL);
	return st;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

hs_status
hs_download_fd(hs_client *c, hs_photo_id id, int fd, int64_t timeout_ms,
    hs_error *err)
{
	void *data;
	size_t len;
	hs_status st = hs_download(c, id, timeout_ms, &data, &len, err);
	if (st != HS_OK)
		return st;
	int rv = write_all(fd, data, len);
	free(data);
	if (rv != 0)
		return hsi_err(err, HS_INTERNAL, "cannot write the photo: %s",
		    strerror(-rv));
	return HS_OK;
}

hs_status
hs_download_file(hs_client *c, hs_photo_id id, const char *path,
    int64_t timeout_ms, hs_error *err)
{
	void *data;
	size_t len;
	hs_status st = hs_download(c, id, timeout_ms, &data, &len, err);
	if (st != HS_OK)
		return st;
	char tmp[4096];
	const char *step = "create";
	int rv = 0;
	snprintf(tmp, sizeof(tmp), "%s.part-%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rv = -errno;
		goto out;
	}
	step = "write";
	if ((rv = write_all(fd, data, len)) != 0)
		goto out;
	step = "close";
	rv = close(fd) != 0 ? -errno : 0;
	fd = -1;
	if (rv != 0)
		goto out;
	step = "rename";
	if (rename(tmp, path) != 0)
		rv = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	if (rv != 0) {
		unlink(tmp);
		return hsi_err(err, HS_INTERNAL,
		    "cannot %s %s: %s (is the "
		    "folder writable?)",
		    step, strcmp(step, "rename") == 0 ? path : tmp,
		    strerror(-rv));
	}
	return HS_OK;
}
