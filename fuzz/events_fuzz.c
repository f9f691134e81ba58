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
 * A fuzzed frame almost never carries a valid MAC, so each input whose
 * bytes after the topic decode as a SealedEvent is also sent again
 * resealed as the publisher it names would seal it: its MAC for the
 * directory made right and, when it has a session and nonce of the right
 * length, its body's bytes encrypted as the plaintext. That lets the fuzzer
 * past the MAC and the GCM tag into the Event decode and the role checks.
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
#include "feed_frame.h"
#include "feed_seal.h"
#include "fuzz.h"
#include "log.h"
#include "pubsub.h"

#define URL "inproc://hs-fuzz-events"
#define SENTINEL "fuzz.sentinel"

static nng_socket pub;
static rt_sealer *sealer;
static rt_sub *sub;
static rt_ident *me; /* the subscriber: the directory */

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

/* se's body replaced by its bytes encrypted under the session's feed key
 * (into buf, len + FEED_TAG_LEN bytes), when session and nonce allow. */
static void
encrypt_body(Hs__SealedEvent *se, struct frame_fields *f, uint8_t *buf)
{
	uint8_t k[FEED_KEY_LEN];
	if (se->body.len == 0 || se->session.len != FEED_SESSION_LEN ||
	    se->nonce.len != FEED_NONCE_LEN ||
	    feed_key_derive(rt_ident_secret(me), se->session.data, k) != 0)
		return;
	EVP_CIPHER_CTX *c = feed_gcm_new(1, k);
	if (c != NULL &&
	    feed_gcm(1, c, f, se->body.data, se->body.len, buf) == 0)
		f->body = (ProtobufCBinaryData){ se->body.len + FEED_TAG_LEN,
			buf };
	EVP_CIPHER_CTX_free(c);
}

/* Sends the frame data would be, resealed (see the top); nothing when it
 * does not decode or names an unknown publisher. */
static void
send_resealed(const uint8_t *data, size_t len)
{
	const uint8_t *nul = memchr(data, '\0', len);
	size_t tlen = nul ? (size_t)(nul - data) + 1 : 0;
	Hs__SealedEvent *se = nul ?
	    hs__sealed_event__unpack(NULL, len - tlen, nul + 1) :
	    NULL;
	rt_key key;
	unsigned role;
	char err[256];
	if (se == NULL ||
	    rt_ident_pair(me, se->from, &key, &role, err, sizeof(err)) != 0) {
		hs__sealed_event__free_unpacked(se, NULL);
		return;
	}
	struct frame_fields f = { .topic = (const char *)data,
		.from = se->from,
		.session = se->session,
		.nonce = se->nonce,
		.body = se->body,
		.event = se->event };
	uint8_t *body = malloc(se->body.len + FEED_TAG_LEN), mac[RT_MAC_LEN];
	encrypt_body(se, &f, body);
	feed_frame_mac(&key, &f, mac);
	Hs__Seal seal = HS__SEAL__INIT, *seals[] = { &seal };
	seal.to = RT_DIRECTORY_PRINCIPAL;
	seal.mac = (ProtobufCBinaryData){ RT_MAC_LEN, mac };
	Hs__SealedEvent out = *se;
	out.body = f.body;
	out.n_seals = 1;
	out.seals = seals;
	nng_msg *m;
	if (nng_msg_alloc(&m, tlen + hs__sealed_event__get_packed_size(&out)))
		abort();
	memcpy(nng_msg_body(m), data, tlen);
	hs__sealed_event__pack(&out, (uint8_t *)nng_msg_body(m) + tlen);
	if (nng_sendmsg(pub, m, 0) != 0)
		abort();
	free(body);
	hs__sealed_event__free_unpacked(se, NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *urls[] = { URL }, *prefixes[] = { "" };
	rt_log_set_level(RT_LOG_ERROR);
	if (nng_pub0_open(&pub) != 0 || nng_listen(pub, URL, NULL, 0) != 0 ||
	    rt_sealer_new(&sealer, fuzz_ident(RT_DIRECTORY_PRINCIPAL)) != 0 ||
	    (me = fuzz_ident(RT_DIRECTORY_PRINCIPAL)) == NULL ||
	    rt_sub_open(&sub, urls, 1, prefixes, 1, me) != 0)
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
	send_resealed(data, len);
	send_sentinel(++seq);
	if (drain(seq, 5000) != 0)
		abort(); /* the subscriber lost the sentinel */
	return 0;
}
