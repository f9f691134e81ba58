/* The event feed's frames (events.proto SealedEvent): the one place that
 * builds them (rt_seal_frame) and the one that opens them (rt_open_frame).
 * A frame carries one HMAC per principal that consumes the feed, under the
 * key the publisher shares with it, so a follower knows the directory sent
 * it and a store cannot forge a directory's event; and a body holding
 * photo ids (cookies) is AES-256-GCM encrypted under a key derived from
 * the servers' shared secret, so a subscriber without it learns no cookie
 * (docs/security.md). */
#ifndef RT_FEED_SEAL_H
#define RT_FEED_SEAL_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#include "events.pb-c.h"
#include "ident.h"

typedef struct rt_sealer rt_sealer;
typedef struct rt_opener rt_opener;

/* A publisher's sealing state for identity id (kept, not owned): a fresh
 * random session, the feed key and the keys of the principals it MACs for.
 * 0, or -1 after logging why. */
int rt_sealer_new(rt_sealer **out, rt_ident *id);
void rt_sealer_free(rt_sealer *s);

/* The whole frame (topic, NUL, packed SealedEvent) for ev, whose header
 * (seq, time, source) is filled. Not thread safe: the publisher serialises
 * (the nonce is a counter). 0 or an nng error. */
int rt_seal_frame(rt_sealer *s, const Hs__Event *ev, nng_msg **out);

/* A subscriber's opening state for identity id (kept, not owned; NULL: a
 * subscriber with no identity, which authenticates nothing). 0 or -1. */
int rt_opener_new(rt_opener **out, rt_ident *id);
void rt_opener_free(rt_opener *o);

/* Opens frame b[0..len): 0 with *ev (free with hs__event__free_unpacked),
 * or -1 with why the frame is dropped in why: malformed, from an unknown
 * principal or one whose role may not publish this topic, its MAC for
 * this subscriber missing (a server subscriber requires one) or wrong, or
 * a body that does not decrypt. Without the secret, a sealed body is left
 * out and ev->sealed set; ev->authenticated says whether anything proved
 * the publisher. */
int rt_open_frame(rt_opener *o, const uint8_t *b, size_t len, Hs__Event **ev,
    char *why, size_t whylen);

#endif
