/* Fuzz target: event frames as a server's subscriber receives them (the
 * topic, a NUL, a packed hs.SealedEvent) through the runtime's own
 * subscriber, rt_sub_recv in runtime/pubsub.c, with the directory's
 * identity (fuzz.h): the frame split, the SealedEvent decode, the
 * publisher's key lookup, this subscriber's MAC, the body's AES-256-GCM
 * decryption, the topic's allowed publishers, the Event decode and the
 * per-source sequence tracking (runtime/feed_open.c). The seeds are frames
 * the directory, the replicator and a store sealed (fuzz/seeds.c), each
 * body from a role that may publish it, so mutations start from frames
 * that authenticate and open.
 *
 * Frames go over nng's inproc transport from a raw PUB socket, each
 * followed by a sentinel event the directory seals on the same pipe, so a
 * frame the subscriber drops never leaves it waiting for a timeout. */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.pb-c.h"
#include "feed_seal.h"
#include "fuzz.h"
#include "log.h"
#include "pubsub.h"

#define URL "inproc://hs-fuzz-events"
#define SENTINEL "fuzz.sentinel"

static nng_socket pub;
static rt_sealer *sealer;
static rt_sub *sub;

/* The frame the directory's publisher would send for a sentinel numbered
 * seq. */
static void
send_sentinel(uint64_t seq)
{
	Hs__Event ev = HS__EVENT__INIT;
	ev.topic = SENTINEL;
	ev.source = SENTINEL;
	ev.seq = seq;
	nng_msg *m;
	if (rt_seal_frame(sealer, &ev, &m) != 0 || nng_sendmsg(pub, m, 0) != 0)
		abort();
}

/* Receives until the sentinel numbered seq: 0, or -1 on a timeout. */
static int
drain(uint64_t seq, int timeout_ms)
{
	for (;;) {
		Hs__Event *ev;
		uint64_t gap;
		if (rt_sub_recv(sub, &ev, &gap, timeout_ms) != 0)
			return -1;
		int done = strcmp(ev->source, SENTINEL) == 0 &&
		    strcmp(ev->topic, SENTINEL) == 0 && ev->seq == seq;
		hs__event__free_unpacked(ev, NULL);
		if (done)
			return 0;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *urls[] = { URL }, *prefixes[] = { "" };
	rt_log_set_level(RT_LOG_ERROR);
	if (nng_pub0_open(&pub) != 0 || nng_listen(pub, URL, NULL, 0) != 0 ||
	    rt_sealer_new(&sealer, fuzz_ident(RT_DIRECTORY_PRINCIPAL)) != 0 ||
	    rt_sub_open(&sub, urls, 1, prefixes, 1,
		fuzz_ident(RT_DIRECTORY_PRINCIPAL)) != 0)
		abort();
	/* PUB drops what it sends before the subscriber is connected. */
	for (uint64_t seq = 1; seq < 500; seq++) {
		send_sentinel(seq);
		if (drain(seq, 20) == 0)
			return 0;
	}
	abort(); /* no connection in 10 s, or the sentinel never opens */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint64_t seq = 1u << 30;
	if (nng_send(pub, (void *)data, len, 0) != 0)
		abort();
	send_sentinel(++seq);
	if (drain(seq, 5000) != 0)
		abort(); /* the subscriber lost the sentinel */
	return 0;
}
