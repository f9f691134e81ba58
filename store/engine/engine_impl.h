/* Internal shapes shared by the engine's files: the volume, the store, and
 * the helpers that cross files. Not part of the public API.
 *
 * Locks, always taken in this order:
 *   se->compact_mu  one compaction at a time
 *   se->append_mu   serialises appends, roll-over and rollback
 *   se->idx_lock    rwlock over se->vols, every vol->idx, vol->vf, the
 *                   byte counters and the bad set
 *   vol->sync_mu    group-commit state of one volume
 *   se->scrub_mu is taken alone (scrub takes idx_lock inside it). */
#ifndef STORE_ENGINE_IMPL_H
#define STORE_ENGINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "engine.h"
#include "needle.h"
#include "volume_index.h"

/* An open volume file; readers pin it so compaction can swap it under them. */
struct vol_file {
	int fd;
	uint32_t ext; /* needle extension bytes of its format version */
	atomic_int refs;
};

struct vol {
	struct superblock sb;
	struct vol_file *vf; /* idx_lock */
	struct vidx idx;     /* idx_lock */
	int hint_fd;	     /* append_mu; -1 when hints are off */
	uint64_t end;	     /* bytes written, append_mu (+ idx_lock to read) */
	uint64_t live_n, live_bytes, dead_n, dead_bytes, tomb_n, tomb_bytes;
	int sealed;
	atomic_int readonly;
	/* Unix ms no needle here was appended after: the mtime at open, then
	 * the time of each append (store_needle_info.written_ms). */
	_Atomic int64_t written_ms;
	/* Unix ms before which compaction cannot reclaim anything here: the
	 * first retained deleted needle's retention ends (0: none). idx_lock */
	int64_t compact_after_ms;

	/* Group commit (sync_mu). */
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	uint64_t appended;  /* end as published to syncers */
	uint64_t synced;    /* everything below is durable */
	uint64_t rollbacks; /* bumped when a failed sync truncates the tail */
	uint64_t rb_good;   /* where the latest rollback cut the file */
	int syncing;	    /* a leader is in fdatasync */
};

struct bad_ref {
	uint32_t vol;
	uint32_t off8;
};

struct store_engine {
	char *dir;
	int lock_fd;
	struct store_options opt;
	pthread_mutex_t compact_mu;
	pthread_mutex_t append_mu;
	pthread_rwlock_t idx_lock;
	pthread_mutex_t scrub_mu;

	struct vol **vols; /* ascending id; the last one is active (idx_lock) */
	size_t nvols, capvols;

	struct bad_ref *bad; /* idx_lock */
	size_t nbad, capbad;

	uint32_t scrub_vol; /* scrub cursor (scrub_mu) */
	uint64_t scrub_off;
	struct vol_file *scrub_vf;

	_Atomic uint64_t compactions; /* done since open (store_stats) */
};

/* volume.c: files, superblocks, hints, pins. */
struct vol_file *vol_file_new(int fd, uint16_t version);
void vol_file_ref(struct vol_file *vf);
void vol_file_unref(struct vol_file *vf);
void vol_path(const struct store_engine *se, uint32_t id, const char *ext,
    char *buf, size_t cap);
struct vol *vol_alloc(const struct superblock *sb);
void vol_free(struct vol *v);
int vol_create(struct store_engine *se, uint32_t id, struct vol **out);
int vol_open_file(struct store_engine *se, uint32_t id, struct vol **out);
int vol_hint_open_append(struct store_engine *se, struct vol *v);
void vol_hint_append(struct vol *v, const struct hint_rec *r);
void vol_hint_disable(struct store_engine *se, struct vol *v);
/* Removes volume id's hint file (and stops appending to it when v, the
 * open volume, is given), durably: its next open rescans the volume. 0 or
 * -errno. */
int vol_hint_drop(struct store_engine *se, struct vol *v, uint32_t id);
int vol_hint_rewrite(struct store_engine *se, const struct vol *v,
    const struct hint_rec *recs, size_t n);
int vol_read_hdr(int fd, uint64_t off, struct needle_hdr *h);

/* volume_load.c: recovery of one volume's file. */
#define VOL_REC_BAD 0x8000u /* hint_rec flag, in memory only: bad CRC */

struct vol_load {
	struct hint_rec *recs; /* valid needles in file order; owned */
	size_t n;
	int hints_trusted;  /* recs came from hints (plus a short scan) */
	size_t scanned;	    /* needles found by scanning */
	uint64_t truncated; /* bytes dropped from a torn tail */
};
int vol_load(struct store_engine *se, struct vol *v, struct vol_load *out);
void vol_load_free(struct vol_load *l);

/* A read window over a volume file for sequential scans (load, compaction,
 * scrub). Zero-initialise, set fd and fsz; free(buf) when done. */
struct vol_scan {
	int fd;
	uint64_t fsz;
	uint8_t *buf;
	size_t cap;
	uint64_t boff;
	size_t blen;
	int err; /* first read error (-errno), so a failing disk is never
		  * mistaken for a torn tail */
};
/* Pointer to len bytes at off (valid until the next call), NULL past EOF. */
const uint8_t *vol_scan_get(struct vol_scan *s, uint64_t off, size_t len);

/* Needle verification shared by load, compaction and scrub. */
enum nv_result { NV_OK = 0, NV_BADCRC = 1, NV_BAD = 2 };
enum nv_result needle_verify(const uint8_t *p, uint64_t avail,
    struct needle_hdr *h);

/* Verifies the needle at off; *h is set whenever the header decodes. */
enum nv_result vol_scan_needle(struct vol_scan *s, uint64_t off,
    struct needle_hdr *h);
/* First offset >= from holding a fully valid needle, or 0. */
uint64_t vol_scan_next_valid(struct vol_scan *s, uint64_t from);

/* volume_sync.c: group commit and rollback. */
int vol_sync_wait(struct store_engine *se, struct vol *v, uint64_t end,
    uint64_t rollbacks_seen);
void vol_publish_append(struct vol *v, uint64_t end, uint64_t *rollbacks);
int vol_rollback_to(struct store_engine *se, struct vol *v, uint64_t good);
/* Waits until everything appended to v so far is durable. */
int vol_sync_all(struct store_engine *se, struct vol *v);

/* engine_rw.c: a put split at its commit point, so a batch
 * (engine_batch.c) appends every needle before it waits once. */
struct se_appended {
	struct vol *v;
	uint64_t off, end, rollbacks;
};
/* Checks and appends one needle (not yet durable: wait with se_wait).
 * 0 with *a set; 1 when the key is already live (an identical resend or a
 * conflict: se_put_existing decides); else the put's error. */
int se_put_append(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len, const uint8_t sha256[32],
    struct se_appended *a);
int se_wait(struct store_engine *se, const struct se_appended *a);
int se_put_existing(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len);

/* engine.c: index bookkeeping (idx_lock held for writing). se_find: the
 * newest entry for key, its volume, value and len8 (len8 may be NULL). */
int se_find(struct store_engine *se, uint64_t key, struct vol **v,
    uint32_t *val, uint32_t *len8);
int se_vols_push(struct store_engine *se, struct vol *v);
/* Where a key's newest entry is, as se_pin finds it. */
struct se_loc {
	struct vol_file *vf; /* pinned: vol_file_unref it, even on error */
	uint64_t off;	     /* byte offset of the needle */
	uint32_t val;	     /* the index value (VIDX_DELETED, offset/8) */
	uint32_t len8;	     /* the needle's length on disk / 8 */
	uint32_t vol_id;
};
/* Looks key up and pins the file holding it (l->vf is NULL when the key
 * is unknown). A known-bad live needle -> STORE_E_DATA_LOSS, l->vf still
 * set. */
int se_pin(struct store_engine *se, uint64_t key, struct se_loc *l);
/* The delete behind a deleted entry at off: its record's header and
 * payload, or kind STORE_DEL_UNKNOWN for a needle deleted by its flag. */
int se_read_delete(int fd, uint64_t off, struct needle_hdr *h,
    struct delrec *d);
struct vol *se_vol_by_id(struct store_engine *se, uint32_t id);
/* Marks key's live needle deleted in the index (idx_lock held for
 * writing); nothing when it is not live. 0 or an error. */
int se_mark_deleted(struct store_engine *se, uint64_t key);
int se_index_needle(struct store_engine *se, struct vol *v,
    const struct hint_rec *r);
int se_bad_has(const struct store_engine *se, uint32_t vol, uint32_t off8);
int se_bad_add(struct store_engine *se, uint32_t vol, uint32_t off8);

#endif
