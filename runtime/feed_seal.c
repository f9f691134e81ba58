/* Building and opening event frames (see feed_seal.h and the layout in
 * events.proto). The MAC'd bytes are a fixed layout of the frame's fields,
 * so a receiver verifies without re-packing. */
#include "feed_seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SESSION_LEN 16
#define NONCE_LEN 12
#define TAG_LEN 16
#define FEED_KEY_LEN 32
#define MAX_TARGETS 4
#define KEY_CACHE 8

struct target {
	char name[RT_NAME_MAX];
	rt_key key;
};

struct rt_sealer {
	rt_ident *id;
	uint8_t session[SESSION_LEN];
	uint8_t feed_key[FEED_KEY_LEN];
	int can_seal; /* holds the secret */
	uint64_t counter;
	struct target to[MAX_TARGETS];
	int nto;
};

struct feed_key {
	uint8_t session[SESSION_LEN];
	uint8_t key[FEED_KEY_LEN];
};

struct rt_opener {
	rt_ident *id; /* NULL: no identity */
	struct feed_key cache[KEY_CACHE];
	int ncache, next;
};

/* The frame's fields in MAC order; body NULL for the GCM additional data
 * (the body is what it encrypts). */
struct frame_fields {
	const char *topic, *from;
	ProtobufCBinaryData session, nonce, body, event;
};

static void
put_u32(uint8_t *p, size_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The iovecs of f; lens holds the length prefixes. Returns their count. */
static int
frame_iov(const struct frame_fields *f, int with_body, struct iovec *iov,
    uint8_t lens[6][4])
{
	const void *p[6] = { f->topic, f->from, f->session.data, f->nonce.data,
		f->body.data, f->event.data };
	size_t n[6] = { strlen(f->topic), strlen(f->from), f->session.len,
		f->nonce.len, f->body.len, f->event.len };
	int k = 0;
	iov[k++] = (struct iovec){ (void *)"hs-evt-1", 8 };
	for (int i = 0; i < 6; i++) {
		if (i == 4 && !with_body)
			continue;
		put_u32(lens[i], n[i]);
		iov[k++] = (struct iovec){ lens[i], 4 };
		iov[k++] = (struct iovec){ (void *)p[i], n[i] };
	}
	return k;
}

static void
frame_mac(const rt_key *key, const struct frame_fields *f, uint8_t *mac)
{
	struct iovec iov[13];
	uint8_t lens[6][4];
	rt_hmacv(key, iov, frame_iov(f, 1, iov, lens), mac);
}

/* HKDF-SHA256(secret, salt "hs-feed-1", info session): the feed key of
 * one publisher's session. */
static int
feed_key(const rt_key *secret, const uint8_t *session, uint8_t *key)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		    (void *)secret->bytes, secret->len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (char *)"hs-feed-1", 9),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)session, SESSION_LEN),
		OSSL_PARAM_construct_end(),
	};
	int ok = kc && EVP_KDF_derive(kc, key, FEED_KEY_LEN, params) == 1;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* AES-256-GCM of in[0..n) into out (n bytes, then the tag) when enc, else
 * the reverse (n counts the tag). The additional data is f's fields
 * without the body. 0, or -1 (on opening: the tag does not match). */
static int
gcm(int enc, const uint8_t *key, const struct frame_fields *f,
    const uint8_t *in, size_t n, uint8_t *out)
{
	struct iovec iov[13];
	uint8_t lens[6][4];
	int k = frame_iov(f, 0, iov, lens), len, ok;
	if (!enc && n < TAG_LEN)
		return -1;
	size_t dlen = enc ? n : n - TAG_LEN;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	ok = c &&
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, f->nonce.data,
		enc) == 1;
	for (int i = 0; ok && i < k; i++)
		ok = EVP_CipherUpdate(c, NULL, &len, iov[i].iov_base,
			 (int)iov[i].iov_len) == 1;
	ok = ok && EVP_CipherUpdate(c, out, &len, in, (int)dlen) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
			 (void *)(in + dlen)) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + dlen, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
			 out + dlen) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

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
	if (s == NULL || RAND_bytes(s->session, SESSION_LEN) != 1 ||
	    (secret && feed_key(secret, s->session, s->feed_key) != 0)) {
		rt_log_error("cannot set up the event feed's keys");
		free(s);
		return -1;
	}
	s->id = id;
	s->can_seal = secret != NULL;
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
	if (s != NULL)
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
	int seal = s->can_seal && secret_body(ev->body_case);
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
	memset(nonce, 0, NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
	f->nonce = (ProtobufCBinaryData){ NONCE_LEN, nonce };
	f->session = (ProtobufCBinaryData){ SESSION_LEN, s->session };
	ProtobufCBinaryData plain;
	if (pack_new(&body.base, &plain) != 0)
		return -1;
	f->body.len = plain.len + TAG_LEN;
	f->body.data = malloc(f->body.len);
	int rv = f->body.data ?
	    gcm(1, s->feed_key, f, plain.data, plain.len, f->body.data) :
	    -1;
	free(plain.data);
	return rv;
}

int
rt_seal_frame(rt_sealer *s, const Hs__Event *ev, nng_msg **out)
{
	uint8_t nonce[NONCE_LEN], macs[MAX_TARGETS][RT_MAC_LEN];
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
			frame_mac(&s->to[i].key, &f, macs[i]);
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

int
rt_opener_new(rt_opener **out, rt_ident *id)
{
	rt_opener *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return -1;
	o->id = id;
	*out = o;
	return 0;
}

void
rt_opener_free(rt_opener *o)
{
	if (o != NULL)
		OPENSSL_cleanse(o, sizeof(*o));
	free(o);
}

/* The roles that may publish topic with this body: only the directory
 * speaks for photos, stores' states and the leadership; a store for its
 * needles and compactions; the replicator for tasks and audits. */
static unsigned
publishers(const char *topic, Hs__Event__BodyCase body)
{
	static const struct {
		const char *family;
		unsigned roles;
	} fam[] = {
		{ "photo.", RT_ROLE_DIRECTORY },
		{ "leader.", RT_ROLE_DIRECTORY },
		{ "store.", RT_ROLE_DIRECTORY | RT_ROLE_STORE },
		{ "needle.", RT_ROLE_STORE },
		{ "task.", RT_ROLE_REPLICATOR },
		{ "audit.", RT_ROLE_REPLICATOR },
	};
	unsigned roles = RT_ROLES_SERVER;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if (strncmp(topic, fam[i].family, strlen(fam[i].family)) == 0)
			roles = fam[i].roles;
	switch (body) {
	case HS__EVENT__BODY_PHOTO:
	case HS__EVENT__BODY_LEADER:
	case HS__EVENT__BODY_STORE:
		return roles & RT_ROLE_DIRECTORY;
	case HS__EVENT__BODY_NEEDLE:
	case HS__EVENT__BODY_COMPACTION:
		return roles & RT_ROLE_STORE;
	case HS__EVENT__BODY_TASK:
	case HS__EVENT__BODY_AUDIT:
		return roles & RT_ROLE_REPLICATOR;
	default:
		return roles;
	}
}

/* The feed key of session, derived once and cached. NULL if it cannot be. */
static const uint8_t *
opener_key(rt_opener *o, const rt_key *secret, const uint8_t *session)
{
	for (int i = 0; i < o->ncache; i++)
		if (memcmp(o->cache[i].session, session, SESSION_LEN) == 0)
			return o->cache[i].key;
	struct feed_key *k = &o->cache[o->next];
	if (feed_key(secret, session, k->key) != 0)
		return NULL;
	memcpy(k->session, session, SESSION_LEN);
	o->next = (o->next + 1) % KEY_CACHE;
	if (o->ncache < KEY_CACHE)
		o->ncache++;
	return k->key;
}

/* The publisher's MAC for this subscriber: 1 if present and right, 0 if
 * absent, -1 if wrong (or the publisher is unknown); *role is the
 * publisher's. */
static int
check_seal(rt_opener *o, const Hs__SealedEvent *se,
    const struct frame_fields *f, unsigned *role, char *why, size_t n)
{
	rt_key key;
	char err[256];
	if (rt_ident_pair(o->id, se->from, &key, role, err, sizeof(err))) {
		snprintf(why, n, "from an unknown publisher: %s", err);
		return -1;
	}
	const char *me = rt_ident_name(o->id);
	for (size_t i = 0; i < se->n_seals; i++) {
		if (strcmp(se->seals[i]->to, me) != 0)
			continue;
		uint8_t want[RT_MAC_LEN];
		frame_mac(&key, f, want);
		if (se->seals[i]->mac.len == RT_MAC_LEN &&
		    CRYPTO_memcmp(want, se->seals[i]->mac.data, RT_MAC_LEN) ==
			0)
			return 1;
		snprintf(why, n, "its MAC for %s is wrong", me);
		return -1;
	}
	return 0;
}

/* The event: the header, plus the decrypted body when there is one and
 * this subscriber holds the secret. NULL with why. */
static Hs__Event *
unpack_event(rt_opener *o, const struct frame_fields *f, int *sealed, char *why,
    size_t n)
{
	const rt_key *secret = o->id ? rt_ident_secret(o->id) : NULL;
	*sealed = f->body.len > 0 && secret == NULL;
	if (f->body.len == 0 || secret == NULL)
		return hs__event__unpack(NULL, f->event.len, f->event.data);
	const uint8_t *key = NULL;
	if (f->session.len != SESSION_LEN || f->nonce.len != NONCE_LEN ||
	    (key = opener_key(o, secret, f->session.data)) == NULL) {
		snprintf(why, n, "its sealed body has no usable key");
		return NULL;
	}
	/* Head then body: packed messages concatenate into their merge. */
	uint8_t *all = malloc(f->event.len + f->body.len);
	Hs__Event *ev = NULL;
	if (all == NULL)
		return NULL;
	memcpy(all, f->event.data, f->event.len);
	if (gcm(0, key, f, f->body.data, f->body.len, all + f->event.len))
		snprintf(why, n, "its sealed body does not open");
	else
		ev = hs__event__unpack(NULL,
		    f->event.len + f->body.len - TAG_LEN, all);
	free(all);
	return ev;
}

/* Everything but the decoding: who sent it, for whom, and may it. */
static int
open_checked(rt_opener *o, const Hs__SealedEvent *se,
    const struct frame_fields *f, Hs__Event **out, char *why, size_t n)
{
	unsigned role = 0;
	int sealed, sealok = o->id ? check_seal(o, se, f, &role, why, n) : 0;
	if (sealok < 0)
		return -1;
	if (sealok == 0 && o->id && (rt_ident_role(o->id) & RT_ROLES_SERVER)) {
		snprintf(why, n, "it carries no MAC for %s",
		    rt_ident_name(o->id));
		return -1;
	}
	Hs__Event *ev = unpack_event(o, f, &sealed, why, n);
	if (ev == NULL) {
		if (why[0] == '\0')
			snprintf(why, n, "its event does not decode");
		return -1;
	}
	if (ev->topic == NULL || strcmp(ev->topic, f->topic) != 0)
		snprintf(why, n, "its topic is not the frame's");
	else if (o->id && !(publishers(f->topic, ev->body_case) & role))
		snprintf(why, n, "a %s may not publish it", rt_role_name(role));
	if (why[0] != '\0') {
		hs__event__free_unpacked(ev, NULL);
		return -1;
	}
	ev->sealed = sealed;
	ev->authenticated = sealok > 0 || (f->body.len > 0 && !sealed);
	*out = ev;
	return 0;
}

int
rt_open_frame(rt_opener *o, const uint8_t *b, size_t len, Hs__Event **ev,
    char *why, size_t whylen)
{
	const uint8_t *nul = memchr(b, 0, len);
	why[0] = '\0';
	if (nul == NULL) {
		snprintf(why, whylen, "it has no topic");
		return -1;
	}
	size_t tlen = (size_t)(nul - b);
	Hs__SealedEvent *se = hs__sealed_event__unpack(NULL, len - tlen - 1,
	    nul + 1);
	if (se == NULL) {
		snprintf(why, whylen, "it does not decode");
		return -1;
	}
	struct frame_fields f = { .topic = (const char *)b,
		.from = se->from,
		.session = se->session,
		.nonce = se->nonce,
		.body = se->body,
		.event = se->event };
	int rv = open_checked(o, se, &f, ev, why, whylen);
	hs__sealed_event__free_unpacked(se, NULL);
	return rv;
}
