/* haystack-c needle volume engine: the public API the store service wraps.
 *
 * A store is a data directory of append-only volume files (vol_NNNNNNNN.dat)
 * with index hint files beside them (vol_NNNNNNNN.idx) and a LOCK file.
 * Photos are needles addressed by a 64-bit key and checked against a 32-bit
 * cookie. All functions are thread-safe. Every function returning int
 * returns 0 on success, a negative errno for an I/O or system error, or one
 * of the STORE_E_* codes below (all < -10000, so they never collide with
 * errno values). store_strerror() names either kind.
 *
 * Visibility: a get may see a put that is still waiting for its fdatasync
 * (and could yet fail); a put's caller learns the outcome only from put.
 *
 * Ownership: the engine never keeps a pointer to a caller's buffer after a
 * call returns, and never hands out pointers into its own memory; the
 * caller owns every buffer it passes in and every struct filled out
 * (store_engine_read's buffer too: allocated for the caller, who frees it
 * with store_read_free). */
#ifndef STORE_ENGINE_H
#define STORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_E_NOT_FOUND (-10001) /* no such key, deleted, or wrong cookie */
#define STORE_E_DATA_LOSS (-10002) /* stored bytes fail their CRC */
#define STORE_E_EXISTS (-10003)	   /* live key holds a different payload */
#define STORE_E_DELETED (-10004)   /* put of a deleted key: never reused */
#define STORE_E_READONLY (-10005)  /* volume read-only after an I/O error */
#define STORE_E_LOCKED (-10006)	   /* data dir is open in another process */
#define STORE_E_TOO_SMALL (-10007) /* caller buffer too small; see *len */
#define STORE_E_INVALID (-10008)   /* bad argument or option */
#define STORE_E_CORRUPT (-10009)   /* unreadable superblock or volume */
#define STORE_E_BUSY (-10010)	   /* not possible now (e.g. active volume) */
#define STORE_E_TOO_BIG (-10011)   /* needle larger than a volume can hold */

const char *store_strerror(int err);

enum store_sync_mode {
	STORE_SYNC_ALWAYS = 0, /* put/delete return after fdatasync (default) */
	/* Bulk loading and benchmarks only: put/delete return after the write
	 * reaches the page cache. A crash or power loss may drop any write
	 * since the last sync, but recovery still never corrupts a volume. */
	STORE_SYNC_NONE = 1,
};

struct store_options {
	uint64_t max_volume_size;    /* roll over beyond this; <= 16 GiB */
	double compaction_threshold; /* compact when live fraction < this */
	enum store_sync_mode sync_mode;
	/* Compaction keeps a deleted needle's bytes (flagged deleted) this
	 * long after its delete, whatever its kind, so `hs rebuild` and an
	 * operator can still find it; 0 reclaims at once. */
	int64_t delete_retention_ms;
	/* Told how long each group commit's fdatasync took (ns), on the
	 * syncing thread, so it must be quick and must not call the engine:
	 * the store's latency histogram, without the engine depending on the
	 * metrics code. NULL: nobody. */
	void (*on_sync)(void *arg, uint64_t ns);
	void *on_sync_arg;
};

/* Defaults: 4 GiB volumes, threshold 0.5, STORE_SYNC_ALWAYS, deleted
 * needles retained 7 days, no on_sync. */
void store_options_default(struct store_options *o);

struct store_engine;

/* Opens (creating if needed) the store in dir, which must exist. Takes an
 * exclusive flock on dir/LOCK: a second open, from any process, fails with
 * STORE_E_LOCKED. Recovers every volume (hints, scan, torn-tail truncate).
 * opts may be NULL for defaults. On success *out is owned by the caller and
 * released with store_engine_close. */
int store_engine_open(const char *dir, const struct store_options *opts,
    struct store_engine **out);
/* Waits for nothing: callers must have stopped their threads. Frees se. */
void store_engine_close(struct store_engine *se);

/* Appends a needle; durable (fdatasync'd, group-committed) when it returns
 * 0. Re-putting a live key with the same cookie and bytes is success (no
 * new needle); different bytes or cookie -> STORE_E_EXISTS; a key deleted
 * with kind DELETE (or an unknown kind) -> STORE_E_DELETED; a key trimmed
 * or orphaned is stored again (same cookie, else STORE_E_EXISTS). data is
 * only read during the call. */
int store_engine_put(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len);
/* The same with the payload's SHA-256 already computed (and checked) by
 * the caller; a v2 needle records it. */
int store_engine_put_sha(struct store_engine *se, uint64_t key, uint32_t cookie,
    const void *data, size_t len, const uint8_t sha256[32]);

/* One needle read whole: buf is the one allocation the read makes, and
 * data points into it, so a server can send the photo without copying. */
struct store_read {
	void *buf;	     /* the caller's: store_read_free */
	const uint8_t *data; /* len photo bytes, inside buf */
	size_t len;
	/* From a v2 needle: when its append began (Unix ms) and the photo's
	 * SHA-256; a v1 needle has neither (0). */
	int64_t written_ms;
	int has_sha256;
	uint8_t sha256[32];
};

/* Reads key's needle with one positional read of the whole of it (offset
 * and length come from the in-memory index) and checks its CRC before
 * returning: 0 and *r filled, or an error and *r empty. Wrong cookie or
 * deleted -> STORE_E_NOT_FOUND; bad CRC (or a header that disagrees with
 * the index) -> STORE_E_DATA_LOSS, the needle remembered as bad; the bad
 * bytes are never returned. */
int store_engine_read(struct store_engine *se, uint64_t key, uint32_t cookie,
    struct store_read *r);
/* Frees r's buffer and empties it; an empty r is fine. */
void store_read_free(struct store_read *r);

/* store_engine_read, then the photo copied into buf[0..cap) (the one
 * copy) and *len set. cap too small -> STORE_E_TOO_SMALL with *len = the
 * size needed; bad CRC -> STORE_E_DATA_LOSS and buf is zeroed. */
int store_engine_get(struct store_engine *se, uint64_t key, uint32_t cookie,
    void *buf, size_t cap, size_t *len);

/* Why a needle went away; the values are the wire's DeleteKind. Only
 * DELETE is final: a TRIMmed or ORPHANed key is taken back by a later put
 * with the same cookie (repair re-sending a copy it needs here). UNKNOWN
 * is what delete records written before kinds existed say; it is treated
 * as DELETE. */
enum store_delete_kind {
	STORE_DEL_UNKNOWN = 0,
	STORE_DEL_DELETE = 1,
	STORE_DEL_TRIM = 2,
	STORE_DEL_ORPHAN = 3,
};

/* Tombstones the key with a delete record carrying kind, durable when it
 * returns 0 (wherever the record was written), then sets the deleted flag
 * in the needle header in place. Idempotent: deleting a deleted key is
 * success once its delete record is durable; a DELETE of a key trimmed or
 * orphaned earlier appends a new, final record. Unknown key ->
 * STORE_E_NOT_FOUND. store_engine_delete is kind DELETE. */
int store_engine_delete_kind(struct store_engine *se, uint64_t key,
    enum store_delete_kind kind);
int store_engine_delete(struct store_engine *se, uint64_t key);

#define STORE_NF_DELETED 0x1u /* tombstoned */
#define STORE_NF_BAD 0x2u     /* failed its CRC (read or scrub) */

struct store_needle_info {
	uint64_t key;
	uint32_t cookie;
	uint32_t size;	/* data bytes (0 for a key known only as deleted) */
	uint32_t flags; /* STORE_NF_* */
	uint32_t volume;
	uint64_t offset; /* byte offset of the needle in its volume */
	/* Set by store_engine_list (0 from store_engine_stat). A v2 needle
	 * records its own: Unix ms when its append began (for a deleted key
	 * listed by its delete record, when the delete was). A v1 needle
	 * carries none and the index has no room for one (its budget is 14
	 * bytes a needle, its length included), so this is its volume's: the latest append to it
	 * by this process, else the file's mtime when it was opened; never
	 * earlier than the true write, so an age computed from it is never
	 * overstated. */
	int64_t written_ms;
	enum store_delete_kind delete_kind; /* when STORE_NF_DELETED */
	/* From a v2 needle (store_engine_list only): the photo's SHA-256. */
	int has_sha256;
	uint8_t sha256[32];
};

/* 1 when the key is live, 0 when absent or deleted, <0 on error. */
int store_engine_exists(struct store_engine *se, uint64_t key);
/* Metadata of a live key (cookie not checked); deleted -> NOT_FOUND. */
int store_engine_stat(struct store_engine *se, uint64_t key,
    struct store_needle_info *info);

/* Why a key reads as NOT_FOUND: 0 and *info (cookie, STORE_NF_DELETED,
 * delete_kind, volume, offset) when its newest entry here is a delete;
 * STORE_E_NOT_FOUND when the key is unknown here or live. The index knows
 * a key is deleted but keeps neither cookie nor kind (its budget is 14
 * bytes a needle), so this reads the delete's header and record in one
 * small positional read: call it after a read said NOT_FOUND, which for a
 * deleted key read nothing (a web face telling 410 from 404). */
int store_engine_stat_deleted(struct store_engine *se, uint64_t key,
    struct store_needle_info *info);

/* Lists keys in ascending order, deleted ones included (flagged), for
 * audits: fills out[0..max) with keys > *after (from the start when after
 * is NULL) and sets *n. A page shorter than max is the last one. */
int store_engine_list(struct store_engine *se, const uint64_t *after,
    struct store_needle_info *out, size_t max, size_t *n);

struct store_stats {
	uint64_t needles;    /* live needles */
	uint64_t deleted;    /* tombstoned needles still on disk */
	uint64_t live_bytes; /* on-disk bytes of live needles */
	uint64_t dead_bytes; /* on-disk bytes of deleted needles */
	uint64_t volumes;
	uint64_t bad_needles; /* known DATA_LOSS needles */
	uint64_t compactions; /* volumes compacted since the store opened */
	uint64_t index_bytes; /* RAM held by the in-memory index */
	uint64_t index_entries;
	double bytes_per_needle; /* index_bytes / index_entries */
};

int store_engine_stats(struct store_engine *se, struct store_stats *st);

/* Compacts one sealed volume: copies live needles, deleted ones still
 * within delete_retention_ms and all delete records (a needle whose only
 * tombstone was its flag gets a delete record in its place) into a new
 * file, fsyncs it, renames it over the old one (directory
 * fsynced) and swaps the index. Reads and writes continue meanwhile. The
 * active volume -> STORE_E_BUSY; unknown id -> STORE_E_NOT_FOUND. */
int store_engine_compact(struct store_engine *se, uint32_t volume);
/* Compacts every sealed volume whose live fraction is below the threshold;
 * returns how many were compacted or a negative error. */
int store_engine_compact_due(struct store_engine *se);

/* Called by the scrubber for each bad needle (arg passed through). */
typedef void (*store_scrub_cb)(void *arg, uint32_t volume, uint64_t offset,
    uint64_t key, int err);
/* Verifies the CRCs of up to max_needles needles, continuing where the
 * previous call stopped and wrapping around. Bad needles are reported to cb
 * (may be NULL) and remembered so reads of them return DATA_LOSS. Returns
 * the number of needles checked, or a negative error. */
int store_engine_scrub_step(struct store_engine *se, size_t max_needles,
    store_scrub_cb cb, void *arg);

/* The id of the volume appends currently go to. */
uint32_t store_engine_active_volume(struct store_engine *se);

#endif
