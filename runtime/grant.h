/* Photo ids of write grants (DESIGN.md, "Data paths (v2)"). A grant's key
 * carries its write group in clear in the top 16 bits, so a reader can find
 * a replica without a Lookup, and a sequence number from the leader's
 * fenced counter in the low 48 bits, passed through a keyed permutation so
 * that one id does not reveal its neighbours. The cookie is a keyed
 * function of the key: the directory need not remember it to check a
 * registration, and a store checks it against the grant's token. Keys are
 * made with the cluster key, so only its holders can make or check them;
 * the group is readable by anyone. */
#ifndef RT_GRANT_H
#define RT_GRANT_H

#include <stdint.h>

#include "key.h"

#define RT_GRANT_SEQ_BITS 48
#define RT_GRANT_SEQ_MAX ((UINT64_C(1) << RT_GRANT_SEQ_BITS) - 1)
#define RT_GRANT_GROUP_MAX 0xffffu
#define RT_GRANT_MAX_COUNT 256 /* ids in one grant */

/* The write group a key names; 0 for none. Keys made before groups were
 * random, so this is a hint: a wrong one costs the reader one Lookup. */
static inline uint32_t
rt_grant_group_of(uint64_t key)
{
	return (uint32_t)(key >> RT_GRANT_SEQ_BITS);
}

/* The key of sequence number seq (<= RT_GRANT_SEQ_MAX) in group (1..
 * RT_GRANT_GROUP_MAX). Distinct (group, seq) give distinct keys. */
uint64_t rt_grant_key(const rt_key *k, uint32_t group, uint64_t seq);

/* The sequence number rt_grant_key put into key (the inverse). */
uint64_t rt_grant_seq_of(const rt_key *k, uint64_t key);

/* The cookie of a grant's key. */
uint32_t rt_grant_cookie(const rt_key *k, uint64_t key);

#endif
