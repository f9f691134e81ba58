/* Where a grant's photos go (DESIGN.md, "Data paths (v2)"): a write
 * group. The stores are drawn as dir_stores_pick draws them (UP, with
 * room, over zones first, weighted by free space). Once the first store
 * drawn is in DIR_GROUPS_PER_STORE groups of that size, an existing group
 * that holds it is taken instead of a new set, as long as one is
 * writable (every store UP with room) and spread over as many zones as the
 * drawn set: so the group table grows with the stores, not with their
 * combinations (at 48 stores, drawing sets freely filled the 4,096-group
 * table, and each later grant then made a group the table could not hold,
 * until the 65,535 group ids ran out). */
#ifndef DIR_PLACEMENT_H
#define DIR_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "groups.h"
#include "stores.h"

/* Groups per store (of one size) before groups are reused: Haystack's
 * "several logical volumes per store". Each new group is charged to its
 * first store, which then held fewer: while stores stay UP, a table of
 * S stores holds at most S x 4 groups of a size (4,096 at 1,024). */
#define DIR_GROUPS_PER_STORE 4

/* Places a grant of n replicas of need bytes: n, with the stores in
 * stores[0..n) and their group's id in *group (0: no group has these
 * stores yet; the caller makes it). Fewer than n when too few stores
 * qualify (nothing placed); *ups = the stores UP. */
size_t dir_place(dir_stores *s, dir_groups *g, size_t n, uint64_t need,
    uint32_t *stores, uint32_t *group, size_t *ups);

#endif
