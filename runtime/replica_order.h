/* The order a photo's web URLs try its replicas in: stores sorted by a hash
 * of the photo's key and the store's id, so photos spread evenly over the
 * stores holding them while one photo's order is the same every time, on
 * every directory and in every client (a cache keyed by URL then keeps one
 * copy per photo). The directory's redirect (directory/http_redirect.c)
 * and libhs' hs_url agree through this one function. */
#ifndef RT_REPLICA_ORDER_H
#define RT_REPLICA_ORDER_H

#include <stddef.h>
#include <stdint.h>

/* Sorts ids[0..n) into photo key's order (ties, i.e. equal ids, stay). */
void rt_replica_order(uint64_t key, uint32_t *ids, size_t n);

#endif
