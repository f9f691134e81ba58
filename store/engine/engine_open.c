/* Opening a store: the LOCK file, finding the volume files, recovering
 * each (volume_load.c) and indexing it in one sort, the option check; and
 * closing it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_impl.h"
#include "vio.h"

#define STORE_MAX_VOLUME_SIZE ((uint64_t)VIDX_MAX_OFF8 * NEEDLE_ALIGN)

static int
se_lock_dir(struct store_engine *se)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/LOCK", se->dir);
	se->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (se->lock_fd < 0)
		return -errno;
	if (flock(se->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? STORE_E_LOCKED : -errno;
	return 0;
}

static int
se_id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Volume ids present in the dir, ascending; removes leftover temp files
 * (an interrupted compaction's .cpt, a hint's .tmp): never the truth. */
static int
se_scan_dir(struct store_engine *se, uint32_t **ids, size_t *n)
{
	DIR *d = opendir(se->dir);
	if (!d)
		return -errno;
	size_t cap = 0;
	*ids = NULL;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned id;
		char ext[8], tail;
		if (sscanf(e->d_name, "vol_%8u.%7[a-z.]%c", &id, ext, &tail) !=
		    2)
			continue;
		if (strcmp(ext, "cpt") == 0 || strcmp(ext, "idx.tmp") == 0) {
			unlinkat(dirfd(d), e->d_name, 0);
		} else if (strcmp(ext, "dat") == 0) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				uint32_t *ni = realloc(*ids,
				    cap * sizeof(**ids));
				if (!ni) {
					closedir(d);
					return -ENOMEM;
				}
				*ids = ni;
			}
			(*ids)[(*n)++] = id;
		}
	}
	closedir(d);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), se_id_cmp);
	return 0;
}

/* A newest volume whose superblock never became durable: created, then a
 * crash. It can hold nothing acknowledged, so it is removed. */
static int
se_drop_unborn(struct store_engine *se, uint32_t id)
{
	char path[4096];
	struct stat st;
	vol_path(se, id, "dat", path, sizeof(path));
	if (stat(path, &st) || st.st_size > SB_SIZE)
		return STORE_E_CORRUPT;
	unlink(path);
	vol_path(se, id, "idx", path, sizeof(path));
	unlink(path);
	return 0;
}

struct se_bulk {
	uint64_t key;
	uint32_t val, size;
};

static int
se_bulk_cmp(const void *a, const void *b)
{
	const struct se_bulk *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->val & VIDX_OFF_MASK) < (y->val & VIDX_OFF_MASK) ? -1 : 1;
}

/* Data needles of a recovered volume, sorted and deduplicated (a later
 * copy of a key replaced a bad one). NULL on ENOMEM. */
static struct idx_kv *
se_bulk_sorted(struct store_engine *se, struct vol *v, const struct vol_load *l,
    size_t *n)
{
	struct se_bulk *b = malloc((l->n ? l->n : 1) * sizeof(*b));
	struct idx_kv *kv = malloc((l->n ? l->n : 1) * sizeof(*kv));
	size_t k = 0, w = 0;
	for (size_t i = 0; b && kv && i < l->n; i++) {
		const struct hint_rec *r = &l->recs[i];
		if (r->flags & NEEDLE_F_DELREC)
			continue;
		int del = (r->flags & NEEDLE_F_DELETED) != 0;
		b[k++] = (struct se_bulk){ r->key,
			r->off8 | (del ? VIDX_DELETED : 0), r->size };
		uint64_t total = needle_total_size(r->size);
		*(del ? &v->dead_n : &v->live_n) += 1;
		*(del ? &v->dead_bytes : &v->live_bytes) += total;
		if ((r->flags & VOL_REC_BAD) &&
		    se_bad_add(se, v->sb.vol_id, r->off8))
			k = SIZE_MAX;
		if (k == SIZE_MAX)
			break;
	}
	if (!b || !kv || k == SIZE_MAX) {
		free(b);
		free(kv);
		return NULL;
	}
	qsort(b, k, sizeof(*b), se_bulk_cmp);
	for (size_t i = 0; i < k; i++) {
		if (i + 1 < k && b[i + 1].key == b[i].key) {
			/* A replaced copy is dead. */
			if (!(b[i].val & VIDX_DELETED)) {
				v->live_n--;
				v->live_bytes -= needle_total_size(b[i].size);
				v->dead_n++;
				v->dead_bytes += needle_total_size(b[i].size);
			}
			continue;
		}
		kv[w++] = (struct idx_kv){ b[i].key, b[i].val,
			needle_len8(b[i].size) };
	}
	free(b);
	*n = w;
	return kv;
}

/* Start-up indexing: one sort per volume instead of n inserts, then the
 * delete records in file order (they need lookups across volumes). */
static int
se_index_bulk(struct store_engine *se, struct vol *v, const struct vol_load *l)
{
	size_t n = 0;
	struct idx_kv *kv = se_bulk_sorted(se, v, l, &n);
	if (!kv)
		return -ENOMEM;
	int rc = vidx_replace_sorted(&v->idx, kv, n);
	free(kv);
	for (size_t i = 0; !rc && i < l->n; i++)
		if (l->recs[i].flags & NEEDLE_F_DELREC)
			rc = se_index_needle(se, v, &l->recs[i]);
	return rc;
}

static int
se_load_volume(struct store_engine *se, uint32_t id, int last)
{
	struct vol *v;
	int rc = vol_open_file(se, id, &v);
	if (rc == STORE_E_CORRUPT && last)
		return se_drop_unborn(se, id);
	if (rc)
		return rc;
	struct vol_load l;
	rc = vol_load(se, v, &l);
	if (!rc)
		rc = se_vols_push(se, v);
	if (rc) {
		vol_free(v);
		return rc;
	}
	if (!rc)
		rc = se_index_bulk(se, v, &l);
	vol_load_free(&l);
	if (!rc && !last) {
		v->sealed = 1;
		rc = vidx_seal(&v->idx);
	}
	return rc;
}

static int
se_load(struct store_engine *se)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	int rc = se_scan_dir(se, &ids, &n);
	for (size_t i = 0; !rc && i < n; i++)
		rc = se_load_volume(se, ids[i], i + 1 == n);
	uint32_t next = n ? ids[n - 1] + 1 : 1;
	free(ids);
	if (rc)
		return rc;
	if (se->nvols == 0) {
		struct vol *v;
		rc = vol_create(se, next, &v);
		if (!rc && (rc = se_vols_push(se, v)))
			vol_free(v);
		return rc;
	}
	/* Without a hint file the active volume just rescans at next open. */
	(void)vol_hint_open_append(se, se->vols[se->nvols - 1]);
	return 0;
}

static int
se_check_options(const struct store_options *o)
{
	if (o->max_volume_size < SB_SIZE + 4096 ||
	    o->max_volume_size > STORE_MAX_VOLUME_SIZE)
		return STORE_E_INVALID;
	if (!(o->compaction_threshold >= 0.0 && o->compaction_threshold <= 1.0))
		return STORE_E_INVALID;
	if (o->delete_retention_ms < 0)
		return STORE_E_INVALID;
	if (o->sync_mode != STORE_SYNC_ALWAYS &&
	    o->sync_mode != STORE_SYNC_NONE)
		return STORE_E_INVALID;
	return 0;
}

int
store_engine_open(const char *dir, const struct store_options *opts,
    struct store_engine **out)
{
	struct store_engine *se = calloc(1, sizeof(*se));
	if (!se)
		return -ENOMEM;
	if (opts)
		se->opt = *opts;
	else
		store_options_default(&se->opt);
	se->lock_fd = -1;
	pthread_mutex_init(&se->compact_mu, NULL);
	pthread_mutex_init(&se->append_mu, NULL);
	pthread_rwlock_init(&se->idx_lock, NULL);
	pthread_mutex_init(&se->scrub_mu, NULL);
	int rc = se_check_options(&se->opt);
	if (!rc)
		rc = (se->dir = strdup(dir)) ? 0 : -ENOMEM;
	if (!rc)
		rc = se_lock_dir(se);
	if (!rc)
		rc = se_load(se);
	if (rc) {
		store_engine_close(se);
		return rc;
	}
	*out = se;
	return 0;
}

void
store_engine_close(struct store_engine *se)
{
	if (!se)
		return;
	for (size_t i = 0; i < se->nvols; i++)
		vol_free(se->vols[i]);
	free(se->vols);
	free(se->bad);
	vol_file_unref(se->scrub_vf);
	if (se->lock_fd >= 0)
		close(se->lock_fd);
	pthread_mutex_destroy(&se->compact_mu);
	pthread_mutex_destroy(&se->append_mu);
	pthread_rwlock_destroy(&se->idx_lock);
	pthread_mutex_destroy(&se->scrub_mu);
	free(se->dir);
	free(se);
}
