/* The status page every directory serves (docs/web.md): "/" is one HTML
 * page with inline CSS and JS and no other asset (status_page.h), which
 * fetches "/status.json" every 2 s: this directory's role, the leader and
 * epoch, every directory with its lag, every store with its state, zone
 * and capacity, the replication queue and the last events. Nothing on it
 * is secret (no cookie, no key): it is served to anyone who can reach the
 * port. */
#ifndef DIR_HTTP_STATUS_H
#define DIR_HTTP_STATUS_H

#include "http.h"

/* Route handlers; arg is the struct dir. */
void dir_http_status_page(void *arg, struct rt_http_req *req);
void dir_http_status_json(void *arg, struct rt_http_req *req);

#endif
