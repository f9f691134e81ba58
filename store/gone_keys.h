/* Keys of photos deleted while this store held no copy of them. A copy
 * that arrives afterwards (a slow forward of the upload, a repair racing
 * the delete) would be a live needle of a deleted photo, which a read by
 * hint could serve: the put paths refuse these keys, and a put that loses
 * the race to the delete is tombstoned at once (store_put_allowed). Kept in
 * memory for a window longer than any copy can be in flight (a forward is
 * bounded by its write's deadline, a repair's Push by its call's), in two
 * generations so old keys age out without a sweep. A deleted key is never
 * written again, so remembering one too long costs nothing. Thread safe. */
#ifndef STORE_GONE_KEYS_H
#define STORE_GONE_KEYS_H

#include <stdint.h>

struct gone_keys;

/* keep_ms: how long a key is remembered at least (at most twice that). */
struct gone_keys *gone_keys_open(int64_t keep_ms);
void gone_keys_close(struct gone_keys *g);

/* Remembers key (0 is ignored). */
void gone_keys_add(struct gone_keys *g, uint64_t key);

/* 1 if key was deleted here while absent, within the window. */
int gone_keys_has(struct gone_keys *g, uint64_t key);

#endif
