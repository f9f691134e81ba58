/* Where grants go, on a store table and a group table of their own: at
 * 48 stores in 3 zones, 10,000 grants make at most 4 groups a store
 * (drawing sets freely made 3,734, nearly the 4,096 the table holds),
 * each grant over 3 zones; a group with a DOWN or full store is passed
 * over, and a grant goes on once no old group can take it. */
#include "check.h"
#include "placement.h"

#define IV 100 /* the heartbeat interval, ms */

static void
beat(dir_stores *s, uint32_t id, const char *zone, uint64_t free_bytes,
    int64_t now)
{
	Hs__StoreInfo in = HS__STORE_INFO__INIT;
	struct dir_store out;
	in.id = id;
	in.rpc_addr = "tcp://127.0.0.1:1";
	in.pub_addr = "tcp://127.0.0.1:2";
	in.zone = (char *)zone;
	in.state = HS__STORE_STATE__STORE_UP;
	in.capacity_bytes = 1ull << 40;
	in.free_bytes = free_bytes;
	dir_stores_heartbeat(s, &in, now, &out);
}

static const char *const zones[] = { "a", "b", "c" };

/* n stores, id i in zone i % 3, each with free bytes. */
static dir_stores *
table(uint32_t n, uint64_t free_bytes)
{
	dir_stores *s;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	for (uint32_t i = 1; i <= n; i++)
		beat(s, i, zones[i % 3], free_bytes, 0);
	return s;
}

/* One grant of 3 replicas of need bytes: 1 when placed, its group made
 * (id *next + 1) when new; the stores into out. */
static int
grant(dir_stores *s, dir_groups *g, uint64_t need, uint32_t *next,
    uint32_t out[3])
{
	uint32_t group;
	size_t ups;
	if (dir_place(s, g, 3, need, out, &group, &ups) != 3)
		return 0;
	if (group == 0) {
		struct dir_group e = { .id = ++*next, .n = 3 };
		memcpy(e.stores, out, sizeof(e.stores[0]) * 3);
		CHECK_EQ(dir_groups_put(g, &e), 0);
	}
	return 1;
}

static void
groups_grow_with_stores_not_combinations(void)
{
	dir_stores *s = table(48, 1ull << 30);
	dir_groups *g;
	CHECK(dir_groups_open(&g) == 0);
	uint32_t next = 0, out[3];
	struct dir_store e[3];
	for (int i = 0; i < 10000; i++) {
		CHECK(grant(s, g, 4096, &next, out));
		for (int k = 0; k < 3; k++)
			CHECK(dir_stores_get(s, out[k], &e[k]) == 0);
		CHECK_MSG(strcmp(e[0].zone, e[1].zone) != 0 &&
			strcmp(e[0].zone, e[2].zone) != 0 &&
			strcmp(e[1].zone, e[2].zone) != 0,
		    "grant %d on stores %u %u %u shares a zone", i, out[0],
		    out[1], out[2]);
	}
	fprintf(stderr, "10,000 grants over 48 stores: %u groups\n", next);
	/* Four a store at most; drawing sets freely made 3,734. */
	CHECK_MSG(next <= 48 * 4, "10,000 grants over 48 stores made %u groups",
	    next);
	/* Every store still takes writes: the reuse keeps spreading. */
	for (uint32_t id = 1; id <= 48; id++)
		CHECK_MSG(dir_groups_holding(g, id, 3, NULL, 0) > 0,
		    "store %u is in no group", id);
	dir_groups_close(g);
	dir_stores_close(s);
}

static void
down_or_full_groups_are_passed_over(void)
{
	dir_stores *s = table(12, 1ull << 30);
	dir_groups *g;
	CHECK(dir_groups_open(&g) == 0);
	uint32_t next = 0, out[3];
	for (int i = 0; i < 2000; i++)
		CHECK(grant(s, g, 4096, &next, out));
	/* Store 1 falls silent (DOWN), store 2 fills up; the rest beat on. */
	int64_t later = DIR_MISSED_BEATS * IV + 1;
	for (uint32_t id = 2; id <= 12; id++)
		beat(s, id, zones[id % 3], id == 2 ? 1000 : 1ull << 30, later);
	struct dir_store down[12];
	CHECK_EQ(dir_stores_expire(s, later, down, 12), 1);
	for (int i = 0; i < 2000; i++) {
		CHECK(grant(s, g, 4096, &next, out));
		for (int k = 0; k < 3; k++)
			CHECK_MSG(out[k] != 1 && out[k] != 2,
			    "grant %d placed on store %u (DOWN or full)", i,
			    out[k]);
	}
	dir_groups_close(g);
	dir_stores_close(s);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "groups grow with stores, not combinations",
		    groups_grow_with_stores_not_combinations },
		{ "down or full groups are passed over",
		    down_or_full_groups_are_passed_over },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
