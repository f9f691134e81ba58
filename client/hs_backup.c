/* hs_backup and hs_restore: the metadata copied off the box and back.
 * The file (docs/reliability.md, "A way back"): a header (magic
 * "HSBACKUP", version, creation time, the change-log head), then each
 * record as a 32-bit length and a packed PhotoRecord, then a zero length,
 * the record count and a SHA-256 over every byte before it. All integers
 * little-endian. A restore checks the whole file before it sends anything,
 * so a damaged backup restores nothing. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hs_internal.h"

#define BK_MAGIC "HSBACKUP"
#define BK_VERSION 1
#define BK_HEADER 32
#define BK_MAX_RECORD 4096 /* a record packs to about 100 bytes */
#define BK_PAGE 10000
#define BK_BATCH 1000

static void
le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* One backup file being written or read, with its running hash. */
struct bk_file {
	FILE *f;
	EVP_MD_CTX *md;
	const char *path;
};

static int
bk_open(struct bk_file *b, const char *path, const char *mode)
{
	b->path = path;
	b->f = fopen(path, mode);
	b->md = EVP_MD_CTX_new();
	if (b->f == NULL || b->md == NULL ||
	    EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1) {
		if (b->f != NULL)
			fclose(b->f);
		EVP_MD_CTX_free(b->md);
		return -1;
	}
	return 0;
}

static void
bk_close(struct bk_file *b)
{
	if (b->f != NULL)
		fclose(b->f);
	EVP_MD_CTX_free(b->md);
	b->f = NULL;
	b->md = NULL;
}

static int
bk_write(struct bk_file *b, const void *p, size_t n)
{
	EVP_DigestUpdate(b->md, p, n);
	return fwrite(p, 1, n, b->f) == n ? 0 : -1;
}

/* 0, or -1 at the end of the file (or a read error). */
static int
bk_read(struct bk_file *b, void *p, size_t n)
{
	if (fread(p, 1, n, b->f) != n)
		return -1;
	EVP_DigestUpdate(b->md, p, n);
	return 0;
}

/* ---- hs_backup ---- */

static int
write_header(struct bk_file *b, uint64_t head_seq)
{
	uint8_t h[BK_HEADER] = { 0 };
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(h, BK_MAGIC, 8);
	le_put(h + 8, BK_VERSION, 4);
	le_put(h + 16,
	    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, 8);
	le_put(h + 24, head_seq, 8);
	return bk_write(b, h, sizeof(h));
}

static int
write_record(struct bk_file *b, const Hs__PhotoRecord *r,
    struct hs_wayback_stats *s)
{
	uint8_t buf[4 + BK_MAX_RECORD];
	size_t n = hs__photo_record__get_packed_size(r);
	if (n == 0 || n > BK_MAX_RECORD)
		return -1;
	le_put(buf, n, 4);
	hs__photo_record__pack(r, buf + 4);
	s->records++;
	if (r->state == HS__PHOTO_STATE__PHOTO_DELETED)
		s->deleted++;
	else
		s->active++;
	return bk_write(b, buf, 4 + n);
}

static int
write_trailer(struct bk_file *b, uint64_t count)
{
	uint8_t t[12], sha[32];
	unsigned int len = 0;
	le_put(t, 0, 4);
	le_put(t + 4, count, 8);
	if (bk_write(b, t, sizeof(t)) != 0 ||
	    EVP_DigestFinal_ex(b->md, sha, &len) != 1)
		return -1;
	if (fwrite(sha, 1, sizeof(sha), b->f) != sizeof(sha) ||
	    fflush(b->f) != 0 || fsync(fileno(b->f)) != 0)
		return -1;
	return 0;
}

/* Pages ListRecords into b. HS_OK, or the failure in err. */
static hs_status
backup_pages(hs_client *c, struct bk_file *b, hs_progress_fn progress,
    void *arg, int64_t timeout_ms, struct hs_wayback_stats *s, hs_error *err)
{
	Hs__ListRecordsRequest req = HS__LIST_RECORDS_REQUEST__INIT;
	req.limit = BK_PAGE;
	for (int first = 1;; first = 0) {
		ProtobufCMessage *reply = NULL;
		hs_status st = hsi_dir_call(c, "ListRecords", &req.base, &reply,
		    hsi_deadline(timeout_ms), "backup listing", err);
		if (st != HS_OK)
			return st;
		Hs__ListRecordsReply *r = (Hs__ListRecordsReply *)reply;
		int bad = first && write_header(b, r->head_seq) != 0;
		if (first)
			s->head_seq = r->head_seq;
		for (size_t i = 0; !bad && i < r->n_records; i++) {
			bad = write_record(b, r->records[i], s) != 0;
			req.after_key = r->records[i]->id->key;
		}
		int more = r->more && r->n_records > 0;
		hs__list_records_reply__free_unpacked(r, NULL);
		if (bad)
			return hsi_err(err, HS_INTERNAL,
			    "cannot write %s: %s; check the disk and retry",
			    b->path, strerror(errno));
		if (progress != NULL)
			progress(arg, s->records, 0);
		if (!more)
			return HS_OK;
	}
}

hs_status
hs_backup(hs_client *c, const char *path, hs_progress_fn progress, void *arg,
    int64_t timeout_ms, struct hs_wayback_stats *out, hs_error *err)
{
	char tmp[4096];
	struct bk_file b;
	struct hs_wayback_stats s = { 0 };
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (bk_open(&b, tmp, "wb") != 0)
		return hsi_err(err, HS_INTERNAL,
		    "cannot create %s: %s; check the folder exists and is "
		    "writable",
		    tmp, strerror(errno));
	hs_status st = backup_pages(c, &b, progress, arg, timeout_ms, &s, err);
	if (st == HS_OK && write_trailer(&b, s.records) != 0)
		st = hsi_err(err, HS_INTERNAL, "cannot write %s: %s", tmp,
		    strerror(errno));
	bk_close(&b);
	if (st == HS_OK && rename(tmp, path) != 0)
		st = hsi_err(err, HS_INTERNAL, "cannot rename %s to %s: %s",
		    tmp, path, strerror(errno));
	if (st != HS_OK) {
		unlink(tmp);
		return st;
	}
	if (out != NULL)
		*out = s;
	return HS_OK;
}

/* ---- hs_restore ---- */

/* Opens path and checks its header. HS_OK or the failure in err. */
static hs_status
open_checked(struct bk_file *b, const char *path, hs_error *err)
{
	uint8_t h[BK_HEADER];
	if (bk_open(b, path, "rb") != 0)
		return hsi_err(err,
		    errno == ENOENT ? HS_NOT_FOUND : HS_INTERNAL,
		    "cannot open %s: %s", path, strerror(errno));
	if (bk_read(b, h, sizeof(h)) != 0 || memcmp(h, BK_MAGIC, 8) != 0) {
		bk_close(b);
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s is not an hs backup (no HSBACKUP header); give a file "
		    "written by `hs backup`",
		    path);
	}
	uint64_t v = le_get(h + 8, 4);
	if (v != BK_VERSION) {
		bk_close(b);
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s is a version %" PRIu64 " backup; this hs reads "
		    "version %d: use the hs that wrote it",
		    path, v, BK_VERSION);
	}
	return HS_OK;
}

/* The next record into *rec (free with hs__photo_record__free_unpacked):
 * 1; 0 at the end mark, with the trailer's count; -1 damaged (why). */
static int
read_next(struct bk_file *b, Hs__PhotoRecord **rec, uint64_t *count, char *why,
    size_t len)
{
	uint8_t l4[4], c8[8], buf[BK_MAX_RECORD];
	if (bk_read(b, l4, 4) != 0) {
		snprintf(why, len, "it ends before its trailer (truncated)");
		return -1;
	}
	uint64_t n = le_get(l4, 4);
	if (n == 0) {
		if (bk_read(b, c8, 8) != 0) {
			snprintf(why, len, "its trailer is truncated");
			return -1;
		}
		*count = le_get(c8, 8);
		return 0;
	}
	if (n > BK_MAX_RECORD || bk_read(b, buf, n) != 0) {
		snprintf(why, len, "a record of %" PRIu64 " bytes is %s", n,
		    n > BK_MAX_RECORD ? "too long" : "truncated");
		return -1;
	}
	*rec = hs__photo_record__unpack(NULL, n, buf);
	if (*rec == NULL || (*rec)->id == NULL) {
		if (*rec != NULL)
			hs__photo_record__free_unpacked(*rec, NULL);
		snprintf(why, len, "a record does not parse");
		return -1;
	}
	return 1;
}

/* Reads the whole file: counts into s, then the count and the hash. */
static hs_status
verify(const char *path, struct hs_wayback_stats *s, hs_error *err)
{
	struct bk_file b;
	char why[160] = "";
	uint8_t want[32], got[32];
	unsigned int mdlen = 0;
	uint64_t count = 0;
	hs_status st = open_checked(&b, path, err);
	if (st != HS_OK)
		return st;
	Hs__PhotoRecord *rec;
	int rc;
	while ((rc = read_next(&b, &rec, &count, why, sizeof(why))) == 1) {
		s->records++;
		if (rec->state == HS__PHOTO_STATE__PHOTO_DELETED)
			s->deleted++;
		else
			s->active++;
		hs__photo_record__free_unpacked(rec, NULL);
	}
	if (rc == 0) {
		EVP_DigestFinal_ex(b.md, got, &mdlen);
		if (fread(want, 1, 32, b.f) != 32)
			snprintf(why, sizeof(why), "its SHA-256 is truncated");
		else if (memcmp(want, got, 32) != 0)
			snprintf(why, sizeof(why),
			    "its SHA-256 does not match its contents");
		else if (count != s->records)
			snprintf(why, sizeof(why),
			    "it holds %" PRIu64 " records, its trailer "
			    "says %" PRIu64,
			    s->records, count);
		else if (fgetc(b.f) != EOF)
			snprintf(why, sizeof(why),
			    "it has bytes after its trailer");
	}
	bk_close(&b);
	if (why[0] != '\0')
		return hsi_err(err, HS_DATA_LOSS,
		    "backup %s is damaged: %s; nothing was restored. Use "
		    "another backup, or `hs rebuild` from the stores",
		    path, why);
	return HS_OK;
}

/* Sends batch[0..n) to Restore, adding to s; frees the records. */
static hs_status
send_batch(hs_client *c, Hs__PhotoRecord **batch, size_t n, int64_t timeout_ms,
    struct hs_wayback_stats *s, hs_error *err)
{
	Hs__RestoreRequest req = HS__RESTORE_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	req.records = batch;
	req.n_records = n;
	hs_status st = hsi_dir_call(c, "Restore", &req.base, &reply,
	    hsi_deadline(timeout_ms), "restore", err);
	if (st == HS_OK) {
		Hs__RestoreReply *r = (Hs__RestoreReply *)reply;
		s->restored += r->restored;
		s->kept += r->kept;
		hs__restore_reply__free_unpacked(r, NULL);
	}
	return st;
}

hs_status
hsi_restore_records(hs_client *c, Hs__PhotoRecord **recs, size_t n,
    hs_progress_fn progress, void *arg, int64_t timeout_ms,
    struct hs_wayback_stats *s, hs_error *err)
{
	for (size_t i = 0; i < n; i += BK_BATCH) {
		size_t k = n - i < BK_BATCH ? n - i : BK_BATCH;
		hs_status st = send_batch(c, recs + i, k, timeout_ms, s, err);
		if (st != HS_OK)
			return st;
		if (progress != NULL)
			progress(arg, i + k, n);
	}
	return HS_OK;
}

/* The second pass: every record, in batches. */
static hs_status
send_all(hs_client *c, const char *path, hs_progress_fn progress, void *arg,
    int64_t timeout_ms, struct hs_wayback_stats *s, hs_error *err)
{
	struct bk_file b;
	char why[160];
	uint64_t count = 0, done = 0;
	Hs__PhotoRecord **batch = calloc(BK_BATCH, sizeof(*batch));
	size_t n = 0;
	hs_status st = batch == NULL ?
	    hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory") :
	    open_checked(&b, path, err);
	if (st != HS_OK) {
		free(batch);
		return st;
	}
	for (int rc = 1; st == HS_OK && rc == 1;) {
		rc = read_next(&b, &batch[n], &count, why, sizeof(why));
		if (rc < 0) /* changed since verify() */
			st = hsi_err(err, HS_DATA_LOSS, "backup %s: %s", path,
			    why);
		if (rc == 1)
			n++;
		if (st == HS_OK && n > 0 && (n == BK_BATCH || rc == 0)) {
			st = send_batch(c, batch, n, timeout_ms, s, err);
			done += n;
			if (progress != NULL)
				progress(arg, done, s->records);
		}
		if (n == BK_BATCH || rc != 1) {
			for (size_t i = 0; i < n; i++)
				hs__photo_record__free_unpacked(batch[i], NULL);
			n = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		hs__photo_record__free_unpacked(batch[i], NULL);
	bk_close(&b);
	free(batch);
	return st;
}

hs_status
hs_restore(hs_client *c, const char *path, hs_progress_fn progress, void *arg,
    int64_t timeout_ms, struct hs_wayback_stats *out, hs_error *err)
{
	struct hs_wayback_stats s = { 0 };
	hs_status st = verify(path, &s, err);
	if (st == HS_OK)
		st = send_all(c, path, progress, arg, timeout_ms, &s, err);
	if (st == HS_OK && out != NULL)
		*out = s;
	return st;
}
