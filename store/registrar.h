/* Stores register (DESIGN.md "Data paths (v2)"): once a photo is durable on
 * MIN_REPLICA_COUNT copies, the store that took its Write registers it with
 * the directory leader (RegisterPhotos), carrying its write token and the
 * stores holding it. One call is in flight at a time; registrations that
 * arrive meanwhile wait and go together as the next call (batching by
 * back-pressure, at most REG_BATCH_MAX a call). A copy that becomes
 * durable later registers in a later batch: the leader keeps the add-only
 * union of a photo's registrations. */
#ifndef STORE_REGISTRAR_H
#define STORE_REGISTRAR_H

#include <stddef.h>
#include <stdint.h>

#include "rpc_status.h"
#include "store.h"
#include "store.pb-c.h"

#define REG_BATCH_MAX 256 /* photos in one RegisterPhotos */
#define REG_STORES_MAX 17 /* stores named in one registration */

struct registrar;

/* What a registration needs of a Write, copied (free with free()). NULL
 * when out of memory. */
struct reg_photo;
struct reg_photo *reg_photo_new(struct registrar *r,
    const Hs__WriteRequest *req);

/* Starts the registrar's thread; it finds the leader in Redis (--redis)
 * or sends to the configured directories (followers forward). NULL with
 * err when it cannot start. */
struct registrar *registrar_open(struct store_service *svc, char *err,
    size_t errlen);
/* Stops the thread and fails what waits; later registrations fail at
 * once. registrar_free after every caller is gone. NULL is a no-op. */
void registrar_stop(struct registrar *r);
void registrar_free(struct registrar *r);

/* Registers photo p as durable on stores[0..n) and waits for the leader's
 * answer, until deadline_ms (Unix ms). HS_OK with the record's seq, or the
 * status and a reason for people in why. */
hs_status registrar_register(struct registrar *r, const struct reg_photo *p,
    const uint32_t *stores, size_t n, int64_t deadline_ms, uint64_t *seq,
    char *why, size_t whylen);

/* forward_release's `late`: store_id now holds photo (a struct reg_photo)
 * durably; it joins the next batch. Never blocks; a failure is logged
 * (the audit adopts a good copy the record does not name). */
void registrar_late_copy(void *photo, uint32_t store_id);

/* Registrations answered, and RegisterPhotos calls made, so far. */
void registrar_counts(struct registrar *r, uint64_t *photos, uint64_t *calls);

#endif
