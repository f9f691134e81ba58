/* Helpers for the replicator's end-to-end tests: an upload done the way the
 * client does it (Allocate, Write to the first store with the others as
 * peers, RegisterPhoto), record lookups, verified reads, calls to the
 * replicator, and flipping bytes of a needle inside a volume file. */
#ifndef HS_TEST_REPL_UTIL_H
#define HS_TEST_REPL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "common.pb-c.h"
#include "replicator.pb-c.h"
#include "rpc_client.h"

struct tphoto {
	uint64_t key;
	uint32_t cookie;
	uint8_t *data; /* owned */
	size_t len;
	uint8_t sha[32];
	uint32_t stores[8]; /* as allocated */
	size_t nstores;
};

/* Opens the clients the helpers use (directories, stores, replicator). */
int tr_open(struct test_cluster *c);
void tr_close(void);

/* Starts c with o and opens the helpers' clients (tr_open), on fresh ports
 * up to three times: free ports are picked before binding, so another
 * process (or an outgoing connection's ephemeral port) may take one
 * first. 0 or -1. */
int tr_up(struct test_cluster *c, const struct test_cluster_opts *o);
/* Closes the clients and stops c, its processes' logs first if failed. */
void tr_down(struct test_cluster *c, int failed);

/* One case on a cluster of its own: c started with o (tr_up), body given
 * nphotos zeroed photos (freed after it), c stopped (tr_down) with its
 * logs when the start or body failed, and the case failed then (CHECK).
 * body returns 0 when the case held, else -1 after saying why. */
void tr_case(struct test_cluster *c, const struct test_cluster_opts *o,
    int nphotos, int (*body)(struct tphoto *ph));

/* A photo of len bytes from seed. register_it=0 stops after the Write (a
 * client that died before Register). HS_OK or the failing status. */
int tr_upload(struct tphoto *p, uint64_t seed, size_t len, int register_it);
void tr_photo_free(struct tphoto *p);

/* The record's locations (0 = NOT_FOUND), target in *target if not NULL. */
size_t tr_locations(const struct tphoto *p, uint32_t *out, size_t max,
    uint32_t *target);

/* 1 if the photo reads back from store id (1-based) with its SHA-256. */
int tr_read_ok(const struct tphoto *p, uint32_t store);
/* 1 when each of the n photos has exactly want locations, none on the
 * ngone stores in gone, and reads back from each with its SHA-256. */
int tr_all_repaired(struct tphoto *ph, int n, const uint32_t *gone,
    size_t ngone, size_t want);
/* 1 if store id lists a live needle for the photo. */
int tr_store_has(const struct tphoto *p, uint32_t store);

/* Reads p n times from store id (drives access reports). */
void tr_read_n(const struct tphoto *p, uint32_t store, int n);

int tr_delete(const struct tphoto *p);

/* Calls the replicator at port: Queue and Audit(wait). */
int tr_queue(int port, uint64_t depth[4], uint64_t *done, int *active);
int tr_audit(int port, uint64_t *orphans_deleted);
/* Audit(wait) with the whole reply, *out the caller's to free on HS_OK. */
int tr_audit_reply(int port, Hs__AuditReply **out);
/* 1 when the replicator at port is active with no task queued. */
int tr_idle(int port);

/* 1 if the directories list store id as DOWN. */
int tr_store_down(uint32_t store);

/* Flips a byte in the middle of p's data inside store id's volumes. */
int tr_corrupt(struct test_cluster *c, const struct tphoto *p, uint32_t store);

#endif
