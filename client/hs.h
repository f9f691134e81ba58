/* libhs: the programmatic API of haystack-c. Upload a photo (an id of a
 * write grant -> Write; the store registers it), download it (cache -> Lookup -> Read, SHA-256
 * verified), ask for its status, delete it, and read the cluster's stats,
 * health and event feed. This header is the documentation; docs/client.md
 * adds the cluster-file and cache formats.
 *
 * Conventions that hold for every function below:
 *  - Thread safety: an hs_client may be used from any number of threads at
 *    once; every call is independent and many may be in flight. Only
 *    hs_close must not race with other calls on the same client.
 *    An hs_events feed belongs to one thread at a time.
 *  - Deadlines: timeout_ms bounds the whole call, retries included;
 *    timeout_ms <= 0 means HS_DEFAULT_TIMEOUT_MS.
 *  - Errors: every call returns an hs_status (gRPC numbering, rpc_status.h)
 *    and, when err is not NULL, fills err->code with the same value and
 *    err->message with a sentence saying what failed and what to do.
 *    Output parameters are written only on HS_OK.
 *  - Ownership: buffers the caller passes stay the caller's; buffers and
 *    messages libhs returns are the caller's to free, with the function
 *    each declaration names.
 *
 * The codes a caller will meet:
 *   HS_OK                 done
 *   HS_NOT_FOUND          unknown id, wrong cookie, or deleted photo
 *   HS_INVALID_ARGUMENT   bad input (malformed id, photo over 64 MiB, ...)
 *   HS_UNAVAILABLE        no directory / store / replicator reachable
 *   HS_DEADLINE_EXCEEDED  the deadline passed before the cluster answered
 *   HS_DATA_LOSS          every replica's bytes failed the SHA-256 check
 *   HS_FAILED_PRECONDITION the cluster cannot do it now (no leader during a
 *                         failover, too few stores, no replicator configured)
 *   HS_PERMISSION_DENIED, HS_UNAUTHENTICATED  wrong cluster key or token
 *   HS_RESOURCE_EXHAUSTED out of memory, stores full
 *   HS_INTERNAL           a bug or an unexpected failure (file I/O included)
 */
#ifndef HS_CLIENT_H
#define HS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "directory.pb-c.h"
#include "events.pb-c.h"
#include "replicator.pb-c.h"
#include "rpc_status.h"

#define HS_DEFAULT_TIMEOUT_MS 30000
#define HS_DEFAULT_LOCATION_TTL_MS 1000
#define HS_MAX_PHOTO_SIZE (64u << 20) /* bytes; the wire contract's bound */
#define HS_SHA256_LEN 32
#define HS_ID_HEX_LEN 24 /* 16 hex digits of key + 8 of cookie */

/* What went wrong. Plain data: copy it freely. */
typedef struct hs_error {
	hs_status code;
	char message[512];
} hs_error;

/* ---- Photo ids ------------------------------------------------------ */

/* A photo's id: key names it, cookie is the secret every read must match. */
typedef struct hs_photo_id {
	uint64_t key;
	uint32_t cookie;
} hs_photo_id;

/* Formats id as 24 lowercase hex digits plus a NUL into out. */
void hs_id_format(hs_photo_id id, char out[HS_ID_HEX_LEN + 1]);

/* Parses exactly 24 hex digits (either case; surrounding blanks are not
 * allowed). HS_OK, or HS_INVALID_ARGUMENT with a message quoting the input
 * and saying what an id looks like. */
hs_status hs_id_parse(const char *text, hs_photo_id *id, hs_error *err);

/* SHA-256 of a buffer (the digest uploads are checked against). */
void hs_sha256(const void *data, size_t len, uint8_t out[HS_SHA256_LEN]);

/* ---- The cluster's addresses ----------------------------------------- */

#define HS_MAX_ADDRS 16
#define HS_ADDR_MAX 256

/* Where a cluster is. Plain data with no heap: build one by hand to open a
 * client from explicit addresses (tests, other services), or load it from a
 * cluster file. Empty strings mean "not configured". */
struct hs_cluster {
	/* nng URLs of the directories: the load balancer first, then each
	 * directory. At least one. */
	char directories[HS_MAX_ADDRS][HS_ADDR_MAX];
	size_t ndirectories;
	/* nng URLs of the PUB sockets `hs tap` subscribes to. */
	char pubs[HS_MAX_ADDRS][HS_ADDR_MAX];
	size_t npubs;
	/* The cache Redis, HOST:PORT or unix:/PATH; "" = none. */
	char cache[HS_ADDR_MAX];
	/* This client's ACL user at the cache and the file holding its
	 * password (absolute path, mode 0600); "" = no AUTH. */
	char cache_user[64];
	char cache_password_file[1024];
	char replicator[HS_ADDR_MAX]; /* replicator RPC URL; "" = none */
	/* The web cache's base URL (nginx in front of the stores), e.g.
	 * http://127.0.0.1:7103; "" = none (hs_url then names a store).
	 * The cluster file's `web`. */
	char web[HS_ADDR_MAX];
	char key_file[1024]; /* this client's identity file */
	/* The cluster's roster (servers' public keys); "" = the file
	 * "roster" beside key_file. */
	char roster[1024];
	/* How long a Lookup answer is reused for reading the same photo
	 * again (docs/client.md): 0 = HS_DEFAULT_LOCATION_TTL_MS, < 0 = never.
	 * The cluster file's `location_ttl`. */
	int64_t location_ttl_ms;
	/* TLS for tls+tcp:// addresses (runtime/tls.h): the CA the servers
	 * are signed by and this client's certificate and key in one PEM
	 * file; "" = none (then HS_TLS_CA and HS_TLS_CERT are used). The
	 * cluster file's `tls_ca` and `tls_cert`. One TLS identity per
	 * process: the last hs_open's. */
	char tls_ca[1024];
	char tls_cert[1024];
};

/* Reads a cluster file (format in docs/client.md) into *out. Relative
 * key_file, tls_ca and tls_cert paths resolve against the file's folder. HS_OK;
 * HS_NOT_FOUND when the file does not exist (the message names it and says
 * how to create it); HS_INVALID_ARGUMENT for a bad line (with its number). */
hs_status hs_cluster_load(const char *path, struct hs_cluster *out,
    hs_error *err);

/* The same for text already in memory; dir resolves relative key paths
 * (NULL = as given) and name is used in messages. */
hs_status hs_cluster_parse(const char *text, const char *dir, const char *name,
    struct hs_cluster *out, hs_error *err);

/* ---- Clients --------------------------------------------------------- */

typedef struct hs_client hs_client;

/* Opens a client for cluster *cfg (copied; the caller may free or reuse
 * it). Loads the key file and starts dialing every directory in the
 * background: an unreachable cluster is reported by the first call, not
 * here. On HS_OK *out is the caller's, to free with hs_close. */
hs_status hs_open(hs_client **out, const struct hs_cluster *cfg, hs_error *err);

/* hs_cluster_load + hs_open. */
hs_status hs_open_file(hs_client **out, const char *cluster_file,
    hs_error *err);

/* Waits for the client's own background calls (corruption reports), then
 * frees everything. NULL is a no-op. No other call may be in flight. */
void hs_close(hs_client *c);

/* ---- Photos ---------------------------------------------------------- */

/* Uploads len bytes at data (read only; stays the caller's) and sets *id.
 * replicas: the copy count asked of the directory, 0 = the cluster's
 * default. The id comes from a write grant the client keeps (docs/client.md;
 * about one Allocate per 64 uploads, asked for ahead of need). Retries
 * safely until the deadline: a failed Write is sent again with the same id
 * to the group's next store, and when every store failed the upload takes
 * an id of another grant (every step is idempotent for the same id and
 * bytes). On HS_OK the photo is durable on MIN_REPLICA_COUNT copies and
 * committed, and later lookups through this client see it. */
hs_status hs_upload(hs_client *c, const void *data, size_t len,
    uint32_t replicas, int64_t timeout_ms, hs_photo_id *id, hs_error *err);

/* The directory calls this client's uploads made (for tests and tuning):
 * Allocate calls (each a grant of many ids, asked for ahead of need) and
 * RegisterPhoto calls (none once the stores register, v2). */
struct hs_upload_counters {
	uint64_t allocate_calls;
	uint64_t register_calls;
};
void hs_upload_counters(hs_client *c, struct hs_upload_counters *out);

/* Reads the file at path (at most HS_MAX_PHOTO_SIZE bytes) and uploads it.
 * A missing, unreadable or oversized file is HS_INVALID_ARGUMENT (never
 * HS_NOT_FOUND, which is about photos), a read error HS_INTERNAL, each
 * with the path and the system's reason in the message. */
hs_status hs_upload_file(hs_client *c, const char *path, uint32_t replicas,
    int64_t timeout_ms, hs_photo_id *id, hs_error *err);

/* Downloads photo id into a new buffer: on HS_OK *data is malloc'd (free
 * it with free(); it is non-NULL even for an empty photo) and *len is its
 * size. The bytes always match the SHA-256 in the photo's record: a cache
 * entry or replica that does not is skipped (a bad replica is reported to
 * the replicator) and never returned. */
hs_status hs_download(hs_client *c, hs_photo_id id, int64_t timeout_ms,
    void **data, size_t *len, hs_error *err);

/* hs_download into the file at path, written to a temporary file beside
 * it and renamed, so a failed download never leaves a partial file. */
hs_status hs_download_file(hs_client *c, hs_photo_id id, const char *path,
    int64_t timeout_ms, hs_error *err);

/* hs_download and write(2) the bytes to fd (e.g. STDOUT_FILENO). fd stays
 * the caller's. */
hs_status hs_download_fd(hs_client *c, hs_photo_id id, int fd,
    int64_t timeout_ms, hs_error *err);

enum hs_photo_state {
	HS_PHOTO_UNKNOWN = 0,
	HS_PHOTO_ACTIVE = 1,
	HS_PHOTO_DELETED = 2,
};

enum hs_store_state {
	HS_STORE_UNKNOWN = 0,
	HS_STORE_UP = 1,
	HS_STORE_DOWN = 2,
	HS_STORE_READONLY = 3,
};

#define HS_MAX_REPLICAS 16

struct hs_replica {
	uint32_t store_id;
	enum hs_store_state state;
	char addr[HS_ADDR_MAX];
	char zone[64];
};

/* A photo's status. Plain data with no heap. */
struct hs_photo_info {
	hs_photo_id id;
	uint64_t size;
	uint8_t sha256[HS_SHA256_LEN];
	enum hs_photo_state state;
	uint32_t target_replicas;
	int64_t created_ms, updated_ms; /* Unix time, ms */
	uint64_t seq;	  /* change-log sequence of the last change */
	size_t nreplicas; /* entries in replicas[], DOWN stores included */
	struct hs_replica replicas[HS_MAX_REPLICAS];
	double access_rate; /* reads per minute, as the replicator
				   estimates it (the unit of
				   ACCESS_RATE_THRESHOLD); < 0 = not known
				   (no replicator configured or answering) */
};

/* The record and replica locations of id. A deleted photo answers
 * HS_NOT_FOUND, like a read does. */
hs_status hs_stat(hs_client *c, hs_photo_id id, int64_t timeout_ms,
    struct hs_photo_info *out, hs_error *err);

/* The photo's web URL into buf (len bytes, NUL included): the cluster's
 * web cache's, <web>/<24 hex id>, when the cluster file names one, else a
 * store's, <store http_url>/<24 hex id>: the first healthy replica (UP or
 * READONLY, with a web face) in the photo's stable order, the store a
 * directory's redirect names first (docs/web.md). Either way the photo is
 * looked up first (after this client's own upload of it too), so an
 * unknown or deleted id is HS_NOT_FOUND; HS_UNAVAILABLE when no cache is
 * configured and no healthy replica has a web face; HS_INVALID_ARGUMENT
 * when buf is too small. */
hs_status hs_url(hs_client *c, hs_photo_id id, int64_t timeout_ms, char *buf,
    size_t len, hs_error *err);

/* Deletes id (committed at the leader, removed from the cache, tombstoned
 * on the stores). Idempotent: deleting a deleted photo is HS_OK; an unknown
 * id is HS_NOT_FOUND. */
hs_status hs_delete(hs_client *c, hs_photo_id id, int64_t timeout_ms,
    hs_error *err);

/* ---- The cluster ----------------------------------------------------- */

/* Directory-wide counts. On HS_OK *out is the caller's, to free with
 * hs__directory_stats_reply__free_unpacked(*out, NULL). */
hs_status hs_stats(hs_client *c, int64_t timeout_ms,
    Hs__DirectoryStatsReply **out, hs_error *err);

/* The cache's counters, read from the cache Redis (INFO). Plain data. */
struct hs_cache_stats {
	int configured;			/* 0: no cache in the cluster file */
	int reachable;			/* 0: configured but not answering */
	uint64_t hits, misses;		/* server-wide keyspace counters */
	uint64_t used_bytes, max_bytes; /* max 0 = no limit */
	uint64_t keys;
	/* This client's own cache lookups since hs_open. */
	uint64_t client_hits, client_misses;
};

/* Never fails on an unreachable cache (that is reported in *out); HS_OK
 * unless out is NULL. */
hs_status hs_cache_stats(hs_client *c, int64_t timeout_ms,
    struct hs_cache_stats *out, hs_error *err);

/* Leader, followers with their lag, stores, Redis, as seen by a directory.
 * On HS_OK *out is the caller's: hs__health_reply__free_unpacked(*out,
 * NULL). */
hs_status hs_health(hs_client *c, int64_t timeout_ms, Hs__HealthReply **out,
    hs_error *err);

/* The replicator's task queue. HS_FAILED_PRECONDITION when the cluster has
 * no replicator address. On HS_OK free *out with
 * hs__queue_reply__free_unpacked(*out, NULL). */
hs_status hs_queue(hs_client *c, int64_t timeout_ms, Hs__QueueReply **out,
    hs_error *err);

/* Starts (wait = 0) or runs (wait = 1) the replicator's audit. Free *out
 * with hs__audit_reply__free_unpacked(*out, NULL). */
hs_status hs_audit(hs_client *c, int wait, int64_t timeout_ms,
    Hs__AuditReply **out, hs_error *err);

/* ---- Credentials (docs/security.md; the admin role) ---------------- */

/* Makes a key pair for principal name with role "client" or "admin", has
 * the directory record its public key, and writes the identity file path
 * (mode 0600, never over an existing file): hand that file to the
 * application. The reply says how many UP stores applied it before the
 * answer. Free *out with hs__principal_reply__free_unpacked(*out, NULL). */
hs_status hs_cred_add(hs_client *c, const char *name, const char *role,
    const char *path, int64_t timeout_ms, Hs__PrincipalReply **out,
    hs_error *err);

/* Revokes name: its calls, and uploads under the grants it holds, are
 * refused by every directory and by every store that confirmed (see the
 * reply) once this returns. */
hs_status hs_cred_revoke(hs_client *c, const char *name, int64_t timeout_ms,
    Hs__PrincipalReply **out, hs_error *err);

/* The principals added at run time. Free *out with
 * hs__list_principals_reply__free_unpacked(*out, NULL). */
hs_status hs_cred_list(hs_client *c, int64_t timeout_ms,
    Hs__ListPrincipalsReply **out, hs_error *err);

/* ---- A way back (docs/reliability.md) ------------------------------ */

/* What hs_backup, hs_restore and hs_rebuild did. Plain data. */
struct hs_wayback_stats {
	uint64_t records;  /* backup: written; restore: in the file; rebuild:
			      records recovered from the stores */
	uint64_t active;   /* of records: ACTIVE */
	uint64_t deleted;  /* of records: DELETED */
	uint64_t restored; /* committed by the directory */
	uint64_t kept;	   /* left alone: the directory held a record */
	uint64_t head_seq; /* backup: the change-log head it reflects */
	/* hs_rebuild only: */
	uint64_t stores;     /* stores listed */
	uint64_t needles;    /* needle entries they listed */
	uint64_t skipped;    /* keys with no live copy and no DELETE on any
				store (trimmed or orphaned): not restored */
	uint64_t unreadable; /* live copies that could not be read to
				compute their SHA-256 (left out) */
};

/* Called now and then with how many records are done (total 0: not
 * known yet). May be NULL. */
typedef void (*hs_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* For these three, timeout_ms bounds each call they make (one page, one
 * batch, one store listing), not the whole run, which grows with the
 * number of photos. */

/* Writes every record the directory leader holds (deleted ones included)
 * to path, under a temporary name renamed into place when complete. The
 * format is in docs/reliability.md. HS_INTERNAL for a file error. */
hs_status hs_backup(hs_client *c, const char *path, hs_progress_fn progress,
    void *arg, int64_t timeout_ms, struct hs_wayback_stats *out, hs_error *err);

/* Checks path whole (magic, version, count, SHA-256) and only then sends
 * its records to the directory in batches of 1000. Never overwrites: a
 * photo the directory holds is counted as kept. HS_DATA_LOSS for a
 * damaged or truncated file, HS_INVALID_ARGUMENT for a file that is not a
 * backup or of a newer version. Running it twice restores nothing the
 * second time. */
hs_status hs_restore(hs_client *c, const char *path, hs_progress_fn progress,
    void *arg, int64_t timeout_ms, struct hs_wayback_stats *out, hs_error *err);

/* Recovers the records from the stores (ListNeedles on every store the
 * directory lists) and restores them, for a metadata Redis that lost them.
 * What it can and cannot recover is in docs/reliability.md. */
hs_status hs_rebuild(hs_client *c, hs_progress_fn progress, void *arg,
    int64_t timeout_ms, struct hs_wayback_stats *out, hs_error *err);

/* ---- The event feed -------------------------------------------------- */

typedef struct hs_events hs_events;

/* Subscribes to the cluster's PUB addresses (cfg.pubs) for events whose
 * topic starts with one of prefixes (n = 0: everything). On HS_OK *out is
 * the caller's, to free with hs_events_close. HS_FAILED_PRECONDITION when
 * the cluster file lists no PUB address. */
hs_status hs_events_open(hs_client *c, const char *const *prefixes, size_t n,
    hs_events **out, hs_error *err);

/* Waits up to timeout_ms (< 0: forever) for the next event. HS_OK with *ev
 * the caller's (free with hs__event__free_unpacked(*ev, NULL)) and *missed
 * the number of events dropped from that publisher since its previous one;
 * HS_DEADLINE_EXCEEDED when nothing came in time. Forged frames are
 * skipped; (*ev)->sealed says the body (photo ids, cookies) was withheld
 * from this credential (only servers and admins hold the key), and
 * (*ev)->authenticated that the publisher proved who it is to us. */
hs_status hs_events_next(hs_events *e, int timeout_ms, Hs__Event **ev,
    uint64_t *missed, hs_error *err);

void hs_events_close(hs_events *e);

#endif
