/* libhs internals shared by its files: the client struct, the leaf helpers
 * (hsi_util.c), the directory-call retry loop, the per-address RPC client
 * table and the read-your-writes sequence table (hs.c), the wire form of
 * an id (hs_id.c) and the photo cache (cache.c). Not installed; callers use
 * hs.h only. */
#ifndef HS_CLIENT_INTERNAL_H
#define HS_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "hs.h"
#include "locations.h"
#include "rpc_client.h"
#include "rpc_pool.h"

/* Read-your-writes: the change-log seq of this client's last write of a
 * photo, in a direct-mapped table. An entry overwritten by a later photo
 * loses only the wait-for-seq hint, never correctness of data. */
#define HSI_SEQ_SLOTS 4096

struct hsi_cache; /* cache.c */

/* A write grant (grants.c): one Allocate's answer, shared by the uploads
 * taking its ids. */
struct hsi_grant {
	atomic_int refs;
	Hs__AllocateReply *a;
	size_t nids;  /* a->n_ids, or 1 from a directory without grants */
	size_t taken; /* ids handed out (under grant_mu) */
	int retired;  /* every store failed: no more ids (under grant_mu) */
	int64_t use_until_ms, renew_at_ms; /* Unix ms */
};

/* The grants kept for one replica count. */
struct hsi_grant_slot {
	struct hs_client *c;
	int used;
	uint32_t replicas;
	struct hsi_grant *cur, *next;
	int prefetching;	/* an Allocate for next is in flight */
	int64_t retry_after_ms; /* monotonic: after a failed one */
};
#define HSI_GRANT_SLOTS 4

struct hs_client {
	struct hs_cluster cfg;
	rt_ident *ident; /* the credential calls are made with */
	struct rpc_client_opts ropts;
	rpc_client *dir;	    /* dials every directory address */
	rpc_client *repl;	    /* NULL when no replicator is configured */
	struct hsi_cache *cache;    /* NULL when no cache is configured */
	struct hsi_locations *locs; /* NULL when location_ttl is off */

	rpc_pool *peers;    /* one client per store address */
	pthread_mutex_t mu; /* guards seqs */
	struct {
		uint64_t key, seq;
	} seqs[HSI_SEQ_SLOTS];

	/* Set once any directory has answered: until then UNAVAILABLE means
	 * "no cluster there" and is reported at once instead of retried. */
	atomic_int dir_answered;
	atomic_ullong cache_hits, cache_misses;
	/* Directory calls of uploads (hs_upload_counters). */
	atomic_ullong allocate_calls, register_calls;
	pthread_mutex_t grant_mu; /* guards grants */
	struct hsi_grant_slot grants[HSI_GRANT_SLOTS];
	char dir_where[512]; /* the directory addresses, for messages */
};

/* ---- hsi_util.c: leaf helpers --------------------------------------- */

/* Fills err (may be NULL) and returns code. */
hs_status hsi_err(hs_error *err, hs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Monotonic deadline for a timeout (<= 0: the default) and what is left. */
int64_t hsi_deadline(int64_t timeout_ms);
int64_t hsi_left(int64_t deadline);

/* Sleeps for the backoff of attempt n (50 ms doubling to 1 s), cut short
 * at deadline. Returns 0 if the deadline has passed. */
int hsi_backoff(int attempt, int64_t deadline);

/* Points urls[i] at addrs[i] and writes them, comma-separated, into where
 * (for messages). */
void hsi_addr_list(const char (*addrs)[HS_ADDR_MAX], size_t n,
    const char **urls, char *where, size_t len);

/* ---- hs.c: the client ------------------------------------------------ */

/* The RPC client for addr, dialed on first use and kept until hs_close.
 * NULL (with err) only for a malformed address or no memory. */
/* The client for peer (a principal) at addr, from the pool. */
rpc_client *hsi_peer(hs_client *c, const char *addr, const char *peer,
    hs_error *err);
/* The same for a store by id. */
rpc_client *hsi_store(hs_client *c, uint32_t store_id, const char *addr,
    hs_error *err);

/* Calls hs.Directory/method, retrying until deadline when the directory
 * tier is failing over (UNAVAILABLE once a directory has answered,
 * FAILED_PRECONDITION, a per-attempt DEADLINE_EXCEEDED), following a
 * leader hint when one is given. *reply as rpc_invoke. what names the step
 * in messages ("allocate", "register", ...). */
hs_status hsi_dir_call(hs_client *c, const char *method,
    const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t deadline,
    const char *what, hs_error *err);

/* Drops a reference to a write grant (grants.c); the last frees it. */
void hsi_grant_put(struct hsi_grant *g);

/* Remembers seq as this client's last write of id: its next Lookup of id
 * waits for the directory to have applied it. */
void hsi_seq_remember(hs_client *c, hs_photo_id id, uint64_t seq);

/* The photo's record and replicas via Lookup. On HS_OK *out is the
 * caller's: hs__lookup_reply__free_unpacked(*out, NULL), and *res points
 * into it. include_down: also list replicas on DOWN stores. */
hs_status hsi_lookup(hs_client *c, hs_photo_id id, int include_down,
    int64_t deadline, Hs__LookupReply **out, Hs__LookupResult **res,
    hs_error *err);

/* ---- grants.c: write grants ---------------------------------------- */

/* The next unused id of a grant for `replicas` (0 = the default): *g (a
 * reference: hsi_grant_put it) and the id's index (hsi_grant_id). Allocates
 * at once (len and sha describe the upload) only when no grant is usable;
 * asks for the next grant in the background ahead of need. */
hs_status hsi_grant_take(hs_client *c, uint32_t replicas, size_t len,
    const uint8_t sha[HS_SHA256_LEN], int64_t deadline, struct hsi_grant **g,
    size_t *idx, hs_error *err);
const Hs__PhotoId *hsi_grant_id(const struct hsi_grant *g, size_t idx);
/* Every store of g failed: its ids left are never used. */
void hsi_grant_retire(hs_client *c, struct hsi_grant *g);

/* ---- hs_backup.c ---------------------------------------------------- */

/* Sends recs[0..n) to the directory's Restore in batches of 1000, adding
 * the restored and kept counts to s; the records stay the caller's. */
hs_status hsi_restore_records(hs_client *c, Hs__PhotoRecord **recs, size_t n,
    hs_progress_fn progress, void *arg, int64_t timeout_ms,
    struct hs_wayback_stats *s, hs_error *err);

/* ---- hs_id.c --------------------------------------------------------- */

/* The wire form of an id; points at no heap. */
void hsi_id_to_pb(hs_photo_id id, Hs__PhotoId *pb);

/* ---- cluster_file.c ------------------------------------------------- */

/* The process's TLS identity from cfg's tls_ca and tls_cert, else
 * HS_TLS_CA and HS_TLS_CERT (filled into cfg); with none of them the
 * process's identity is left as it is. HS_OK or HS_INVALID_ARGUMENT. */
hs_status hsi_tls_setup(struct hs_cluster *cfg, hs_error *err);

/* ---- cache.c: the Redis photo cache --------------------------------- */

/* The cache cl names (HOST:PORT or unix:/PATH), read as cl's cache user.
 * NULL on a malformed address or a password file that cannot be used (err
 * says why). */
struct hsi_cache *hsi_cache_open(const struct hs_cluster *cl, hs_error *err);
void hsi_cache_close(struct hsi_cache *k);

/* Looks id up. 1 with *data (malloc'd, the caller frees) and *len when the
 * entry exists and its bytes match the SHA-256 stored with them; -1 when
 * the entry is the directory's deleted marker (a committed delete); 0 on a
 * miss, a bad entry, or any Redis trouble (the cache is only a hint).
 * Waits at most until deadline and never more than a short bound. */
int hsi_cache_get(struct hsi_cache *k, hs_photo_id id, int64_t deadline,
    void **data, size_t *len);

/* INFO counters into *out (configured/reachable/hits/...). */
void hsi_cache_info(struct hsi_cache *k, int64_t deadline,
    struct hs_cache_stats *out);

#endif
