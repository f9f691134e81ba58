/* Group commit and rollback for one volume.
 *
 * Appenders write under se->append_mu, publish their end offset, drop the
 * mutex and call vol_sync_wait. The first waiter that finds no sync running
 * becomes the leader: it fdatasyncs everything appended so far, advances
 * `synced` and wakes all waiters; whoever is still not covered elects the
 * next leader. So N concurrent putters share about two fdatasyncs.
 *
 * A failed fdatasync is never retried as if nothing happened (the kernel
 * may have dropped the dirty pages): the leader takes append_mu, truncates
 * the file back to `synced`, removes the rolled-back needles from the index
 * (undoing rolled-back deletes), empties the hint file and bumps
 * `rollbacks`, which fails every waiter not already covered. If the
 * truncate itself fails the volume turns read-only until reopened. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "engine_impl.h"
#include "le.h"
#include "vio.h"

void
vol_publish_append(struct vol *v, uint64_t end, uint64_t *rollbacks)
{
	pthread_mutex_lock(&v->sync_mu);
	v->appended = end;
	*rollbacks = v->rollbacks;
	pthread_mutex_unlock(&v->sync_mu);
}

/* Newest entry for key, ignoring v's entries at or past good8 (they are
 * being rolled back). idx_lock held. */
static int
vol_find_below(struct store_engine *se, struct vol *v, uint32_t good8,
    uint64_t key, struct vol **x, uint32_t *val)
{
	for (size_t i = se->nvols; i-- > 0;) {
		struct vol *c = se->vols[i];
		if (vidx_find(&c->idx, key, val, NULL) &&
		    (c != v || (*val & VIDX_OFF_MASK) < good8)) {
			*x = c;
			return 1;
		}
	}
	return 0;
}

/* The entry a rolled-back delete record superseded: the one its payload
 * names when that is in v below the cut (the record took over its slot in
 * v's index), else the newest entry left. */
static int
vol_undo_target(struct store_engine *se, struct vol *v, uint32_t good8,
    uint64_t key, const struct delrec *d, struct vol **x, uint32_t *val)
{
	if (d->vol_id == v->sb.vol_id && d->off8 && d->off8 < good8) {
		*x = v;
		*val = d->off8 | VIDX_DELETED;
		return 1;
	}
	return vol_find_below(se, v, good8, key, x, val) &&
	    (*val & VIDX_DELETED);
}

/* Clears the tombstone a rolled-back delete record had set. */
static void
vol_undo_delete(struct store_engine *se, struct vol *v, uint32_t good8,
    uint64_t key, const struct delrec *d)
{
	struct vol *x;
	uint32_t val;
	struct needle_hdr h;
	if (!vol_undo_target(se, v, good8, key, d, &x, &val))
		return;
	uint64_t off = (uint64_t)(val & VIDX_OFF_MASK) * NEEDLE_ALIGN;
	if (vol_read_hdr(x->vf->fd, off, &h))
		return;
	if (h.flags & NEEDLE_F_DELREC) { /* an earlier delete stands */
		vidx_set(&x->idx, key, val, needle_len8(h.size));
		return;
	}
	uint64_t total = needle_total_size(h.size);
	vidx_set(&x->idx, key, val & ~VIDX_DELETED, needle_len8(h.size));
	x->dead_n--;
	x->dead_bytes -= total;
	x->live_n++;
	x->live_bytes += total;
	uint8_t fl[2];
	le_put16(fl, (uint16_t)(h.flags & ~NEEDLE_F_DELETED));
	struct iovec iov = { fl, 2 };
	vio_pwritev(x->vf->fd, &iov, 1, (off_t)(off + NEEDLE_HDR_FLAGS_OFF));
}

/* Counters of a rolled-back data needle, by its current index state. */
static void
vol_unaccount(struct vol *v, const struct needle_hdr *h, uint64_t off)
{
	uint32_t val;
	uint64_t total = needle_total_size(h->size);
	if (!vidx_find(&v->idx, h->key, &val, NULL) ||
	    (uint64_t)(val & VIDX_OFF_MASK) * NEEDLE_ALIGN != off)
		return;
	if (val & VIDX_DELETED) {
		v->dead_n--;
		v->dead_bytes -= total;
	} else {
		v->live_n--;
		v->live_bytes -= total;
	}
}

/* Index side of a rollback: idx_lock held for writing. */
static int
vol_rollback_index(struct store_engine *se, struct vol *v, uint64_t good,
    const uint8_t *tail, size_t len)
{
	uint32_t good8 = (uint32_t)(good / NEEDLE_ALIGN);
	for (size_t p = 0; p + NEEDLE_HDR_SIZE <= len;) {
		struct needle_hdr h;
		if (needle_hdr_decode(tail + p, &h))
			break;
		uint64_t total = needle_total_size(h.size);
		if (h.flags & NEEDLE_F_DELREC) {
			v->tomb_n--;
			v->tomb_bytes -= total;
			struct delrec d = { 0, 0, 0, 0 };
			if (p + NEEDLE_HDR_SIZE + DELREC_DATA_SIZE <= len)
				delrec_decode(tail + p + NEEDLE_HDR_SIZE, &d);
			vol_undo_delete(se, v, good8, h.key, &d);
		} else {
			vol_unaccount(v, &h, good + p);
		}
		p += (size_t)total;
	}
	/* A read racing the cut may have marked an offset bad that a later
	 * needle will reuse. */
	size_t w = 0;
	for (size_t i = 0; i < se->nbad; i++)
		if (se->bad[i].vol != v->sb.vol_id || se->bad[i].off8 < good8)
			se->bad[w++] = se->bad[i];
	se->nbad = w;
	return vidx_drop_from(&v->idx, good8);
}

int
vol_rollback_to(struct store_engine *se, struct vol *v, uint64_t good)
{
	size_t len = (size_t)(v->end - good);
	uint8_t *tail = len ? malloc(len) : NULL;
	int rc = 0;
	if (len &&
	    (!tail ||
		vio_pread(v->vf->fd, tail, len, (off_t)good) != (ssize_t)len))
		rc = -EIO;
	pthread_rwlock_wrlock(&se->idx_lock);
	if (!rc)
		rc = vol_rollback_index(se, v, good, tail, len);
	if (!rc)
		rc = vio_ftruncate(v->vf->fd, (off_t)good);
	if (!rc)
		rc = vio_fdatasync(v->vf->fd);
	if (rc)
		atomic_store(&v->readonly, 1);
	else
		v->end = good;
	pthread_rwlock_unlock(&se->idx_lock);
	free(tail);
	vol_hint_disable(se, v);
	pthread_mutex_lock(&v->sync_mu);
	v->appended = v->end;
	v->rb_good = good;
	v->rollbacks++;
	pthread_mutex_unlock(&v->sync_mu);
	return rc;
}

/* Leader only, no lock held: roll the unsynced tail back after a failure.
 * In STORE_SYNC_NONE mode appends were acknowledged before any sync, so
 * nothing may be truncated: the volume turns read-only instead. */
static void
vol_sync_failed(struct store_engine *se, struct vol *v)
{
	if (se->opt.sync_mode == STORE_SYNC_NONE) {
		atomic_store(&v->readonly, 1);
		return;
	}
	pthread_mutex_lock(&se->append_mu);
	pthread_mutex_lock(&v->sync_mu);
	uint64_t good = v->synced;
	pthread_mutex_unlock(&v->sync_mu);
	vol_rollback_to(se, v, good);
	pthread_mutex_unlock(&se->append_mu);
}

/* Leader: one fdatasync covering everything appended so far. */
static int
vol_sync_lead(struct store_engine *se, struct vol *v, uint64_t *target)
{
	pthread_rwlock_rdlock(&se->idx_lock);
	struct vol_file *vf = v->vf;
	vol_file_ref(vf);
	pthread_rwlock_unlock(&se->idx_lock);
	pthread_mutex_lock(&v->sync_mu);
	*target = v->appended;
	pthread_mutex_unlock(&v->sync_mu);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = vio_fdatasync(vf->fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vol_file_unref(vf);
	if (se->opt.on_sync != NULL)
		se->opt.on_sync(se->opt.on_sync_arg,
		    (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
			(t1.tv_nsec - t0.tv_nsec)));
	if (rc)
		vol_sync_failed(se, v);
	return rc;
}

int
vol_sync_wait(struct store_engine *se, struct vol *v, uint64_t end,
    uint64_t rollbacks_seen)
{
	pthread_mutex_lock(&v->sync_mu);
	for (;;) {
		/* A rollback since our append: the offsets past rb_good were
		 * cut and may now hold other needles, so `synced` says
		 * nothing about ours. Only the first rollback's cut point is
		 * known; after two, fail (an unacknowledged durable write is
		 * safe: resends are idempotent). */
		if (v->rollbacks != rollbacks_seen) {
			int ok = v->rollbacks == rollbacks_seen + 1 &&
			    end <= v->rb_good;
			pthread_mutex_unlock(&v->sync_mu);
			return ok ? 0 : -EIO;
		}
		if (v->synced >= end)
			break;
		if (v->syncing) {
			pthread_cond_wait(&v->sync_cv, &v->sync_mu);
			continue;
		}
		v->syncing = 1;
		pthread_mutex_unlock(&v->sync_mu);
		uint64_t target = 0;
		int rc = vol_sync_lead(se, v, &target);
		pthread_mutex_lock(&v->sync_mu);
		v->syncing = 0;
		if (!rc && target > v->synced)
			v->synced = target;
		pthread_cond_broadcast(&v->sync_cv);
		if (rc) { /* the leader reports its own failure */
			pthread_mutex_unlock(&v->sync_mu);
			return rc;
		}
	}
	pthread_mutex_unlock(&v->sync_mu);
	return 0;
}

int
vol_sync_all(struct store_engine *se, struct vol *v)
{
	pthread_mutex_lock(&v->sync_mu);
	uint64_t end = v->appended, seen = v->rollbacks;
	pthread_mutex_unlock(&v->sync_mu);
	return vol_sync_wait(se, v, end, seen);
}
