/* The web cache (nginx's proxy_cache in front of the stores,
 * testing/nginx.conf.template) forgets a deleted photo: after a delete
 * commits, the leader asks nginx's purge location to drop the photo's
 * entry, through Debian's libcurl, before it acknowledges; and again as it
 * acknowledges, and once more later, for copies read from a store while
 * the delete was reaching it. */
#ifndef DIR_WEB_PURGE_H
#define DIR_WEB_PURGE_H

#include <stdint.h>

struct dir_purge;

/* base: nginx's base URL (e.g. http://127.0.0.1:7103; "" = no web cache:
 * every call does nothing); tls_ca ("" = system CAs) checks an https base;
 * wait_ms bounds the purge a delete waits for; give_up_ms (CACHE_TTL) is
 * how long a failed purge is retried: by then nginx has dropped the entry
 * itself. Strings are borrowed. NULL when out of memory or the thread
 * cannot start (logged). */
struct dir_purge *dir_purge_open(const char *base, const char *tls_ca,
    int64_t wait_ms, int64_t give_up_ms);
void dir_purge_close(struct dir_purge *p);

/* After the commit: drops the entry of photo (key, cookie), waiting at
 * most wait_ms for nginx (a 200 "purged" or 404 "nothing cached" is
 * success). A purge that fails, or comes while the last one failed (nginx
 * away: a delete then does not wait), is queued and retried in the
 * background. Never fails: the delete is committed and a missed purge is
 * bounded by CACHE_TTL. */
void dir_purge_photo(struct dir_purge *p, uint64_t key, uint32_t cookie);

/* As the delete of photo hex is acknowledged: every store then refuses
 * it, but a miss that read it from a store a moment before (a follower
 * directory or a store not yet told of the delete) may have put it back
 * in the cache. Queues a purge now and one after the longest store read
 * (PURGE_LATE_MS); never waits, so any thread may call it. */
void dir_purge_acked(struct dir_purge *p, const char *hex);

#endif
