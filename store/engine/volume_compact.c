/* Compaction of one sealed volume, run by whichever thread calls
 * store_engine_compact (one at a time, under se->compact_mu).
 *
 * Protocol:
 *   1. Wait until the volume is fully synced; it is sealed, so nothing new
 *      is appended to it (deletes only flip index bits and header flags).
 *   2. Copy, in file order, every live needle and every delete record
 *      (delete records are kept forever, so a deleted key never comes back)
 *      into vol_N.cpt, whose superblock carries gen + 1. fdatasync it.
 *      Reads keep using the old file meanwhile.
 *   3. Under the index write lock (short): re-check every copied needle
 *      against the index, so a delete that landed during step 2 is carried
 *      over (index bit + header flag in the new file); rename .cpt over
 *      .dat; fsync the directory; swap the file handle and the index.
 *      Readers that pinned the old handle finish on the old inode.
 *   4. Rewrite the hint file for the new generation.
 *
 * Crash at any point: before the rename the old file is intact and the
 * .cpt is removed at the next open; after it the new file is complete and
 * fsynced. A hint file of the old generation is rejected (gen mismatch) and
 * rebuilt by a scan. Either way both files on disk are valid volumes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "engine_impl.h"
#include "engine_testing.h"
#include "le.h"
#include "vio.h"

static void (*cpt_hook)(void *);
static void *cpt_hook_arg;

void
store_engine_testing_compact_hook(void (*fn)(void *arg), void *arg)
{
	cpt_hook = fn;
	cpt_hook_arg = arg;
}

struct cpt_rec {
	uint64_t key;
	uint32_t old8, new8, size;
	uint16_t flags;
	uint8_t bad;
};

struct cpt {
	struct vol *v;
	struct vol_file *src;
	int fd;
	char tmp[4096];
	struct superblock sb;
	struct cpt_rec *recs;
	size_t n, cap;
	uint64_t end;
	int64_t retain_until; /* earliest end of a kept needle's retention */
};

static int
cpt_push(struct cpt *c, const struct cpt_rec *r)
{
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1024;
		struct cpt_rec *nr = realloc(c->recs, nc * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		c->recs = nr;
		c->cap = nc;
	}
	c->recs[c->n++] = *r;
	return 0;
}

/* What compaction does with one needle of the volume. */
enum cpt_fate {
	CPT_DROP,
	CPT_COPY,
	/* A deleted needle past DELETE_RETENTION whose only tombstone is its
	 * own flag (its delete record was lost, or predates kinds being
	 * recorded): dropped, and a delete record written in its place so
	 * the key stays deleted. */
	CPT_TOMBSTONE,
};

/* A deleted needle of key (idx_lock held): kept while its delete is
 * younger than the retention (so rebuild and operators can still find
 * it). The delete's time is bounded by the last append to the volume
 * holding the key's newest entry (never earlier than the delete). */
static enum cpt_fate
cpt_deleted_fate(struct store_engine *se, struct cpt *c, uint64_t key)
{
	struct vol *x = c->v;
	uint32_t val;
	int own = !se_find(se, key, &x, &val, NULL) || x == c->v;
	int64_t now = rt_now_ms();
	int64_t until = atomic_load(&x->written_ms) +
	    se->opt.delete_retention_ms;
	if (now < until) {
		if (!c->retain_until || until < c->retain_until)
			c->retain_until = until;
		return CPT_COPY;
	}
	return own ? CPT_TOMBSTONE : CPT_DROP;
}

/* Delete records are always kept; a data needle while it is the live
 * entry of its key in this volume, or deleted but still retained. */
static enum cpt_fate
cpt_fate(struct store_engine *se, struct cpt *c, const struct needle_hdr *h,
    uint32_t off8, int *bad)
{
	uint32_t val;
	if (h->flags & NEEDLE_F_DELREC)
		return CPT_COPY;
	pthread_rwlock_rdlock(&se->idx_lock);
	enum cpt_fate f = CPT_DROP;
	if (vidx_find(&c->v->idx, h->key, &val, NULL) &&
	    (val & VIDX_OFF_MASK) == off8)
		f = !(val & VIDX_DELETED) ? CPT_COPY :
					    cpt_deleted_fate(se, c, h->key);
	else if (h->flags & NEEDLE_F_DELETED) /* superseded in this volume */
		f = cpt_deleted_fate(se, c, h->key) == CPT_COPY ? CPT_COPY :
								  CPT_DROP;
	*bad = se_bad_has(se, c->v->sb.vol_id, off8);
	pthread_rwlock_unlock(&se->idx_lock);
	return f;
}

/* Appends one needle's bytes to the .cpt and records where it went. */
static int
cpt_emit(struct cpt *c, const uint8_t *p, const struct needle_hdr *h,
    uint32_t old8, int bad)
{
	uint64_t total = needle_total_size(h->size);
	struct iovec iov = { (void *)p, (size_t)total };
	struct cpt_rec rec = { h->key, old8, (uint32_t)(c->end / NEEDLE_ALIGN),
		h->size, (uint16_t)(h->flags & NEEDLE_F_DELREC), (uint8_t)bad };
	int rc = p ? vio_pwritev(c->fd, &iov, 1, (off_t)c->end) : -EIO;
	if (!rc && (rc = cpt_push(c, &rec)) == 0)
		c->end += total;
	return rc;
}

/* The delete record written for a dropped needle whose flag was its only
 * tombstone: kind unknown, which counts as a final delete. */
static int
cpt_emit_tombstone(struct cpt *c, const struct needle_hdr *h, uint32_t old8)
{
	uint8_t buf[NEEDLE_HDR_SIZE + DELREC_DATA_SIZE + NEEDLE_EXT_SIZE + 16];
	uint8_t *p = buf + NEEDLE_HDR_SIZE;
	uint32_t ext = needle_ext_size(c->sb.version);
	struct needle_hdr dh = { h->cookie, h->key, NEEDLE_F_DELREC,
		DELREC_DATA_SIZE + ext };
	struct delrec d = { c->v->sb.vol_id, old8, h->size, STORE_DEL_UNKNOWN };
	struct needle_ext ne = { rt_now_ms(), { 0 } };
	needle_hdr_encode(buf, &dh);
	delrec_encode(p, &d);
	needle_ext_encode(p + DELREC_DATA_SIZE, &ne); /* v1: not written */
	needle_ftr_encode(p + dh.size, dh.size, crc32c(0, p, dh.size));
	return cpt_emit(c, buf, &dh, old8, 0);
}

/* Step 2: copy what survives into the .cpt file. */
static int
cpt_copy(struct store_engine *se, struct cpt *c, uint64_t end)
{
	struct vol_scan s = { c->src->fd, end, NULL, 0, 0, 0, 0 };
	uint64_t off = SB_SIZE;
	int rc = 0;
	while (!rc && off < end) {
		struct needle_hdr h = { 0, 0, 0, 0 };
		enum nv_result r = vol_scan_needle(&s, off, &h);
		if (r == NV_BAD) { /* a damaged region recovery skipped over */
			off = vol_scan_next_valid(&s, off + NEEDLE_ALIGN);
			off = off ? off : end;
			continue;
		}
		uint64_t total = needle_total_size(h.size);
		int bad = r == NV_BADCRC;
		uint32_t old8 = (uint32_t)(off / NEEDLE_ALIGN);
		enum cpt_fate f = cpt_fate(se, c, &h, old8, &bad);
		if (f == CPT_COPY)
			rc = cpt_emit(c, vol_scan_get(&s, off, (size_t)total),
			    &h, old8, bad);
		else if (f == CPT_TOMBSTONE)
			rc = cpt_emit_tombstone(c, &h, old8);
		off += total;
	}
	free(s.buf);
	if (!rc && s.err)
		rc = s.err; /* never drop needles we merely failed to read */
	return rc ? rc : vio_fdatasync(c->fd);
}

static int
cpt_open(struct store_engine *se, struct cpt *c)
{
	uint8_t buf[SB_SIZE];
	vol_path(se, c->v->sb.vol_id, "cpt", c->tmp, sizeof(c->tmp));
	c->fd = open(c->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->fd < 0)
		return -errno;
	c->sb = c->v->sb;
	c->sb.gen++;
	sb_encode(buf, &c->sb);
	struct iovec iov = { buf, SB_SIZE };
	c->end = SB_SIZE;
	return vio_pwritev(c->fd, &iov, 1, 0);
}

static int
cpt_kv_cmp(const void *a, const void *b)
{
	const struct idx_kv *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->val & VIDX_OFF_MASK) < (y->val & VIDX_OFF_MASK) ? -1 : 1;
}

/* Step 3a (idx_lock held for writing): carry over deletes made during the
 * copy and build the new index; one entry per key, the newest in file
 * order (a delete record after its needle, a needle stored again after a
 * trim's record). A copied data needle that is not its key's live entry
 * (deleted during the copy, or kept for DELETE_RETENTION) is flagged. */
static int
cpt_build_index(struct cpt *c, struct idx_kv **out, size_t *n)
{
	struct idx_kv *kv = malloc((c->n ? c->n : 1) * sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct cpt_rec *r = &c->recs[i];
		uint32_t val;
		int live = vidx_find(&c->v->idx, r->key, &val, NULL) &&
		    (val & VIDX_OFF_MASK) == r->old8 && !(val & VIDX_DELETED);
		if (!(r->flags & NEEDLE_F_DELREC) && !live) {
			uint8_t fl[2];
			r->flags |= NEEDLE_F_DELETED;
			le_put16(fl, r->flags);
			struct iovec iov = { fl, 2 };
			vio_pwritev(c->fd, &iov, 1,
			    (off_t)r->new8 * NEEDLE_ALIGN +
				NEEDLE_HDR_FLAGS_OFF);
		}
		int del = (r->flags & (NEEDLE_F_DELREC | NEEDLE_F_DELETED)) !=
		    0;
		kv[k++] = (struct idx_kv){ r->key,
			r->new8 | (del ? VIDX_DELETED : 0),
			needle_len8(r->size) };
	}
	qsort(kv, k, sizeof(*kv), cpt_kv_cmp);
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (i + 1 == k || kv[i + 1].key != kv[i].key)
			kv[w++] = kv[i];
	*out = kv;
	*n = w;
	return 0;
}

/* Step 3b: counters and bad set follow the new offsets. */
static void
cpt_account(struct store_engine *se, struct cpt *c)
{
	struct vol *v = c->v;
	v->live_n = v->live_bytes = v->dead_n = v->dead_bytes = 0;
	v->tomb_n = v->tomb_bytes = 0;
	size_t w = 0;
	for (size_t i = 0; i < se->nbad; i++)
		if (se->bad[i].vol != v->sb.vol_id)
			se->bad[w++] = se->bad[i];
	se->nbad = w;
	for (size_t i = 0; i < c->n; i++) {
		const struct cpt_rec *r = &c->recs[i];
		uint64_t total = needle_total_size(r->size);
		if (r->flags & NEEDLE_F_DELREC) {
			v->tomb_n++;
			v->tomb_bytes += total;
		} else if (r->flags & NEEDLE_F_DELETED) {
			v->dead_n++;
			v->dead_bytes += total;
		} else {
			v->live_n++;
			v->live_bytes += total;
		}
		if (r->bad)
			se_bad_add(se, v->sb.vol_id, r->new8);
	}
}

static int
cpt_swap(struct store_engine *se, struct cpt *c)
{
	char path[4096];
	struct idx_kv *kv = NULL;
	size_t n = 0;
	struct vidx nidx;
	vidx_init(&nidx);
	struct vol_file *nvf = vol_file_new(c->fd, c->sb.version);
	if (!nvf)
		return -ENOMEM;
	vol_path(se, c->v->sb.vol_id, "dat", path, sizeof(path));
	pthread_rwlock_wrlock(&se->idx_lock);
	struct vol_file *old = c->v->vf;
	int rc = cpt_build_index(c, &kv, &n);
	if (!rc)
		rc = vidx_replace_sorted(&nidx, kv, n);
	if (!rc)
		rc = rename(c->tmp, path) ? -errno : 0; /* the commit point */
	if (!rc) {
		vio_fsync_dir(se->dir);
		vidx_free(&c->v->idx);
		c->v->idx = nidx;
		c->v->vf = nvf;
		c->v->sb = c->sb;
		c->v->end = c->end;
		c->v->compact_after_ms = c->retain_until;
		cpt_account(se, c);
	}
	pthread_rwlock_unlock(&se->idx_lock);
	free(kv);
	if (rc) {
		vidx_free(&nidx);
		free(nvf); /* its fd stays c->fd, for the caller to unlink */
		return rc;
	}
	c->fd = -1;
	pthread_mutex_lock(&c->v->sync_mu);
	c->v->appended = c->v->synced = c->end;
	pthread_mutex_unlock(&c->v->sync_mu);
	vol_file_unref(old);
	return 0;
}

static void
cpt_write_hints(struct store_engine *se, struct cpt *c)
{
	struct hint_rec *h = malloc((c->n ? c->n : 1) * sizeof(*h));
	if (!h)
		return;
	for (size_t i = 0; i < c->n; i++)
		h[i] = (struct hint_rec){ c->recs[i].key, c->recs[i].new8,
			c->recs[i].size, c->recs[i].flags };
	vol_hint_rewrite(se, c->v, h, c->n);
	free(h);
}

static int
se_compact_locked(struct store_engine *se, uint32_t id)
{
	struct cpt c;
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	pthread_rwlock_rdlock(&se->idx_lock);
	c.v = se_vol_by_id(se, id);
	int rc = !c.v			   ? STORE_E_NOT_FOUND :
	    c.v == se->vols[se->nvols - 1] ? STORE_E_BUSY :
					     0;
	pthread_rwlock_unlock(&se->idx_lock);
	if (!rc)
		rc = vol_sync_all(se, c.v);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&se->idx_lock);
	c.src = c.v->vf;
	vol_file_ref(c.src);
	uint64_t end = c.v->end;
	pthread_rwlock_unlock(&se->idx_lock);
	rc = cpt_open(se, &c);
	if (!rc)
		rc = cpt_copy(se, &c, end);
	if (!rc && cpt_hook)
		cpt_hook(cpt_hook_arg);
	if (!rc)
		rc = cpt_swap(se, &c);
	if (!rc)
		cpt_write_hints(se, &c);
	if (c.fd >= 0) {
		close(c.fd);
		unlink(c.tmp);
	}
	vol_file_unref(c.src);
	free(c.recs);
	return rc;
}

int
store_engine_compact(struct store_engine *se, uint32_t volume)
{
	pthread_mutex_lock(&se->compact_mu);
	int rc = se_compact_locked(se, volume);
	pthread_mutex_unlock(&se->compact_mu);
	if (rc == 0)
		atomic_fetch_add(&se->compactions, 1);
	return rc;
}

int
store_engine_compact_due(struct store_engine *se)
{
	uint32_t ids[256];
	size_t n = 0;
	int64_t now = rt_now_ms();
	pthread_rwlock_rdlock(&se->idx_lock);
	for (size_t i = 0; i + 1 < se->nvols && n < 256; i++) {
		const struct vol *v = se->vols[i];
		double used = (double)(v->end - SB_SIZE);
		double keep = (double)(v->live_bytes + v->tomb_bytes);
		/* Deleted bytes kept for the retention: nothing to gain before
		 * the first of them expires. */
		if (v->compact_after_ms && now < v->compact_after_ms)
			continue;
		if (used > 0 && keep / used < se->opt.compaction_threshold)
			ids[n++] = v->sb.vol_id;
	}
	pthread_rwlock_unlock(&se->idx_lock);
	int done = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = store_engine_compact(se, ids[i]);
		if (rc)
			return rc;
		done++;
	}
	return done;
}
