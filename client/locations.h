/* A client's short memory of where photos live, so that reading a photo
 * again is one Read at a store instead of Lookup + Read. Haystack puts the
 * locations in the photo's URL for the same reason. Internal to libhs.
 *
 * An entry lives for the cluster's location TTL. Every failed read drops
 * it, and the download falls back to a fresh Lookup. This client's own
 * deletes drop it at once. A delete made by another client is seen at
 * once through the cache's deleted marker; with no cache, once the stores
 * hold its tombstones or the TTL has passed, whichever comes first: the
 * same bound as reading from a follower that lags. Reads from a remembered
 * location go by hint (ReadRequest.by_hint), so a store that has not
 * applied every delete refuses them and the Lookup decides.
 *
 * It also keeps the write groups (ListStores: each group's stores), so a
 * photo whose id names a group is read straight from one of its stores,
 * by hint, the store that served the group last tried first. The table is
 * fetched on first use, again every HSI_GROUPS_REFRESH_MS, and on a miss
 * at most every HSI_GROUPS_MISS_MS (old random keys name no group). */
#ifndef HS_CLIENT_LOCATIONS_H
#define HS_CLIENT_LOCATIONS_H

#include <stdint.h>

#include "directory.pb-c.h"
#include "hs.h"

struct hsi_locations;

#define HSI_LOC_MAX 8 /* replicas remembered per photo or group */
#define HSI_GROUPS_REFRESH_MS 5000
#define HSI_GROUPS_MISS_MS 1000

/* A Lookup answer rebuilt from an entry, in storage the caller owns (small
 * enough for the stack); res points into the struct itself, so don't copy
 * it. The replicas' addresses point into the location memory, which keeps
 * every address it has seen until hsi_locations_close. */
struct hsi_location {
	Hs__LookupResult res;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	Hs__Replica rep[HSI_LOC_MAX];
	Hs__Replica *repp[HSI_LOC_MAX];
	uint8_t sha[HS_SHA256_LEN];
};

/* ttl_ms > 0. NULL when out of memory. */
struct hsi_locations *hsi_locations_open(int64_t ttl_ms);
void hsi_locations_close(struct hsi_locations *l);

/* Remembers an OK Lookup result for id (copied). */
void hsi_locations_put(struct hsi_locations *l, hs_photo_id id,
    const Hs__LookupResult *x);

/* 1 with *out filled when a fresh entry for id exists, else 0. */
int hsi_locations_get(struct hsi_locations *l, hs_photo_id id,
    struct hsi_location *out);

void hsi_locations_forget(struct hsi_locations *l, hs_photo_id id);

/* 1 when the group table is to be fetched: never fetched, older than
 * HSI_GROUPS_REFRESH_MS, or (miss) the last fetch was over
 * HSI_GROUPS_MISS_MS ago. A 1 counts as a fetch begun. */
int hsi_groups_due(struct hsi_locations *l, int miss);

/* Replaces the group table with r's groups, their stores' addresses from
 * r's stores (a store not listed UP is left out). */
void hsi_groups_set(struct hsi_locations *l, const Hs__ListStoresReply *r);

/* 1 with out's replicas (no record) set to group's stores, the one that
 * last served it first; 0 when the group is unknown. */
int hsi_groups_get(struct hsi_locations *l, uint32_t group,
    struct hsi_location *out);

/* store_id served a photo of group: tried first next time. */
void hsi_groups_good(struct hsi_locations *l, uint32_t group,
    uint32_t store_id);

#endif
