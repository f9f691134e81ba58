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

/* count grants, each checked to span 3 zones and to miss the stores
 * avoid[0..navoid). */
static void
grants(dir_stores *s, dir_groups *g, int count, uint32_t *next,
    const uint32_t *avoid, size_t navoid)
{
	uint32_t out[3];
	struct dir_store e[3];
	for (int i = 0; i < count; i++) {
		CHECK(grant(s, g, 4096, next, out));
		for (int k = 0; k < 3; k++) {
			CHECK(dir_stores_get(s, out[k], &e[k]) == 0);
			for (size_t a = 0; a < navoid; a++)
				CHECK_MSG(out[k] != avoid[a],
				    "grant %d placed on store %u", i, out[k]);
		}
		CHECK_MSG(strcmp(e[0].zone, e[1].zone) != 0 &&
			strcmp(e[0].zone, e[2].zone) != 0 &&
			strcmp(e[1].zone, e[2].zone) != 0,
		    "grant %d on stores %u %u %u shares a zone", i, out[0],
		    out[1], out[2]);
	}
}

/* n stores with a group table, after count grants checked as above. */
struct world {
	dir_stores *s;
	dir_groups *g;
	uint32_t next; /* groups made */
};

static void
world_open(struct world *w, uint32_t n, int count)
{
	w->s = table(n, 1ull << 30);
	w->next = 0;
	CHECK(dir_groups_open(&w->g) == 0);
	grants(w->s, w->g, count, &w->next, NULL, 0);
}

static void
world_close(struct world *w)
{
	dir_groups_close(w->g);
	dir_stores_close(w->s);
}

static void
groups_grow_with_stores_not_combinations(void)
{
	struct world w;
	world_open(&w, 48, 10000);
	fprintf(stderr, "10,000 grants over 48 stores: %u groups\n", w.next);
	/* Four a store at most; drawing sets freely made 3,744. */
	CHECK_MSG(w.next <= 48 * 4,
	    "10,000 grants over 48 stores made %u groups", w.next);
	/* Every store still takes writes: the reuse keeps spreading. */
	for (uint32_t id = 1; id <= 48; id++)
		CHECK_MSG(dir_groups_holding(w.g, id, 3, NULL, 0) > 0,
		    "store %u is in no group", id);
	world_close(&w);
}

static void
down_or_full_groups_are_passed_over(void)
{
	struct world w;
	world_open(&w, 12, 2000);
	/* Store 1 falls silent (DOWN), store 2 fills up; the rest beat on. */
	int64_t later = DIR_MISSED_BEATS * IV + 1;
	for (uint32_t id = 2; id <= 12; id++)
		beat(w.s, id, zones[id % 3], id == 2 ? 1000 : 1ull << 30,
		    later);
	struct dir_store down[12];
	CHECK_EQ(dir_stores_expire(w.s, later, down, 12), 1);
	static const uint32_t gone[] = { 1, 2 };
	grants(w.s, w.g, 2000, &w.next, gone, 2);
	world_close(&w);
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
