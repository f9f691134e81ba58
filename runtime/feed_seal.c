/* Building event frames (see feed_seal.h and the layout in events.proto):
 * one MAC per consuming principal, and bodies that name photos encrypted
 * under this publisher's session key. */
#include "feed_seal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_frame.h"
#include "log.h"

#define MAX_TARGETS 4

struct target {
	char name[RT_NAME_MAX];
	rt_key key;
};

struct rt_sealer {
	rt_ident *id;
	uint8_t session[FEED_SESSION_LEN];
	EVP_CIPHER_CTX *enc; /* under the feed key; NULL: no secret */
	uint64_t counter;
	struct target to[MAX_TARGETS];
	int nto;
};

/* Who consumes a publisher's feed, by its role: followers and the
 * replicator act on the directory's; taps by the admin watch every feed. */
static const char *const *
targets(unsigned role)
{
	static const char *const servers[] = { RT_DIRECTORY_PRINCIPAL,
		"replicator", "admin", NULL };
	static const char *const repl[] = { RT_DIRECTORY_PRINCIPAL, "admin",
		NULL };
	return role == RT_ROLE_REPLICATOR ? repl : servers;
}

int
rt_sealer_new(rt_sealer **out, rt_ident *id)
{
	rt_sealer *s = calloc(1, sizeof(*s));
	const rt_key *secret = rt_ident_secret(id);
	uint8_t key[FEED_KEY_LEN];
	if (s == NULL || RAND_bytes(s->session, FEED_SESSION_LEN) != 1 ||
	    (secret &&
		(feed_key_derive(secret, s->session, key) != 0 ||
		    (s->enc = feed_gcm_new(1, key)) == NULL))) {
		rt_log_error("cannot set up the event feed's keys");
		free(s);
		return -1;
	}
	OPENSSL_cleanse(key, sizeof(key));
	s->id = id;
	for (const char *const *t = targets(rt_ident_role(id)); *t; t++) {
		char err[256];
		unsigned role;
		struct target *g = &s->to[s->nto];
		if (rt_ident_pair(id, *t, &g->key, &role, err, sizeof(err))) {
			rt_log_info("events carry no MAC for %s: %s", *t, err);
			continue;
		}
		snprintf(g->name, sizeof(g->name), "%s", *t);
		s->nto++;
	}
	*out = s;
	return 0;
}

void
rt_sealer_free(rt_sealer *s)
{
	if (s == NULL)
		return;
	EVP_CIPHER_CTX_free(s->enc);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* Bodies that name photos (and so carry their cookies). */
static int
secret_body(Hs__Event__BodyCase c)
{
	return c == HS__EVENT__BODY_PHOTO || c == HS__EVENT__BODY_TASK ||
	    c == HS__EVENT__BODY_AUDIT || c == HS__EVENT__BODY_NEEDLE;
}

/* Packs m into a new buffer in *d. 0 or -1. */
static int
pack_new(const ProtobufCMessage *m, ProtobufCBinaryData *d)
{
	d->len = protobuf_c_message_get_packed_size(m);
	d->data = malloc(d->len ? d->len : 1);
	if (d->data == NULL)
		return -1;
	protobuf_c_message_pack(m, d->data);
	return 0;
}

/* The header in f->event and, when sealing, the encrypted body. */
static int
seal_parts(rt_sealer *s, const Hs__Event *ev, struct frame_fields *f,
    uint8_t *nonce)
{
	Hs__Event head = *ev, body = HS__EVENT__INIT;
	int seal = s->enc != NULL && secret_body(ev->body_case);
	if (seal) {
		head.body_case = HS__EVENT__BODY__NOT_SET;
		body.body_case = ev->body_case;
		body.photo = ev->photo; /* every body is one pointer */
	}
	head.sealed = head.authenticated = 0;
	if (pack_new(&head.base, &f->event) != 0)
		return -1;
	if (!seal)
		return 0;
	uint64_t n = ++s->counter;
	memset(nonce, 0, FEED_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
	f->nonce = (ProtobufCBinaryData){ FEED_NONCE_LEN, nonce };
	f->session = (ProtobufCBinaryData){ FEED_SESSION_LEN, s->session };
	ProtobufCBinaryData plain;
	if (pack_new(&body.base, &plain) != 0)
		return -1;
	f->body.len = plain.len + FEED_TAG_LEN;
	f->body.data = malloc(f->body.len);
	int rv = f->body.data ?
	    feed_gcm(1, s->enc, f, plain.data, plain.len, f->body.data) :
	    -1;
	free(plain.data);
	return rv;
}

int
rt_seal_frame(rt_sealer *s, const Hs__Event *ev, nng_msg **out)
{
	uint8_t nonce[FEED_NONCE_LEN], macs[MAX_TARGETS][RT_MAC_LEN];
	const char *from = rt_ident_name(s->id);
	struct frame_fields f = { .topic = ev->topic, .from = from };
	Hs__Seal seals[MAX_TARGETS], *sp[MAX_TARGETS];
	int rv = NNG_ENOMEM;
	if (seal_parts(s, ev, &f, nonce) == 0) {
		Hs__SealedEvent se = HS__SEALED_EVENT__INIT;
		se.from = (char *)from;
		se.session = f.session;
		se.nonce = f.nonce;
		se.body = f.body;
		se.event = f.event;
		for (int i = 0; i < s->nto; i++) {
			hs__seal__init(&seals[i]);
			seals[i].to = s->to[i].name;
			feed_frame_mac(&s->to[i].key, &f, macs[i]);
			seals[i].mac = (ProtobufCBinaryData){ RT_MAC_LEN,
				macs[i] };
			sp[i] = &seals[i];
		}
		se.n_seals = (size_t)s->nto;
		se.seals = sp;
		size_t tlen = strlen(ev->topic) + 1;
		size_t len = hs__sealed_event__get_packed_size(&se);
		if ((rv = nng_msg_alloc(out, tlen + len)) == 0) {
			uint8_t *b = nng_msg_body(*out);
			memcpy(b, ev->topic, tlen);
			hs__sealed_event__pack(&se, b + tlen);
		}
	}
	free(f.event.data);
	free(f.body.data);
	return rv;
}
