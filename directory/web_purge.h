/* The web cache (nginx's proxy_cache in front of the stores,
 * testing/nginx.conf.template) forgets a deleted photo: after a delete
 * commits, the leader asks nginx's purge location to drop the photo's
 * entry, through Debian's libcurl, before it acknowledges. */
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

/* Drops the entry of photo (key, cookie), waiting at most wait_ms for
 * nginx (a 200 "purged" or 404 "nothing cached" is success). A purge that
 * fails, or comes while earlier ones are still failing (nginx away: a
 * delete then does not wait), is queued and retried in the background.
 * Never fails: the delete is committed and a missed purge is bounded by
 * CACHE_TTL. */
void dir_purge_photo(struct dir_purge *p, uint64_t key, uint32_t cookie);

#endif
