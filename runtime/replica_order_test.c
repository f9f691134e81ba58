/* The replicas' web order: a permutation of the photo's stores, the same
 * every time for one photo, with each store first for about an equal share
 * of photos (so redirects spread the reads). */
#include <string.h>

#include "check.h"
#include "replica_order.h"

static void
test_one_photo_always_gets_the_same_permutation(void)
{
	for (uint64_t key = 1; key < 200; key++) {
		uint32_t a[3] = { 7, 2, 5 }, b[3] = { 5, 7, 2 };
		rt_replica_order(key, a, 3);
		rt_replica_order(key, b, 3);
		CHECK(memcmp(a, b, sizeof(a)) == 0);
		CHECK(a[0] + a[1] + a[2] == 14 && a[0] != a[1] &&
		    a[1] != a[2] && a[0] != a[2]);
	}
}

static void
test_photos_spread_evenly_over_their_stores(void)
{
	enum { N = 30000 };
	int first[3] = { 0 };
	for (uint64_t k = 0; k < N; k++) {
		uint32_t ids[3] = { 1, 2, 3 };
		/* keys as grants make them: a group in the top 16 bits */
		rt_replica_order((7ull << 48) | k, ids, 3);
		first[ids[0] - 1]++;
	}
	for (int i = 0; i < 3; i++)
		CHECK_MSG(first[i] > N / 3 - N / 30 &&
			first[i] < N / 3 + N / 30,
		    "store %d first for %d of %d photos", i + 1, first[i], N);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "one photo always gets the same permutation",
		    test_one_photo_always_gets_the_same_permutation },
		{ "photos spread evenly over their stores",
		    test_photos_spread_evenly_over_their_stores },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
