/* Photos over HTTP (docs/web.md): GET and HEAD /<photo id>[.ext] answered
 * from one positional read whose checksum is verified before any byte
 * leaves, with the headers a browser, a CDN and the nginx cache in front
 * rely on: ETag (the SHA-256), Cache-Control immutable, ranges, 304.
 * Unknown ids and wrong cookies are 404, photos deleted by their owner
 * 410, copies trimmed or orphaned here 404 (the photo lives on another
 * store: a cache tries the next one), a needle failing its checksum 500
 * (and reported, as the RPC Read does). Like a Read by hint these reads
 * have no record behind them, so a store answers 503 while it is not
 * caught up on deletes (delete_follow.h). */
#ifndef STORE_HTTP_PHOTO_H
#define STORE_HTTP_PHOTO_H

#include "http.h"

/* The route's handler; arg is the struct store_service. */
void store_http_photo(void *arg, struct rt_http_req *req);

#endif
