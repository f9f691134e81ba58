/* Upload (docs/client.md, "Upload and download"): take an id of a write
 * grant (grants.c: a steady stream of uploads makes no directory call of
 * its own), Write it at the grant's first store, which forwards to the
 * group's other stores, registers the photo with the leader once
 * MIN_REPLICA_COUNT copies are durable and answers with the record's seq.
 * Retried safely, because an id once sent is only ever sent again with the
 * same bytes:
 *  - a failed Write is sent again, same id, to the group's next store as
 *    the first (the others as its peers: a copy already there is an
 *    idempotent put, a registration an add-only union);
 *  - when every store failed, the grant is retired and the upload takes an
 *    id of another grant (the needles left behind are orphans the audit
 *    removes), with backoff, until the deadline;
 *  - a store that answers without a seq (one older than grants) leaves the
 *    registration to the client, as before: RegisterPhoto, retried with
 *    backoff through a directory failover until the deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hs_internal.h"
#include "log.h"
#include "store.pb-c.h"

/* Whether another store (or another grant) may succeed where one store
 * failed. INVALID_ARGUMENT (our bytes or sha256 are wrong) and
 * UNAUTHENTICATED (wrong key) would fail everywhere. */
static int
write_retryable(hs_status st)
{
	return st != HS_INVALID_ARGUMENT && st != HS_UNAUTHENTICATED;
}

/* One upload's id and bytes. */
struct up {
	const struct hsi_grant *g;
	const Hs__PhotoId *id;
	const void *data;
	size_t len;
	const uint8_t *sha;
	int64_t deadline;
};

/* Writes to the group's store `first`, with every other store of the
 * group as its peers. On HS_OK *w is the store's answer (the caller
 * frees it). */
static hs_status
write_at(hs_client *c, const struct up *u, size_t first, Hs__WriteReply **w,
    hs_error *err)
{
	const Hs__AllocateReply *a = u->g->a;
	const Hs__Replica *s = a->stores[first];
	Hs__Replica *peers[HS_MAX_REPLICAS];
	size_t np = 0;
	for (size_t k = 1; k < a->n_stores && np < HS_MAX_REPLICAS; k++)
		peers[np++] = a->stores[(first + k) % a->n_stores];
	rpc_client *rc = hsi_store(c, s->store_id, s->rpc_addr, err);
	if (rc == NULL)
		return err != NULL ? err->code : HS_INVALID_ARGUMENT;
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	req.id = (Hs__PhotoId *)u->id;
	req.data.data = (uint8_t *)u->data;
	req.data.len = u->len;
	req.sha256.data = (uint8_t *)u->sha;
	req.sha256.len = HS_SHA256_LEN;
	req.write_token = a->write_token;
	req.n_peers = np;
	req.peers = peers;
	ProtobufCMessage *reply = NULL;
	struct rpc_error re;
	hs_status st = rpc_invoke(rc, &hs__store__descriptor, "Write",
	    &req.base, &reply, hsi_left(u->deadline), 0, &re);
	if (st != HS_OK)
		return hsi_err(err, st, "write to store %u at %s: %s",
		    s->store_id, s->rpc_addr, re.message);
	*w = (Hs__WriteReply *)reply;
	return HS_OK;
}

/* Where the upload's bytes are, remembered so this client reads its own
 * upload with no Lookup. */
static void
remember_locations(hs_client *c, const struct up *u, const uint32_t *stored,
    size_t nstored)
{
	const Hs__AllocateReply *a = u->g->a;
	Hs__Replica *reps[HS_MAX_REPLICAS];
	size_t n = 0;
	for (size_t i = 0; i < a->n_stores && n < HS_MAX_REPLICAS; i++)
		for (size_t k = 0; k < nstored; k++)
			if (a->stores[i]->store_id == stored[k]) {
				reps[n++] = a->stores[i];
				break;
			}
	Hs__PhotoRecord rec = HS__PHOTO_RECORD__INIT;
	rec.id = (Hs__PhotoId *)u->id;
	rec.size = u->len;
	rec.sha256.data = (uint8_t *)u->sha;
	rec.sha256.len = HS_SHA256_LEN;
	Hs__LookupResult x = HS__LOOKUP_RESULT__INIT;
	x.record = &rec;
	x.replicas = reps;
	x.n_replicas = n;
	hsi_locations_put(c->locs, (hs_photo_id){ u->id->key, u->id->cookie },
	    &x);
}

/* The photo is durable and committed where w says: remember its seq and
 * locations. Registration is the stores' (a client may not register): a
 * store that answers without a seq predates it and is refused. */
static hs_status
committed(hs_client *c, const struct up *u, const Hs__WriteReply *w,
    uint32_t first_store, hs_error *err)
{
	/* A store that answers OK has the needle durably even if it lists
	 * nobody; count it so the record is never without locations. */
	const uint32_t *stored = w->n_stored_on ? w->stored_on : &first_store;
	size_t n = w->n_stored_on ? w->n_stored_on : 1;
	if (w->seq == 0)
		return hsi_err(err, HS_FAILED_PRECONDITION,
		    "store %u stored the photo but did not commit it: it is "
		    "older than this client; upgrade it",
		    first_store);
	hsi_seq_remember(c, (hs_photo_id){ u->id->key, u->id->cookie }, w->seq);
	remember_locations(c, u, stored, n);
	return HS_OK;
}

/* One id: a Write at each store of its group in turn. HS_ABORTED (with
 * err) means "every store failed: take an id of another grant". */
static hs_status
upload_once(hs_client *c, const struct up *u, hs_error *err)
{
	const Hs__AllocateReply *a = u->g->a;
	hs_status st = HS_UNAVAILABLE;
	hs_error e;
	char tried[480] = "";
	for (size_t i = 0; i < a->n_stores && hsi_left(u->deadline) > 0; i++) {
		Hs__WriteReply *w = NULL;
		st = write_at(c, u, i, &w, &e);
		if (st == HS_OK) {
			st = committed(c, u, w, a->stores[i]->store_id, err);
			hs__write_reply__free_unpacked(w, NULL);
			return st;
		}
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used, "%s%.200s",
		    used ? "; " : "", e.message);
		if (!write_retryable(st))
			return hsi_err(err, st, "%s", e.message);
	}
	return hsi_err(err, HS_ABORTED, "%s",
	    tried[0] ? tried :
		       "the deadline passed before any store was tried");
}

hs_status
hs_upload(hs_client *c, const void *data, size_t len, uint32_t replicas,
    int64_t timeout_ms, hs_photo_id *id, hs_error *err)
{
	struct up u = { .data = data, .len = len };
	uint8_t sha[HS_SHA256_LEN];
	hs_error e = { .code = HS_OK };
	u.deadline = hsi_deadline(timeout_ms);
	u.sha = sha;
	if (len > HS_MAX_PHOTO_SIZE)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "the photo is %zu "
		    "bytes; the largest a cluster stores is %u bytes (64 MiB)",
		    len, HS_MAX_PHOTO_SIZE);
	hs_sha256(data, len, sha);
	for (int attempt = 0;; attempt++) {
		struct hsi_grant *g = NULL;
		size_t idx = 0;
		hs_status st = hsi_grant_take(c, replicas, len, sha, u.deadline,
		    &g, &idx, &e);
		if (st != HS_OK)
			break;
		u.g = g;
		u.id = hsi_grant_id(g, idx);
		st = upload_once(c, &u, &e);
		if (st == HS_OK)
			*id = (hs_photo_id){ u.id->key, u.id->cookie };
		if (st == HS_ABORTED)
			hsi_grant_retire(c, g);
		hsi_grant_put(g);
		if (st == HS_OK)
			return HS_OK;
		if (st != HS_ABORTED)
			break;
		rt_log_debug("upload: every store of the grant failed (%s); "
			     "taking an id of another grant",
		    e.message);
		if (!hsi_backoff(attempt, u.deadline)) {
			e.code = HS_UNAVAILABLE;
			break;
		}
	}
	if (e.code == HS_ABORTED)
		e.code = HS_UNAVAILABLE;
	return hsi_err(err, e.code, "upload failed: %s", e.message);
}

/* Reads all of path into a new buffer (*data, the caller frees). */
static hs_status
read_file(const char *path, void **data, size_t *len, hs_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hsi_err(err, HS_INVALID_ARGUMENT, "cannot read %s: %s",
		    path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > HS_MAX_PHOTO_SIZE) {
		close(fd);
		if (!S_ISREG(sb.st_mode))
			return hsi_err(err, HS_INVALID_ARGUMENT,
			    "%s is not a "
			    "regular file; name a photo file",
			    path);
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s is %lld bytes; the "
		    "largest a cluster stores is 64 MiB",
		    path, (long long)sb.st_size);
	}
	size_t n = (size_t)sb.st_size, got = 0;
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL) {
		close(fd);
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return hsi_err(err, HS_INTERNAL,
			    "cannot read %s: %s "
			    "(it changed while being read?)",
			    path, r < 0 ? strerror(e) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = n;
	return HS_OK;
}

hs_status
hs_upload_file(hs_client *c, const char *path, uint32_t replicas,
    int64_t timeout_ms, hs_photo_id *id, hs_error *err)
{
	void *data = NULL;
	size_t len = 0;
	hs_status st = read_file(path, &data, &len, err);
	if (st != HS_OK)
		return st;
	st = hs_upload(c, data, len, replicas, timeout_ms, id, err);
	free(data);
	return st;
}
