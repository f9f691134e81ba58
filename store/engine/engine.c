/* Shared bookkeeping: options, the key lookup across volumes (active
 * first, then sealed ones newest first), tombstone accounting, the bad-
 * needle set, stats and error strings. Opening and closing a store are in
 * engine_open.c, reads and writes in engine_rw.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "vio.h"

void
store_options_default(struct store_options *o)
{
	o->max_volume_size = UINT64_C(4) << 30;
	o->compaction_threshold = 0.5;
	o->sync_mode = STORE_SYNC_ALWAYS;
	o->delete_retention_ms = INT64_C(7) * 24 * 3600 * 1000;
	o->on_sync = NULL;
	o->on_sync_arg = NULL;
}

const char *
store_strerror(int err)
{
	switch (err) {
	case 0:
		return "OK";
	case STORE_E_NOT_FOUND:
		return "NOT_FOUND: no such needle (or deleted, or wrong "
		       "cookie)";
	case STORE_E_DATA_LOSS:
		return "DATA_LOSS: needle fails its CRC; read another replica";
	case STORE_E_EXISTS:
		return "EXISTS: key already holds a different payload";
	case STORE_E_DELETED:
		return "DELETED: key was deleted; keys are never reused";
	case STORE_E_READONLY:
		return "READONLY: volume is read-only after an I/O error; "
		       "reopen the store";
	case STORE_E_LOCKED:
		return "LOCKED: data dir is already open (LOCK held by "
		       "another store)";
	case STORE_E_TOO_SMALL:
		return "TOO_SMALL: buffer too small; *len holds the size "
		       "needed";
	case STORE_E_INVALID:
		return "INVALID: bad argument or option";
	case STORE_E_CORRUPT:
		return "CORRUPT: unreadable volume superblock";
	case STORE_E_BUSY:
		return "BUSY: not possible on the active volume";
	case STORE_E_TOO_BIG:
		return "TOO_BIG: needle larger than max_volume_size allows";
	default:
		return err < 0 && err > -4096 ? strerror(-err) :
						"unknown error";
	}
}

int
se_bad_has(const struct store_engine *se, uint32_t vol, uint32_t off8)
{
	for (size_t i = 0; i < se->nbad; i++)
		if (se->bad[i].vol == vol && se->bad[i].off8 == off8)
			return 1;
	return 0;
}

int
se_bad_add(struct store_engine *se, uint32_t vol, uint32_t off8)
{
	if (se_bad_has(se, vol, off8))
		return 0;
	if (se->nbad == se->capbad) {
		size_t nc = se->capbad ? se->capbad * 2 : 16;
		struct bad_ref *nb = realloc(se->bad, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		se->bad = nb;
		se->capbad = nc;
	}
	se->bad[se->nbad++] = (struct bad_ref){ vol, off8 };
	return 0;
}

int
se_find(struct store_engine *se, uint64_t key, struct vol **v, uint32_t *val,
    uint32_t *len8)
{
	for (size_t i = se->nvols; i-- > 0;) {
		if (vidx_find(&se->vols[i]->idx, key, val, len8)) {
			*v = se->vols[i];
			return 1;
		}
	}
	return 0;
}

/* Looks key up and pins the file holding it. */
int
se_pin(struct store_engine *se, uint64_t key, struct se_loc *l)
{
	struct vol *v;
	memset(l, 0, sizeof(*l));
	pthread_rwlock_rdlock(&se->idx_lock);
	int rc = STORE_E_NOT_FOUND;
	if (se_find(se, key, &v, &l->val, &l->len8)) {
		l->off = (uint64_t)(l->val & VIDX_OFF_MASK) * NEEDLE_ALIGN;
		l->vol_id = v->sb.vol_id;
		l->vf = v->vf;
		vol_file_ref(l->vf);
		rc = !(l->val & VIDX_DELETED) &&
			se_bad_has(se, l->vol_id, l->val & VIDX_OFF_MASK) ?
		    STORE_E_DATA_LOSS :
		    0;
	}
	pthread_rwlock_unlock(&se->idx_lock);
	return rc;
}

/* The delete behind a deleted entry at off: its record's header and
 * payload, or kind UNKNOWN for a needle deleted by its flag alone. One
 * positional read covers both: a record is a header and its payload, and
 * any other needle is at least a header long. */
int
se_read_delete(int fd, uint64_t off, struct needle_hdr *h, struct delrec *d)
{
	uint8_t p[NEEDLE_HDR_SIZE + DELREC_DATA_SIZE];
	*d = (struct delrec){ 0, 0, 0, STORE_DEL_UNKNOWN };
	ssize_t n = vio_pread(fd, p, sizeof(p), (off_t)off);
	if (n < 0)
		return (int)n;
	if (n < NEEDLE_HDR_SIZE || needle_hdr_decode(p, h))
		return STORE_E_DATA_LOSS;
	if (!(h->flags & NEEDLE_F_DELREC))
		return 0;
	if (n != (ssize_t)sizeof(p))
		return -EIO;
	delrec_decode(p + NEEDLE_HDR_SIZE, d);
	return 0;
}

struct vol *
se_vol_by_id(struct store_engine *se, uint32_t id)
{
	for (size_t i = 0; i < se->nvols; i++)
		if (se->vols[i]->sb.vol_id == id)
			return se->vols[i];
	return NULL;
}

/* Is the entry (x, val) newer than a delete record at off8 in v? Then the
 * record is history: the key was stored again after it (a trimmed copy
 * taken back), e.g. when a volume's records are replayed at open. */
static int
se_newer_than(const struct vol *x, uint32_t val, const struct vol *v,
    uint32_t off8)
{
	if (x != v)
		return x->sb.vol_id > v->sb.vol_id;
	return (val & VIDX_OFF_MASK) > off8;
}

/* Marks key's live needle at val in x deleted, its bytes now dead. */
static int
se_tombstone(struct vol *x, uint64_t key, uint32_t val, uint32_t len8)
{
	uint64_t total = (uint64_t)len8 * NEEDLE_ALIGN;
	int rc = vidx_set(&x->idx, key, val | VIDX_DELETED, len8);
	if (rc)
		return rc;
	x->live_n--;
	x->live_bytes -= total;
	x->dead_n++;
	x->dead_bytes += total;
	return 0;
}

int
se_mark_deleted(struct store_engine *se, uint64_t key)
{
	struct vol *x = NULL;
	uint32_t val, len8;
	if (!se_find(se, key, &x, &val, &len8) || (val & VIDX_DELETED))
		return 0;
	return se_tombstone(x, key, val, len8);
}

/* A delete record in v for r->key: tombstone the key's newest needle. The
 * key's entry in v then points at the record, which carries the kind. */
static int
se_index_delrec(struct store_engine *se, struct vol *v,
    const struct hint_rec *r)
{
	struct vol *x = NULL;
	uint32_t val, len8;
	int found = se_find(se, r->key, &x, &val, &len8);
	v->tomb_n++;
	v->tomb_bytes += needle_total_size(r->size);
	if (found && se_newer_than(x, val, v, r->off8))
		return 0;
	if (found && !(val & VIDX_DELETED)) {
		int rc = se_tombstone(x, r->key, val, len8);
		if (rc)
			return rc;
	}
	return vidx_set(&v->idx, r->key, r->off8 | VIDX_DELETED,
	    needle_len8(r->size));
}

/* A second data needle for a key in one volume replaces a bad copy: the
 * old one turns into dead bytes. */
static void
se_retire_replaced(struct vol *v, uint64_t key)
{
	uint32_t old, len8;
	if (!vidx_find(&v->idx, key, &old, &len8) || (old & VIDX_DELETED))
		return;
	uint64_t total = (uint64_t)len8 * NEEDLE_ALIGN;
	v->live_n--;
	v->live_bytes -= total;
	v->dead_n++;
	v->dead_bytes += total;
}

int
se_index_needle(struct store_engine *se, struct vol *v,
    const struct hint_rec *r)
{
	if (r->flags & NEEDLE_F_DELREC)
		return se_index_delrec(se, v, r);
	int del = (r->flags & NEEDLE_F_DELETED) != 0;
	se_retire_replaced(v, r->key);
	int rc = vidx_set(&v->idx, r->key, r->off8 | (del ? VIDX_DELETED : 0),
	    needle_len8(r->size));
	if (rc)
		return rc;
	uint64_t total = needle_total_size(r->size);
	if (del) {
		v->dead_n++;
		v->dead_bytes += total;
	} else {
		v->live_n++;
		v->live_bytes += total;
	}
	if (r->flags & VOL_REC_BAD)
		return se_bad_add(se, v->sb.vol_id, r->off8);
	return 0;
}

int
se_vols_push(struct store_engine *se, struct vol *v)
{
	if (se->nvols == se->capvols) {
		size_t nc = se->capvols ? se->capvols * 2 : 8;
		struct vol **nv = realloc(se->vols, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		se->vols = nv;
		se->capvols = nc;
	}
	se->vols[se->nvols++] = v;
	return 0;
}

int
store_engine_stats(struct store_engine *se, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_rwlock_rdlock(&se->idx_lock);
	for (size_t i = 0; i < se->nvols; i++) {
		const struct vol *v = se->vols[i];
		st->needles += v->live_n;
		st->deleted += v->dead_n;
		st->live_bytes += v->live_bytes;
		st->dead_bytes += v->dead_bytes;
		st->index_bytes += vidx_bytes(&v->idx);
		st->index_entries += vidx_count(&v->idx);
	}
	st->volumes = se->nvols;
	st->bad_needles = se->nbad;
	pthread_rwlock_unlock(&se->idx_lock);
	st->compactions = atomic_load(&se->compactions);
	st->bytes_per_needle = st->index_entries ?
	    (double)st->index_bytes / (double)st->index_entries :
	    0.0;
	return 0;
}

uint32_t
store_engine_active_volume(struct store_engine *se)
{
	pthread_rwlock_rdlock(&se->idx_lock);
	uint32_t id = se->vols[se->nvols - 1]->sb.vol_id;
	pthread_rwlock_unlock(&se->idx_lock);
	return id;
}
