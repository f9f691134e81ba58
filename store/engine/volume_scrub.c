/* Background scrub: re-verifies needle CRCs a bounded number at a time, so
 * a caller's thread can pace it (e.g. N needles per tick). The cursor
 * (volume id, offset) lives in the engine and wraps around; a volume whose
 * file was swapped by compaction since the last step is restarted from its
 * first needle, and a needle found bad in a file swapped out meanwhile is
 * not reported (its offset means nothing in the new file). Bad needles
 * are reported through the callback and added to
 * the bad set, so reads of them return DATA_LOSS without touching disk. */
#include <stdlib.h>

#include "engine_impl.h"

/* Where to scrub next (idx_lock held): pins the file, returns the limit. */
static struct vol *
scrub_pick(struct store_engine *se, uint64_t *limit)
{
	for (size_t i = 0; i < se->nvols; i++) {
		struct vol *v = se->vols[i];
		if (v->sb.vol_id < se->scrub_vol)
			continue;
		if (v->sb.vol_id > se->scrub_vol || v->vf != se->scrub_vf) {
			se->scrub_vol = v->sb.vol_id;
			se->scrub_off = SB_SIZE;
			vol_file_unref(se->scrub_vf);
			se->scrub_vf = v->vf;
			vol_file_ref(v->vf);
		}
		*limit = v->end; /* every needle below end is whole */
		return v;
	}
	return NULL;
}

/* Reports a bad needle, unless compaction swapped the volume's file since
 * the scan read it: its offset would then name another needle of the new
 * file (the scan restarts on the new file and finds real damage there). */
static void
scrub_report(struct store_engine *se, store_scrub_cb cb, void *arg,
    uint64_t off, uint64_t key, int mark)
{
	pthread_rwlock_wrlock(&se->idx_lock);
	struct vol *v = se_vol_by_id(se, se->scrub_vol);
	int current = v && v->vf == se->scrub_vf;
	if (current && mark)
		se_bad_add(se, se->scrub_vol, (uint32_t)(off / NEEDLE_ALIGN));
	pthread_rwlock_unlock(&se->idx_lock);
	if (current && cb)
		cb(arg, se->scrub_vol, off, key, STORE_E_DATA_LOSS);
}

/* Checks up to budget needles of the cursor's volume; returns how many. */
static size_t
scrub_volume(struct store_engine *se, uint64_t limit, size_t budget,
    store_scrub_cb cb, void *arg)
{
	struct vol_scan s = { se->scrub_vf->fd, limit, NULL, 0, 0, 0, 0 };
	size_t done = 0;
	while (done < budget && se->scrub_off < limit) {
		struct needle_hdr h = { 0, 0, 0, 0 };
		enum nv_result r = vol_scan_needle(&s, se->scrub_off, &h);
		done++;
		if (r == NV_BAD) { /* structure lost: resume at next valid */
			scrub_report(se, cb, arg, se->scrub_off, h.key, 0);
			uint64_t next = vol_scan_next_valid(&s,
			    se->scrub_off + NEEDLE_ALIGN);
			se->scrub_off = next ? next : limit;
			continue;
		}
		if (r == NV_BADCRC)
			scrub_report(se, cb, arg, se->scrub_off, h.key, 1);
		se->scrub_off += needle_total_size(h.size);
	}
	free(s.buf);
	if (se->scrub_off >= limit) { /* volume done: move on */
		se->scrub_vol++;
		se->scrub_off = SB_SIZE;
	}
	return done;
}

int
store_engine_scrub_step(struct store_engine *se, size_t max_needles,
    store_scrub_cb cb, void *arg)
{
	size_t done = 0;
	int wraps = 0;
	pthread_mutex_lock(&se->scrub_mu);
	while (done < max_needles && wraps < 2) {
		uint64_t limit = 0;
		pthread_rwlock_rdlock(&se->idx_lock);
		struct vol *v = scrub_pick(se, &limit);
		pthread_rwlock_unlock(&se->idx_lock);
		if (!v) { /* past the newest volume: wrap around */
			se->scrub_vol = 0;
			if (done > 0)
				break; /* one pass per call at most */
			wraps++;
			continue;
		}
		done += scrub_volume(se, limit, max_needles - done, cb, arg);
	}
	pthread_mutex_unlock(&se->scrub_mu);
	return (int)done;
}
