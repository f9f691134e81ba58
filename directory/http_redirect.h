/* The photo redirect: any directory, leader or follower, answers a GET
 * of a photo's path (/<id>, /<id>.jpg) with a 302 to the store of a
 * healthy replica (docs/web.md), from its own record and store tables
 * like a Lookup. Haystack's URL names the
 * machine; here the directory names it at read time, so a URL outlives
 * the stores it was first served from. */
#ifndef DIR_HTTP_REDIRECT_H
#define DIR_HTTP_REDIRECT_H

struct rt_http_req;

/* The route handler (arg: the struct dir), answering
 *   302  Location: <store http_url>/<id><.ext as asked>, to the healthy
 *        replicas (UP or READONLY, with an http_url) in the photo's
 *        stable order (runtime/replica_order.h) after skipping ?skip=N
 *   400  not /<24 hex digits>[.ext], or a bad skip
 *   404  unknown id or wrong cookie
 *   410  deleted
 *   503  no healthy replica left (after skip), or this directory still
 *        loading or behind the change log for an id it does not know
 *        (Retry-After: 1)
 * every answer with Cache-Control: no-store (a redirect is only good
 * while its store is), 302 and a 503 for want of replicas with
 * X-Hs-Replicas: the number of healthy replicas (how far skip can go). */
void dir_http_redirect(void *arg, struct rt_http_req *req);

#endif
