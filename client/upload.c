/* Upload: Allocate -> Write -> RegisterPhoto (docs/client.md, "Upload and
 * download"), retried safely. Every step is idempotent for the same id, so:
 *  - a failed Allocate is retried (hsi_dir_call) until the deadline;
 *  - a failed Write moves on to the next allocated store as the first one,
 *    with the stores after it as peers; when every store failed, a new
 *    Allocate picks fresh stores (the unregistered needles are orphans the
 *    audit removes);
 *  - once the bytes are durable, RegisterPhoto is retried with backoff
 *    through a directory failover until the deadline, following leader
 *    hints, because giving up there would lose a write that succeeded. */
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

/* Whether another store (or a new allocation) may succeed where one store
 * failed. INVALID_ARGUMENT (our bytes or sha256 are wrong) and
 * UNAUTHENTICATED (wrong key) would fail everywhere. */
static int
write_retryable(hs_status st)
{
	return st != HS_INVALID_ARGUMENT && st != HS_UNAUTHENTICATED;
}

/* Writes to a->stores[first], peers = the stores after it. On HS_OK
 * *stored (malloc'd, the caller frees) lists the stores that acknowledged. */
static hs_status
write_at(hs_client *c, const Hs__AllocateReply *a, size_t first,
    const void *data, size_t len, const uint8_t sha[HS_SHA256_LEN],
    int64_t deadline, uint32_t **stored, size_t *nstored, hs_error *err)
{
	const Hs__Replica *s = a->stores[first];
	rpc_client *rc = hsi_peer(c, s->rpc_addr, err);
	if (rc == NULL)
		return err != NULL ? err->code : HS_INVALID_ARGUMENT;
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	req.id = a->id;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.sha256.data = (uint8_t *)sha;
	req.sha256.len = HS_SHA256_LEN;
	req.write_token = a->write_token;
	req.n_peers = a->n_stores - first - 1;
	req.peers = a->stores + first + 1;
	ProtobufCMessage *reply = NULL;
	struct rpc_error re;
	hs_status st = rpc_invoke(rc, &hs__store__descriptor, "Write",
	    &req.base, &reply, hsi_left(deadline), 0, &re);
	if (st != HS_OK)
		return hsi_err(err, st, "write to store %u at %s: %s",
		    s->store_id, s->rpc_addr, re.message);
	Hs__WriteReply *w = (Hs__WriteReply *)reply;
	/* A store that answers OK has the needle durably even if it lists
	 * nobody; count it so the record is never without locations. */
	size_t n = w->n_stored_on ? w->n_stored_on : 1;
	*stored = malloc(n * sizeof(**stored));
	if (*stored == NULL) {
		protobuf_c_message_free_unpacked(reply, NULL);
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	}
	if (w->n_stored_on)
		memcpy(*stored, w->stored_on, n * sizeof(**stored));
	else
		(*stored)[0] = s->store_id;
	*nstored = n;
	protobuf_c_message_free_unpacked(reply, NULL);
	return HS_OK;
}

static hs_status
allocate(hs_client *c, size_t len, const uint8_t sha[HS_SHA256_LEN],
    uint32_t replicas, int64_t deadline, Hs__AllocateReply **out, hs_error *err)
{
	Hs__AllocateRequest req = HS__ALLOCATE_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	req.size = len;
	req.sha256.data = (uint8_t *)sha;
	req.sha256.len = HS_SHA256_LEN;
	req.replicas = replicas;
	hs_status st = hsi_dir_call(c, "Allocate", &req.base, &reply, deadline,
	    "allocate", err);
	if (st != HS_OK)
		return st;
	Hs__AllocateReply *a = (Hs__AllocateReply *)reply;
	if (a->id == NULL || a->n_stores == 0) {
		hs__allocate_reply__free_unpacked(a, NULL);
		return hsi_err(err, HS_INTERNAL,
		    "allocate: the directory "
		    "answered without an id or stores");
	}
	*out = a;
	return HS_OK;
}

static hs_status
register_photo(hs_client *c, const Hs__AllocateReply *a, size_t len,
    const uint8_t sha[HS_SHA256_LEN], uint32_t *stored, size_t nstored,
    int64_t deadline, hs_error *err)
{
	Hs__RegisterRequest req = HS__REGISTER_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	req.id = a->id;
	req.sha256.data = (uint8_t *)sha;
	req.sha256.len = HS_SHA256_LEN;
	req.size = len;
	req.n_stores = nstored;
	req.stores = stored;
	/* The leader refuses a new registration once this token expired:
	 * by then the needles may be gone as orphans. */
	req.write_token = a->write_token;
	hs_status st = hsi_dir_call(c, "RegisterPhoto", &req.base, &reply,
	    deadline, "register", err);
	if (st != HS_OK)
		return st;
	hs_photo_id id = { a->id->key, a->id->cookie };
	hsi_seq_remember(c, id, ((Hs__RegisterReply *)reply)->seq);
	protobuf_c_message_free_unpacked(reply, NULL);
	return HS_OK;
}

/* Where the upload's bytes are, remembered so this client reads its own
 * upload with no Lookup. */
static void
remember_locations(hs_client *c, const Hs__AllocateReply *a, size_t len,
    const uint8_t sha[HS_SHA256_LEN], const uint32_t *stored, size_t nstored)
{
	Hs__Replica *reps[HS_MAX_REPLICAS];
	size_t n = 0;
	for (size_t i = 0; i < a->n_stores && n < HS_MAX_REPLICAS; i++)
		for (size_t k = 0; k < nstored; k++)
			if (a->stores[i]->store_id == stored[k]) {
				reps[n++] = a->stores[i];
				break;
			}
	Hs__PhotoRecord rec = HS__PHOTO_RECORD__INIT;
	rec.id = a->id;
	rec.size = len;
	rec.sha256.data = (uint8_t *)sha;
	rec.sha256.len = HS_SHA256_LEN;
	Hs__LookupResult x = HS__LOOKUP_RESULT__INIT;
	x.record = &rec;
	x.replicas = reps;
	x.n_replicas = n;
	hsi_locations_put(c->locs, (hs_photo_id){ a->id->key, a->id->cookie },
	    &x);
}

/* One allocation's worth: Write at each allocated store in turn, then
 * Register. HS_ABORTED (with err) means "every store failed, allocate
 * again". */
static hs_status
upload_once(hs_client *c, const Hs__AllocateReply *a, const void *data,
    size_t len, const uint8_t sha[HS_SHA256_LEN], int64_t deadline,
    hs_error *err)
{
	uint32_t *stored = NULL;
	size_t nstored = 0;
	hs_status st = HS_UNAVAILABLE;
	hs_error e;
	char tried[480] = "";
	for (size_t i = 0; i < a->n_stores && hsi_left(deadline) > 0; i++) {
		st = write_at(c, a, i, data, len, sha, deadline, &stored,
		    &nstored, &e);
		if (st == HS_OK)
			break;
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof(tried) - used, "%s%.200s",
		    used ? "; " : "", e.message);
		if (!write_retryable(st))
			return hsi_err(err, st, "%s", e.message);
	}
	if (st != HS_OK) {
		hsi_err(err, HS_ABORTED, "%s",
		    tried[0] ?
			tried :
			"the deadline passed before any store was tried");
		return HS_ABORTED;
	}
	st = register_photo(c, a, len, sha, stored, nstored, deadline, err);
	if (st == HS_OK)
		remember_locations(c, a, len, sha, stored, nstored);
	free(stored);
	return st;
}

hs_status
hs_upload(hs_client *c, const void *data, size_t len, uint32_t replicas,
    int64_t timeout_ms, hs_photo_id *id, hs_error *err)
{
	int64_t deadline = hsi_deadline(timeout_ms);
	uint8_t sha[HS_SHA256_LEN];
	hs_error e = { .code = HS_OK };
	if (len > HS_MAX_PHOTO_SIZE)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "the photo is %zu "
		    "bytes; the largest a cluster stores is %u bytes (64 MiB)",
		    len, HS_MAX_PHOTO_SIZE);
	hs_sha256(data, len, sha);
	for (int attempt = 0;; attempt++) {
		Hs__AllocateReply *a = NULL;
		hs_status st = allocate(c, len, sha, replicas, deadline, &a,
		    &e);
		if (st != HS_OK)
			break;
		st = upload_once(c, a, data, len, sha, deadline, &e);
		if (st == HS_OK)
			*id = (hs_photo_id){ a->id->key, a->id->cookie };
		hs__allocate_reply__free_unpacked(a, NULL);
		if (st == HS_OK)
			return HS_OK;
		if (st != HS_ABORTED)
			break;
		rt_log_debug("upload: every allocated store failed (%s); "
			     "allocating again",
		    e.message);
		if (!hsi_backoff(attempt, deadline)) {
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
