/* Read-only views of the index: stat and exists of one key (live, or
 * deleted and why), and the paged key listing (deleted keys included, with
 * why they went away) that audits and `hs rebuild` walk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "vio.h"

int
store_engine_stat(struct store_engine *se, uint64_t key,
    struct store_needle_info *info)
{
	struct se_loc l;
	struct needle_hdr h;
	int rc = se_pin(se, key, &l);
	int bad = rc == STORE_E_DATA_LOSS;
	if (bad)
		rc = 0;
	if (!rc && (l.val & VIDX_DELETED))
		rc = STORE_E_NOT_FOUND;
	if (!rc)
		rc = vol_read_hdr(l.vf->fd, l.off, &h);
	uint32_t ext = l.vf ? l.vf->ext : 0;
	vol_file_unref(l.vf);
	if (rc)
		return rc;
	memset(info, 0, sizeof(*info));
	*info = (struct store_needle_info){ .key = key,
		.cookie = h.cookie,
		.size = h.size > ext ? h.size - ext : 0,
		.flags = bad ? STORE_NF_BAD : 0,
		.volume = l.vol_id,
		.offset = l.off };
	return 0;
}

int
store_engine_stat_deleted(struct store_engine *se, uint64_t key,
    struct store_needle_info *info)
{
	struct se_loc l;
	struct needle_hdr h;
	struct delrec d;
	int rc = se_pin(se, key, &l);
	if (!rc && !(l.val & VIDX_DELETED))
		rc = STORE_E_NOT_FOUND; /* live */
	if (rc == STORE_E_DATA_LOSS)
		rc = STORE_E_NOT_FOUND; /* only a live needle is known bad */
	if (!rc)
		rc = se_read_delete(l.vf->fd, l.off, &h, &d);
	vol_file_unref(l.vf);
	if (rc)
		return rc;
	*info = (struct store_needle_info){ .key = key,
		.cookie = h.cookie,
		.flags = STORE_NF_DELETED,
		.volume = l.vol_id,
		.offset = l.off,
		.delete_kind = (enum store_delete_kind)d.kind };
	return 0;
}

int
store_engine_exists(struct store_engine *se, uint64_t key)
{
	struct store_needle_info info;
	int rc = store_engine_stat(se, key, &info);
	return rc == 0 ? 1 : rc == STORE_E_NOT_FOUND ? 0 : rc;
}

struct se_list_ent {
	struct idx_kv kv;
	size_t vol; /* index into se->vols: larger = newer */
};

static int
se_list_cmp(const void *a, const void *b)
{
	const struct se_list_ent *x = a, *y = b;
	if (x->kv.key != y->kv.key)
		return x->kv.key < y->kv.key ? -1 : 1;
	return x->vol > y->vol ? -1 : x->vol < y->vol; /* newest first */
}

/* Candidate entries from every volume (idx_lock held); caller frees. */
static struct se_list_ent *
se_list_gather(struct store_engine *se, const uint64_t *after, size_t max,
    size_t *n)
{
	struct se_list_ent *all = malloc((se->nvols * max + 1) * sizeof(*all));
	struct idx_kv *tmp = malloc((max + 1) * sizeof(*tmp));
	*n = 0;
	if (!all || !tmp) {
		free(all);
		free(tmp);
		return NULL;
	}
	for (size_t i = 0; i < se->nvols; i++) {
		size_t k = vidx_collect(&se->vols[i]->idx, after != NULL,
		    after ? *after : 0, tmp, max);
		for (size_t j = 0; j < k; j++)
			all[(*n)++] = (struct se_list_ent){ tmp[j], i };
	}
	free(tmp);
	qsort(all, *n, sizeof(*all), se_list_cmp);
	return all;
}

/* Size, and for a v2 needle its own write time and SHA-256 (a delete
 * record's time is that of the delete; it has no SHA-256). */
static void
se_list_ext(const struct vol_file *vf, struct store_needle_info *info,
    const struct needle_hdr *h)
{
	uint8_t eb[NEEDLE_EXT_SIZE];
	struct needle_ext ne;
	int delrec = (h->flags & NEEDLE_F_DELREC) != 0;
	if (h->size < vf->ext)
		return;
	info->size = delrec ? 0 : h->size - vf->ext;
	if (!vf->ext ||
	    vio_pread(vf->fd, eb, sizeof(eb),
		(off_t)(info->offset + NEEDLE_HDR_SIZE + h->size - vf->ext)) !=
		(ssize_t)sizeof(eb))
		return;
	needle_ext_decode(eb, &ne);
	info->written_ms = ne.written_ms;
	if (!delrec) {
		memcpy(info->sha256, ne.sha256, sizeof(ne.sha256));
		info->has_sha256 = 1;
	}
}

static void
se_list_fill(struct store_engine *se, const struct se_list_ent *e,
    struct store_needle_info *info)
{
	const struct vol *v = se->vols[e->vol];
	uint32_t off8 = e->kv.val & VIDX_OFF_MASK;
	struct needle_hdr h = { 0, e->kv.key, 0, 0 };
	struct delrec d;
	memset(info, 0, sizeof(*info));
	info->key = e->kv.key;
	info->volume = v->sb.vol_id;
	info->offset = (uint64_t)off8 * NEEDLE_ALIGN;
	info->written_ms = atomic_load(&v->written_ms);
	if (se_read_delete(v->vf->fd, info->offset, &h, &d) == 0) {
		info->cookie = h.cookie;
		se_list_ext(v->vf, info, &h);
	}
	if (e->kv.val & VIDX_DELETED) {
		info->flags |= STORE_NF_DELETED;
		info->delete_kind = (enum store_delete_kind)d.kind;
	}
	if (se_bad_has(se, v->sb.vol_id, off8))
		info->flags |= STORE_NF_BAD;
}

int
store_engine_list(struct store_engine *se, const uint64_t *after,
    struct store_needle_info *out, size_t max, size_t *n)
{
	size_t cand;
	*n = 0;
	if (max == 0)
		return 0;
	pthread_rwlock_rdlock(&se->idx_lock);
	struct se_list_ent *all = se_list_gather(se, after, max, &cand);
	if (!all) {
		pthread_rwlock_unlock(&se->idx_lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cand && *n < max; i++) {
		if (i > 0 && all[i].kv.key == all[i - 1].kv.key)
			continue; /* an older volume's entry for the same key */
		se_list_fill(se, &all[i], &out[(*n)++]);
	}
	pthread_rwlock_unlock(&se->idx_lock);
	free(all);
	return 0;
}
