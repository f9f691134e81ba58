/* The event feed: PUB/SUB helpers shared by every service. A frame is the
 * topic, one NUL byte, then a packed hs.SealedEvent (events.proto): the
 * event with a MAC for each principal consuming the feed and, for bodies
 * naming photos, the body encrypted so only secret holders see cookies
 * (feed_seal.h). SUB sockets filter on the topic prefix; rt_sub_recv drops
 * frames that do not authenticate. PUB drops messages for slow subscribers, so
 * every event carries a sequence number (per publisher and topic family,
 * e.g. "photo.") and rt_sub_recv reports gaps: a receiver that sees one
 * resyncs from the source of truth. */
#ifndef HS_PUBSUB_H
#define HS_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "events.pb-c.h"
#include "ident.h"

typedef struct rt_pub rt_pub;
typedef struct rt_sub rt_sub;

/* Listens on url. source names this publisher in every event ("store-3");
 * id (kept, not owned) is whom frames are MAC'd and encrypted as. */
int rt_pub_open(rt_pub **out, const char *url, const char *source,
    rt_ident *id);
void rt_pub_close(rt_pub *p);

/* Publishes ev under ev->topic, filling seq, time_ms and source. Thread
 * safe; events leave in seq order. ev stays the caller's. 0 or nng error. */
int rt_pub_publish(rt_pub *p, Hs__Event *ev);

/* Dials every url and subscribes to each prefix ("" for everything). id
 * (kept, not owned) is whom frames are checked and decrypted for: a server
 * takes only frames MAC'd for its principal by a principal whose role may
 * publish the topic; NULL authenticates nothing and sees no cookie. */
int rt_sub_open(rt_sub **out, const char *const *urls, size_t nurls,
    const char *const *prefixes, size_t nprefixes, rt_ident *id);
void rt_sub_close(rt_sub *s);

/* Frames refused so far (forged, unauthenticated, malformed). */
uint64_t rt_sub_dropped(rt_sub *s);

/* Dials one more publisher (e.g. a newly elected leader). */
int rt_sub_dial(rt_sub *s, const char *url);

/* Receives the next event into *ev (free with hs__event__free_unpacked).
 * *gap is set to the number of events missed from that source and family
 * since its last one (0 normally). Returns 0, NNG_ETIMEDOUT, or another nng error;
 * refused frames are skipped, counted and logged now and then. timeout_ms < 0 waits forever. */
int rt_sub_recv(rt_sub *s, Hs__Event **ev, uint64_t *gap, int timeout_ms);

#endif
