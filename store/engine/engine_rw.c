/* The write path: put (append + group commit) and delete (in-place flag +
 * delete record); reads are in engine_read.c. The commit point
 * of a put or delete is the fdatasync in vol_sync_wait; nothing is
 * acknowledged before it, and a failed write or sync rolls the tail back. */
#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crc32c.h"
#include "engine_impl.h"
#include "le.h"
#include "vio.h"

static struct vol *
se_active(struct store_engine *se)
{
	return se->vols[se->nvols - 1];
}

/* Seals the active volume and starts the next one (append_mu held). */
static int
se_roll_over(struct store_engine *se)
{
	struct vol *old = se_active(se), *nv;
	int rc = vol_create(se, old->sb.vol_id + 1, &nv);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&se->idx_lock);
	size_t n = se->nvols;
	rc = se_vols_push(se, nv);
	if (!rc) {
		old->sealed = 1;
		vidx_seal(&old->idx); /* on ENOMEM the memtable simply stays */
	}
	pthread_rwlock_unlock(&se->idx_lock);
	if (rc || se->nvols == n) {
		vol_free(nv);
		return rc ? rc : -ENOMEM;
	}
	if (old->hint_fd >= 0) {
		close(old->hint_fd);
		old->hint_fd = -1;
	}
	return 0;
}

/* What a needle carries: its bytes (len, CRC) and, in a v2 volume, the
 * SHA-256 its extension records (NULL: zeros, for delete records). */
struct se_payload {
	const void *data;
	uint32_t len, crc;
	const uint8_t *sha256;
};

/* Encodes and writes one needle at off in v (v2: with its extension) and
 * sets h->size to what the header says. */
static int
se_write_needle(struct vol *v, struct needle_hdr *h, const struct se_payload *p,
    int64_t now_ms, uint64_t off)
{
	uint8_t hb[NEEDLE_HDR_SIZE], eb[NEEDLE_EXT_SIZE], fb[16];
	struct needle_ext ne = { now_ms, { 0 } };
	uint32_t ext = v->vf->ext;
	if (p->sha256)
		memcpy(ne.sha256, p->sha256, sizeof(ne.sha256));
	needle_ext_encode(eb, &ne);
	h->size = p->len + ext;
	needle_hdr_encode(hb, h);
	size_t flen = needle_ftr_encode(fb, h->size, crc32c(p->crc, eb, ext));
	struct iovec iov[4] = { { hb, sizeof(hb) }, { (void *)p->data, p->len },
		{ eb, ext }, { fb, flen } };
	return vio_pwritev(v->vf->fd, iov, 4, (off_t)off);
}

/* Writes one needle at the end of the active volume and indexes it
 * (append_mu held). Not yet durable: the caller waits in vol_sync_wait. */
static int
se_append(struct store_engine *se, struct needle_hdr h,
    const struct se_payload *p, struct se_appended *a)
{
	struct vol *v = se_active(se);
	if (v->end + needle_total_size(p->len + v->vf->ext) >
		se->opt.max_volume_size &&
	    v->end > SB_SIZE) {
		int rc = se_roll_over(se);
		if (rc)
			return rc;
		v = se_active(se);
	}
	if (atomic_load(&v->readonly))
		return STORE_E_READONLY;
	uint64_t off = v->end;
	int64_t now = rt_now_ms();
	int rc = se_write_needle(v, &h, p, now, off);
	struct hint_rec rec = { h.key, (uint32_t)(off / NEEDLE_ALIGN), h.size,
		h.flags };
	if (!rc) {
		/* Before the needle is indexed, so a listing never pairs it
		 * with an older time; read after the write, so a v1 needle's
		 * time (its volume's) is never before it. */
		atomic_store(&v->written_ms, rt_now_ms());
		pthread_rwlock_wrlock(&se->idx_lock);
		rc = se_index_needle(se, v, &rec);
		if (!rc)
			v->end = off + needle_total_size(h.size);
		pthread_rwlock_unlock(&se->idx_lock);
	}
	if (rc) { /* never leave a half needle behind an acknowledged one */
		if (vio_ftruncate(v->vf->fd, (off_t)off))
			atomic_store(&v->readonly, 1);
		return rc;
	}
	vol_hint_append(v, &rec);
	vol_publish_append(v, v->end, &a->rollbacks);
	a->v = v;
	a->off = off;
	a->end = v->end;
	return 0;
}

int
se_wait(struct store_engine *se, const struct se_appended *a)
{
	if (se->opt.sync_mode == STORE_SYNC_NONE)
		return 0;
	return vol_sync_wait(se, a->v, a->end, a->rollbacks);
}

static int
se_wait_v(struct store_engine *se, struct vol *v)
{
	return se->opt.sync_mode == STORE_SYNC_NONE ? 0 : vol_sync_all(se, v);
}

/* Waits until the volume holding key's newest entry is durable: where a
 * resent put's needle or a resent delete's record was written, which need
 * not be the active volume after a roll-over. */
static int
se_wait_key(struct store_engine *se, uint64_t key)
{
	struct vol *v;
	uint32_t val;
	pthread_rwlock_rdlock(&se->idx_lock);
	v = se_find(se, key, &v, &val, NULL) ? v : NULL;
	pthread_rwlock_unlock(&se->idx_lock);
	return v ? se_wait_v(se, v) : STORE_E_NOT_FOUND;
}

static int
se_kind_final(uint8_t kind)
{
	return kind != STORE_DEL_TRIM && kind != STORE_DEL_ORPHAN;
}

/* Put of a key that is already live: success only for an identical resend,
 * and only once the earlier copy is durable. */
int
se_put_existing(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len)
{
	struct store_read r;
	int rc = store_engine_read(se, key, cookie, &r);
	if (rc == STORE_E_NOT_FOUND ||
	    (!rc && (r.len != len || memcmp(r.data, data, len))))
		rc = STORE_E_EXISTS;
	store_read_free(&r);
	return rc ? rc : se_wait_key(se, key);
}

/* Put of a deleted key (append_mu held): 0 when it may be stored again
 * (trimmed or orphaned here, same cookie), else why not. */
static int
se_put_deleted(struct vol_file *vf, uint64_t off, uint32_t cookie)
{
	struct needle_hdr h;
	struct delrec d;
	int rc = se_read_delete(vf->fd, off, &h, &d);
	if (rc)
		return rc;
	if (se_kind_final(d.kind))
		return STORE_E_DELETED;
	return h.cookie == cookie ? 0 : STORE_E_EXISTS;
}

/* The checks that need no lock and read no byte of data, so a request
 * too big for a volume is refused before its bytes are hashed. */
static int
put_check(const struct store_engine *se, const void *data, size_t len)
{
	if (!data && len)
		return STORE_E_INVALID;
	if (len > UINT32_MAX - NEEDLE_EXT_SIZE ||
	    SB_SIZE + needle_total_size((uint32_t)len + NEEDLE_EXT_SIZE) >
		se->opt.max_volume_size)
		return STORE_E_TOO_BIG;
	return 0;
}

int
se_put_append(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len, const uint8_t sha256[32],
    struct se_appended *a)
{
	int rc = put_check(se, data, len);
	if (rc != 0)
		return rc;
	struct se_payload p = { data, (uint32_t)len, crc32c(0, data, len),
		sha256 };
	struct needle_hdr h = { cookie, key, 0, 0 };
	struct se_loc l;
	pthread_mutex_lock(&se->append_mu);
	/* A live key is a resend or a conflict; a deleted one is refused
	 * unless it was only trimmed or orphaned; a known-bad copy
	 * (DATA_LOSS) is replaced by appending a fresh one. */
	rc = se_pin(se, key, &l);
	int deleted = rc == 0 && (l.val & VIDX_DELETED);
	if (deleted)
		rc = se_put_deleted(l.vf, l.off, cookie);
	vol_file_unref(l.vf);
	if (rc == 0 && !deleted) {
		pthread_mutex_unlock(&se->append_mu);
		return 1;
	}
	if (rc && rc != STORE_E_NOT_FOUND && rc != STORE_E_DATA_LOSS) {
		pthread_mutex_unlock(&se->append_mu);
		return rc;
	}
	rc = se_append(se, h, &p, a);
	pthread_mutex_unlock(&se->append_mu);
	return rc;
}

int
store_engine_put_sha(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len, const uint8_t sha256[32])
{
	struct se_appended a;
	int rc = se_put_append(se, key, cookie, data, len, sha256, &a);
	if (rc == 1)
		return se_put_existing(se, key, cookie, data, len);
	return rc ? rc : se_wait(se, &a);
}

int
store_engine_put(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len)
{
	uint8_t sha[SHA256_DIGEST_LENGTH];
	int rc = put_check(se, data, len);
	if (rc != 0)
		return rc;
	SHA256(data ? data : (const void *)"", len, sha);
	return store_engine_put_sha(se, key, cookie, data, len, sha);
}

/* Sets the deleted flag in the needle header in place (advisory: the
 * delete record is what makes the delete durable). */
static void
se_flag_deleted(int fd, uint64_t off, const struct needle_hdr *h)
{
	uint8_t fl[2];
	le_put16(fl, (uint16_t)(h->flags | NEEDLE_F_DELETED));
	struct iovec iov = { fl, 2 };
	vio_pwritev(fd, &iov, 1, (off_t)(off + NEEDLE_HDR_FLAGS_OFF));
}

/* A disk too full even for a delete record (append_mu held): the needle's
 * own deleted flag is the tombstone, written in place (no new blocks) and
 * made durable, and the volume's hint file goes so that its next open
 * rescans it and sees the flag; compaction writes the record once there is
 * room (a flag-only delete reads as a final DELETE). Only for DELETE: a
 * trim or an orphan removal can wait for room, a user's delete cannot. */
static int
se_delete_in_place(struct store_engine *se, uint64_t key, struct vol_file *vf,
    uint64_t off, uint32_t vol_id, const struct needle_hdr *h)
{
	uint8_t fl[2];
	le_put16(fl, (uint16_t)(h->flags | NEEDLE_F_DELETED));
	struct iovec iov = { fl, 2 };
	int rc = vio_pwritev(vf->fd, &iov, 1,
	    (off_t)(off + NEEDLE_HDR_FLAGS_OFF));
	if (rc == 0)
		rc = vio_fdatasync(vf->fd);
	if (rc)
		return rc;
	/* Under the index lock for writing, which guards the volume list: a
	 * rare path (a full disk), so the unlink and its sync may hold it. */
	pthread_rwlock_wrlock(&se->idx_lock);
	rc = vol_hint_drop(se, se_vol_by_id(se, vol_id), vol_id);
	if (rc == 0)
		rc = se_mark_deleted(se, key);
	pthread_rwlock_unlock(&se->idx_lock);
	return rc;
}

/* Appends the delete record for key (append_mu held): *d names the
 * entry it supersedes, h the header of what it deletes. */
static int
se_append_delrec(struct store_engine *se, const struct needle_hdr *h,
    uint64_t key, const struct delrec *d, struct se_appended *a)
{
	uint8_t payload[DELREC_DATA_SIZE];
	delrec_encode(payload, d);
	struct needle_hdr dh = { h->cookie, key, NEEDLE_F_DELREC,
		DELREC_DATA_SIZE };
	struct se_payload p = { payload, sizeof(payload),
		crc32c(0, payload, sizeof(payload)), NULL };
	return se_append(se, dh, &p, a);
}

/* A delete of a key already deleted (append_mu held, released here):
 * a resend waits for the first record to be durable; a DELETE of a key
 * only trimmed or orphaned appends a final record. */
static int
se_delete_again(struct store_engine *se, uint64_t key, uint8_t kind,
    struct vol_file *vf, uint64_t off, uint32_t vol_id)
{
	struct needle_hdr h;
	struct delrec old,
	    d = { vol_id, (uint32_t)(off / NEEDLE_ALIGN), 0, kind };
	struct se_appended a;
	int rc = se_read_delete(vf->fd, off, &h, &old);
	if (rc || kind != STORE_DEL_DELETE || se_kind_final(old.kind)) {
		pthread_mutex_unlock(&se->append_mu);
		return rc ? rc : se_wait_key(se, key);
	}
	d.size = h.size;
	rc = se_append_delrec(se, &h, key, &d, &a);
	pthread_mutex_unlock(&se->append_mu);
	return rc ? rc : se_wait(se, &a);
}

int
store_engine_delete_kind(struct store_engine *se, uint64_t key,
    enum store_delete_kind kind)
{
	struct se_loc l;
	struct needle_hdr h = { 0, key, 0, 0 };
	struct se_appended a;
	if (kind == STORE_DEL_UNKNOWN)
		kind = STORE_DEL_DELETE;
	if (kind > STORE_DEL_ORPHAN)
		return STORE_E_INVALID;
	pthread_mutex_lock(&se->append_mu);
	int rc = se_pin(se, key, &l);
	struct vol_file *vf = l.vf;
	uint64_t off = l.off;
	uint32_t vol_id = l.vol_id;
	if (rc == STORE_E_DATA_LOSS)
		rc = 0; /* a damaged needle can still be deleted */
	if (!rc && (l.val & VIDX_DELETED)) {
		rc = se_delete_again(se, key, (uint8_t)kind, vf, off, vol_id);
		vol_file_unref(vf);
		return rc;
	}
	if (!rc && vol_read_hdr(vf->fd, off, &h) == 0 && h.key != key)
		h = (struct needle_hdr){ 0, key, 0, 0 };
	struct delrec d = { vol_id, (uint32_t)(off / NEEDLE_ALIGN), h.size,
		(uint8_t)kind };
	if (!rc)
		rc = se_append_delrec(se, &h, key, &d, &a);
	if ((rc == -ENOSPC || rc == -EDQUOT) && kind == STORE_DEL_DELETE &&
	    h.key == key && h.size) {
		rc = se_delete_in_place(se, key, vf, off, vol_id, &h);
		pthread_mutex_unlock(&se->append_mu);
		vol_file_unref(vf);
		return rc;
	}
	pthread_mutex_unlock(&se->append_mu);
	if (!rc)
		rc = se_wait(se, &a);
	if ((rc == -ENOSPC || rc == -EDQUOT) && kind == STORE_DEL_DELETE &&
	    h.key == key && h.size) {
		/* The record was written but could not be made durable (a
		 * file system that allocates at sync): the same way out. */
		pthread_mutex_lock(&se->append_mu);
		rc = se_delete_in_place(se, key, vf, off, vol_id, &h);
		pthread_mutex_unlock(&se->append_mu);
		vol_file_unref(vf);
		return rc;
	}
	/* Advisory, so only once the record is durable: a crash can then
	 * never leave a flag without its record. */
	if (!rc && h.key == key && h.size)
		se_flag_deleted(vf->fd, off, &h);
	vol_file_unref(vf);
	return rc;
}

int
store_engine_delete(struct store_engine *se, uint64_t key)
{
	return store_engine_delete_kind(se, key, STORE_DEL_DELETE);
}
