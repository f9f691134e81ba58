/* Opening event frames (see feed_seal.h): who sent it, whether it may,
 * and its body for a subscriber holding the servers' secret. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_frame.h"
#include "feed_seal.h"

#define KEY_CACHE 8

struct feed_key {
	uint8_t session[FEED_SESSION_LEN];
	EVP_CIPHER_CTX *dec; /* under that session's feed key */
};

struct rt_opener {
	rt_ident *id; /* NULL: no identity */
	struct feed_key cache[KEY_CACHE];
	int ncache, next;
};

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
	if (o == NULL)
		return;
	for (int i = 0; i < o->ncache; i++)
		EVP_CIPHER_CTX_free(o->cache[i].dec);
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

/* A context under the feed key of session, made once and cached (the
 * oldest of KEY_CACHE goes). NULL if it cannot be made. */
static EVP_CIPHER_CTX *
opener_key(rt_opener *o, const rt_key *secret, const uint8_t *session)
{
	for (int i = 0; i < o->ncache; i++)
		if (memcmp(o->cache[i].session, session, FEED_SESSION_LEN) == 0)
			return o->cache[i].dec;
	uint8_t key[FEED_KEY_LEN];
	EVP_CIPHER_CTX *c = feed_key_derive(secret, session, key) == 0 ?
	    feed_gcm_new(0, key) :
	    NULL;
	OPENSSL_cleanse(key, sizeof(key));
	if (c == NULL)
		return NULL;
	struct feed_key *k = &o->cache[o->next];
	if (o->next < o->ncache)
		EVP_CIPHER_CTX_free(k->dec);
	k->dec = c;
	memcpy(k->session, session, FEED_SESSION_LEN);
	o->next = (o->next + 1) % KEY_CACHE;
	if (o->ncache < KEY_CACHE)
		o->ncache++;
	return c;
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
		feed_frame_mac(&key, f, want);
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
	EVP_CIPHER_CTX *key = NULL;
	if (f->session.len != FEED_SESSION_LEN ||
	    f->nonce.len != FEED_NONCE_LEN ||
	    (key = opener_key(o, secret, f->session.data)) == NULL) {
		snprintf(why, n, "its sealed body has no usable key");
		return NULL;
	}
	/* Head then body: packed messages concatenate into their merge. */
	uint8_t *all = malloc(f->event.len + f->body.len);
	Hs__Event *ev = NULL;
	if (all == NULL)
		return NULL;
	if (f->event.len > 0) /* an empty field's data is NULL */
		memcpy(all, f->event.data, f->event.len);
	if (feed_gcm(0, key, f, f->body.data, f->body.len, all + f->event.len))
		snprintf(why, n, "its sealed body does not open");
	else
		ev = hs__event__unpack(NULL,
		    f->event.len + f->body.len - FEED_TAG_LEN, all);
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
