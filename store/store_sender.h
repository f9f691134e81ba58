/* Inside the write forwarding (store_forward.h): the shapes the per-peer
 * senders (store_sender.c) and the fanouts of writes (store_forward.c)
 * share, and the senders' calls. One mutex, fw->mu, guards them all. */
#ifndef STORE_STORE_SENDER_H
#define STORE_STORE_SENDER_H

#include <pthread.h>

#include "store_forward.h"
#include "store_table.h"

enum { IT_QUEUED, IT_SENDING, IT_SENT };

struct item {
	struct item *next;
	struct fanout *f;
	const Hs__WriteRequest *req; /* the write's, or own's copy */
	struct owned *own;	     /* a copy that outlives the write */
	uint64_t key;		     /* of req's photo, for the answer */
	uint32_t store_id;
	int state;
	int borrowed; /* req is the write's: counted in f->queued */
};

/* A write's needle copied for an item still queued when its write
 * answers (the peer is behind). */
struct owned {
	Hs__WriteRequest req;
	Hs__PhotoId id;
	uint8_t bytes[]; /* data, sha256, token */
};

struct fanout {
	struct forwarder *fw;
	pthread_cond_t cv; /* under fw->mu */
	int64_t deadline_ms;
	int64_t start_ms; /* monotonic */
	int pending;	  /* items whose peer has not answered */
	int queued;	  /* items not packed yet that use the write's bytes */
	int packing;	  /* items taken into a batch that send_next has not
			finished with: f must outlive them */
	int released;
	void (*late)(void *, uint32_t);
	void (*done)(void *);
	void *arg;
	uint32_t ok[FORWARD_MAX];
	size_t nok, nseen;
	char why[256];
	struct item items[FORWARD_MAX];
};

struct peer {
	uint32_t store_id;
	char addr[256];
	struct item *head, *tail;
	int inflight;
};

struct forwarder {
	struct store_service *svc;
	pthread_mutex_t mu;
	size_t owned_bytes; /* in copies of items behind busy peers */
	struct peer **peers;
	size_t npeers;
	struct store_table *table; /* where the peers are (store_table.h) */
};

/* One Replicate in flight to one peer. */
struct batch {
	struct forwarder *fw;
	struct peer *p;
	size_t n;
	struct item *items[];
};

#define MAX_PEERS 1024 /* senders one store keeps */

/* Appends "store N: what" to f's summary of failures (fw->mu held). */
void note_failure(struct fanout *f, uint32_t store_id, const char *what);
/* The sender for a peer, made on first use (fw->mu held); NULL when full
 * or out of memory. */
struct peer *peer_get(struct forwarder *fw, uint32_t store_id,
    const char *addr);
/* Whether f may be freed: released, every peer answered, nothing queued
 * (fw->mu held). */
int fanout_finished(const struct fanout *f);
/* Frees a finished fanout (no lock held), running its done callback. */
void fanout_free(struct fanout *f);
/* Sends whatever waits for p, unless a call to it is in flight (no lock
 * held). */
void send_next(struct forwarder *fw, struct peer *p);
/* Takes item it out of its peer's queue (fw->mu held). */
void unqueue(struct forwarder *fw, struct item *it);

#endif
