/* The store table on its own, on a clock the test moves: a heartbeat makes
 * a store UP (or READONLY, as it says), silence for DIR_MISSED_BEATS
 * intervals makes it DOWN and the next heartbeat brings it back, and
 * Allocate's pick takes distinct UP stores with room, spread over zones,
 * or refuses when too few qualify. */
#include "check.h"
#include "stores.h"

#define IV 100 /* the heartbeat interval, ms */

static Hs__StoreInfo
info(uint32_t id, const char *zone, uint64_t free_bytes, Hs__StoreState st)
{
	Hs__StoreInfo in = HS__STORE_INFO__INIT;
	in.id = id;
	in.rpc_addr = "tcp://127.0.0.1:1";
	in.pub_addr = "tcp://127.0.0.1:2";
	in.zone = (char *)zone;
	in.state = st;
	in.capacity_bytes = 1ull << 40;
	in.free_bytes = free_bytes;
	in.volumes = 2;
	return in;
}

static enum dir_store_change
beat(dir_stores *s, uint32_t id, const char *zone, uint64_t free_bytes,
    Hs__StoreState st, int64_t now)
{
	Hs__StoreInfo in = info(id, zone, free_bytes, st);
	struct dir_store out;
	return dir_stores_heartbeat(s, &in, now, &out);
}

static void
heartbeats_join_then_stay_up(void)
{
	dir_stores *s;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	struct dir_store e;
	CHECK_EQ(dir_stores_get(s, 1, &e), -1);
	Hs__StoreInfo in = info(1, "a", 5000, HS__STORE_STATE__STORE_UP);
	CHECK_EQ(dir_stores_heartbeat(s, &in, 1000, &e), DIR_STORE_JOINED);
	CHECK_EQ(e.id, 1);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_UP);
	CHECK_EQ(e.free_bytes, 5000);
	CHECK(strcmp(e.zone, "a") == 0);
	CHECK(strcmp(dir_store_topic(DIR_STORE_JOINED), "store.joined") == 0);
	CHECK_EQ(beat(s, 1, "a", 4000, HS__STORE_STATE__STORE_UP, 1100),
	    DIR_STORE_SAME);
	CHECK(dir_store_topic(DIR_STORE_SAME) == NULL);
	CHECK_EQ(dir_stores_get(s, 1, &e), 0);
	CHECK_EQ(e.free_bytes, 4000);
	CHECK_EQ(e.last_seen_mono, 1100);
	dir_stores_close(s);
}

static void
silence_makes_down_after_missed_beats(void)
{
	dir_stores *s;
	struct dir_store down[4], e;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_UP, 1000);
	beat(s, 2, "a", 5000, HS__STORE_STATE__STORE_UP, 1000);
	/* Store 2 keeps beating; store 1 falls silent. */
	beat(s, 2, "a", 5000, HS__STORE_STATE__STORE_UP, 1200);
	/* Exactly DIR_MISSED_BEATS intervals of silence is still UP. */
	CHECK_EQ(dir_stores_expire(s, 1000 + DIR_MISSED_BEATS * IV, down, 4),
	    0);
	CHECK_EQ(dir_stores_expire(s, 1000 + DIR_MISSED_BEATS * IV + 1, down,
		     4),
	    1);
	CHECK_EQ(down[0].id, 1);
	CHECK_EQ(down[0].state, HS__STORE_STATE__STORE_DOWN);
	CHECK(strcmp(dir_store_topic(DIR_STORE_DOWN), "store.down") == 0);
	CHECK_EQ(dir_stores_get(s, 1, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_DOWN);
	CHECK_EQ(dir_stores_get(s, 2, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_UP);
	/* DOWN once: a later expiry does not report it again. */
	CHECK_EQ(dir_stores_expire(s, 1400, down, 4), 0);
	/* Listed only with include_down. */
	struct dir_store l[4];
	CHECK_EQ(dir_stores_list(s, 0, l, 4), 1);
	CHECK_EQ(l[0].id, 2);
	CHECK_EQ(dir_stores_list(s, 1, l, 4), 2);
	/* The next heartbeat brings it back. */
	CHECK_EQ(beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_UP, 1500),
	    DIR_STORE_UP);
	CHECK(strcmp(dir_store_topic(DIR_STORE_UP), "store.up") == 0);
	CHECK_EQ(dir_stores_get(s, 1, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_UP);
	dir_stores_close(s);
}

static void
readonly_is_the_stores_word(void)
{
	dir_stores *s;
	struct dir_store e;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	CHECK_EQ(beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_READONLY, 10),
	    DIR_STORE_JOINED);
	CHECK_EQ(dir_stores_get(s, 1, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_READONLY);
	CHECK_EQ(beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_UP, 20),
	    DIR_STORE_STATE);
	CHECK_EQ(beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_READONLY, 30),
	    DIR_STORE_STATE);
	CHECK(strcmp(dir_store_topic(DIR_STORE_STATE), "store.state") == 0);
	/* A store cannot declare itself DOWN: only silence does that. */
	CHECK_EQ(beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_DOWN, 40),
	    DIR_STORE_STATE);
	CHECK_EQ(dir_stores_get(s, 1, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_UP);
	/* READONLY is listed as live but never picked for an upload. */
	beat(s, 1, "a", 5000, HS__STORE_STATE__STORE_READONLY, 50);
	struct dir_store l[2];
	CHECK_EQ(dir_stores_list(s, 0, l, 2), 1);
	uint32_t ids[1];
	size_t ups;
	CHECK_EQ(dir_stores_pick(s, 1, 1, ids, &ups), 0);
	CHECK_EQ(ups, 0);
	dir_stores_close(s);
}

static void
put_takes_the_leaders_view_and_restarts_the_clock(void)
{
	dir_stores *s;
	struct dir_store e, down[2];
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	Hs__StoreInfo in = info(3, "b", 700, HS__STORE_STATE__STORE_DOWN);
	dir_stores_put(s, &in, 5000);
	CHECK_EQ(dir_stores_get(s, 3, &e), 0);
	CHECK_EQ(e.state, HS__STORE_STATE__STORE_DOWN);
	CHECK_EQ(e.free_bytes, 700);
	in = info(3, "b", 700, HS__STORE_STATE__STORE_UP);
	dir_stores_put(s, &in, 5000);
	CHECK_EQ(dir_stores_expire(s, 5000 + DIR_MISSED_BEATS * IV, down, 2),
	    0);
	CHECK_EQ(dir_stores_expire(s, 5001 + DIR_MISSED_BEATS * IV, down, 2),
	    1);
	dir_stores_close(s);
}

static int
in_set(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static void
pick_spreads_over_zones_and_skips_full_or_down(void)
{
	dir_stores *s;
	struct dir_store down[8];
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	/* Zone a has three stores, b and c one each; 7 is full, 8 DOWN. */
	beat(s, 1, "a", 1 << 30, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 2, "a", 1 << 30, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 3, "a", 1 << 30, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 4, "b", 1 << 20, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 5, "c", 1 << 20, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 7, "d", 100, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 8, "e", 1 << 30, HS__STORE_STATE__STORE_UP, -1000);
	CHECK_EQ(dir_stores_expire(s, 0, down, 8), 1);
	for (int round = 0; round < 200; round++) {
		uint32_t ids[3];
		size_t ups;
		CHECK_EQ(dir_stores_pick(s, 3, 4096, ids, &ups), 3);
		CHECK_EQ(ups, 6);
		CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
		CHECK(!in_set(ids, 3, 7) && !in_set(ids, 3, 8));
		/* Three zones qualify, so each replica is in another one,
		 * however much more room zone a has. */
		CHECK(in_set(ids, 3, 4) && in_set(ids, 3, 5));
	}
	/* Five stores in three zones: zone a takes the two left over. */
	uint32_t five[5];
	size_t ups;
	CHECK_EQ(dir_stores_pick(s, 5, 4096, five, &ups), 5);
	for (uint32_t id = 1; id <= 5; id++)
		CHECK(in_set(five, 5, id));
	dir_stores_close(s);
}

static void
pick_refuses_when_too_few(void)
{
	dir_stores *s;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	beat(s, 1, "a", 1 << 20, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 2, "b", 1 << 20, HS__STORE_STATE__STORE_UP, 0);
	beat(s, 3, "c", 100, HS__STORE_STATE__STORE_UP, 0);
	uint32_t ids[DIR_MAX_REPLICAS_PICK + 1] = { 0 };
	size_t ups;
	/* Two of three UP stores have room for 4 KiB: three cannot be had. */
	CHECK_EQ(dir_stores_pick(s, 3, 4096, ids, &ups), 2);
	CHECK_EQ(ups, 3);
	CHECK_EQ(ids[0], 0); /* nothing picked */
	CHECK_EQ(dir_stores_pick(s, 2, 4096, ids, &ups), 2);
	CHECK(in_set(ids, 2, 1) && in_set(ids, 2, 2));
	CHECK_EQ(dir_stores_pick(s, DIR_MAX_REPLICAS_PICK + 1, 0, ids, &ups),
	    3);
	dir_stores_close(s);
}

static void
full_table_refuses_newcomers(void)
{
	dir_stores *s;
	struct dir_store e;
	CHECK(dir_stores_open(&s, IV, 0) == 0);
	for (uint32_t id = 1; id <= DIR_MAX_STORES; id++)
		CHECK_EQ(beat(s, id, "", 1, HS__STORE_STATE__STORE_UP, 0),
		    DIR_STORE_JOINED);
	CHECK_EQ(beat(s, DIR_MAX_STORES + 1, "", 1, HS__STORE_STATE__STORE_UP,
		     0),
	    DIR_STORE_FULL);
	CHECK_EQ(dir_stores_get(s, DIR_MAX_STORES + 1, &e), -1);
	CHECK_EQ(beat(s, 1, "", 1, HS__STORE_STATE__STORE_UP, 10),
	    DIR_STORE_SAME);
	dir_stores_close(s);
}

/* A configured cap below the array's size holds the same way. */
static void
configured_cap_refuses_newcomers(void)
{
	dir_stores *s;
	CHECK(dir_stores_open(&s, IV, 2) == 0);
	CHECK_EQ(dir_stores_max(s), 2);
	CHECK_EQ(beat(s, 1, "", 1, HS__STORE_STATE__STORE_UP, 0),
	    DIR_STORE_JOINED);
	CHECK_EQ(beat(s, 2, "", 1, HS__STORE_STATE__STORE_UP, 0),
	    DIR_STORE_JOINED);
	CHECK_EQ(beat(s, 3, "", 1, HS__STORE_STATE__STORE_UP, 0),
	    DIR_STORE_FULL);
	CHECK_EQ(beat(s, 2, "", 1, HS__STORE_STATE__STORE_UP, 10),
	    DIR_STORE_SAME);
	dir_stores_close(s);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "heartbeats join then stay up",
		    heartbeats_join_then_stay_up },
		{ "silence makes down after missed beats",
		    silence_makes_down_after_missed_beats },
		{ "readonly is the store's word", readonly_is_the_stores_word },
		{ "put takes the leader's view and restarts the clock",
		    put_takes_the_leaders_view_and_restarts_the_clock },
		{ "pick spreads over zones and skips full or down",
		    pick_spreads_over_zones_and_skips_full_or_down },
		{ "pick refuses when too few", pick_refuses_when_too_few },
		{ "full table refuses newcomers",
		    full_table_refuses_newcomers },
		{ "configured cap refuses newcomers",
		    configured_cap_refuses_newcomers },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
