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

/* Is the data needle at off8 the live entry of its key in this volume? */
static int
cpt_keep(struct store_engine *se, struct cpt *c, const struct needle_hdr *h,
    uint32_t off8, int *bad)
{
	uint32_t val;
	if (h->flags & NEEDLE_F_DELREC)
		return 1;
	pthread_rwlock_rdlock(&se->idx_lock);
	int keep = vidx_find(&c->v->idx, h->key, &val) &&
	    (val & VIDX_OFF_MASK) == off8 && !(val & VIDX_DELETED);
	*bad = se_bad_has(se, c->v->sb.vol_id, off8);
	pthread_rwlock_unlock(&se->idx_lock);
	return keep;
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
		if (cpt_keep(se, c, &h, (uint32_t)(off / NEEDLE_ALIGN), &bad)) {
			const uint8_t *p = vol_scan_get(&s, off, (size_t)total);
			struct iovec iov = { (void *)p, (size_t)total };
			struct cpt_rec rec = { h.key,
				(uint32_t)(off / NEEDLE_ALIGN),
				(uint32_t)(c->end / NEEDLE_ALIGN), h.size,
				(uint16_t)(h.flags & NEEDLE_F_DELREC),
				(uint8_t)bad };
			rc = p ? vio_pwritev(c->fd, &iov, 1, (off_t)c->end) :
				 -EIO;
			if (!rc && (rc = cpt_push(c, &rec)) == 0)
				c->end += total;
		}
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
 * copy and build the new index; one entry per key (its data needle wins
 * over a delete record in the same volume). */
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
		if (!(r->flags & NEEDLE_F_DELREC) &&
		    vidx_find(&c->v->idx, r->key, &val) &&
		    (val & VIDX_DELETED)) {
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
			r->new8 | (del ? VIDX_DELETED : 0) };
	}
	qsort(kv, k, sizeof(*kv), cpt_kv_cmp);
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (w == 0 || kv[w - 1].key != kv[i].key)
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
	struct vol_file *nvf = vol_file_new(c->fd);
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
	return rc;
}

int
store_engine_compact_due(struct store_engine *se)
{
	uint32_t ids[256];
	size_t n = 0;
	pthread_rwlock_rdlock(&se->idx_lock);
	for (size_t i = 0; i + 1 < se->nvols && n < 256; i++) {
		const struct vol *v = se->vols[i];
		double used = (double)(v->end - SB_SIZE);
		double keep = (double)(v->live_bytes + v->tomb_bytes);
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
