/* The location memory: a photo read a moment ago is found again with
 * every replica in order; a different cookie, a forgotten photo, an expired
 * entry or one overwritten by a colliding photo is a miss, never someone
 * else's locations. The write groups: a group's UP stores, the one that
 * served it last first; an unknown group is a miss; the table is fetched
 * on first use and then not again at once. */
#include "check.h"
#include "locations.h"

/* A Lookup answer for id with n replicas on stores 1..n. */
struct answer {
	Hs__LookupResult x;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	Hs__Replica rep[3], *repp[3];
	char addr[3][32];
	uint8_t sha[HS_SHA256_LEN];
};

static void
make_answer(struct answer *a, hs_photo_id id, size_t n)
{
	hs__lookup_result__init(&a->x);
	hs__photo_record__init(&a->rec);
	hs__photo_id__init(&a->id);
	a->id.key = id.key;
	a->id.cookie = id.cookie;
	a->rec.id = &a->id;
	a->rec.size = 4096;
	memset(a->sha, 0xab, sizeof(a->sha));
	a->rec.sha256.data = a->sha;
	a->rec.sha256.len = sizeof(a->sha);
	for (size_t i = 0; i < n; i++) {
		hs__replica__init(&a->rep[i]);
		a->rep[i].store_id = (uint32_t)i + 1;
		snprintf(a->addr[i], sizeof(a->addr[i]), "tcp://127.0.0.1:%zu",
		    7131 + i);
		a->rep[i].rpc_addr = a->addr[i];
		a->rep[i].state = HS__STORE_STATE__STORE_UP;
		a->repp[i] = &a->rep[i];
	}
	a->x.record = &a->rec;
	a->x.replicas = a->repp;
	a->x.n_replicas = n;
}

/* A location memory keeping entries ttl_ms that has been told *a, the
 * answer for id with n replicas. */
static struct hsi_locations *
remembering(int64_t ttl_ms, struct answer *a, hs_photo_id id, size_t n)
{
	struct hsi_locations *l = hsi_locations_open(ttl_ms);
	make_answer(a, id, n);
	hsi_locations_put(l, id, &a->x);
	return l;
}

/* 1 if l gives locations for id. */
static int
remembers(struct hsi_locations *l, hs_photo_id id)
{
	struct hsi_location got;
	return hsi_locations_get(l, id, &got);
}

static void
test_found_again_in_order(void)
{
	struct answer a;
	hs_photo_id id = { 0x4d2, 0xcafef00d };
	struct hsi_locations *l = remembering(60000, &a, id, 3);
	struct hsi_location got;
	CHECK_EQ(hsi_locations_get(l, id, &got), 1);
	CHECK_EQ(got.res.n_replicas, 3);
	CHECK_EQ(got.res.record->size, 4096);
	CHECK_EQ(got.res.record->id->cookie, 0xcafef00d);
	CHECK(memcmp(got.res.record->sha256.data, a.sha, HS_SHA256_LEN) == 0);
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ(got.res.replicas[i]->store_id, i + 1);
		CHECK(strcmp(got.res.replicas[i]->rpc_addr, a.addr[i]) == 0);
	}
	hsi_locations_close(l);
}

static void
test_misses(void)
{
	struct answer a;
	hs_photo_id id = { 77, 1 };
	struct hsi_locations *l = remembering(60000, &a, id, 2);
	/* A guessed cookie learns nothing. */
	CHECK_EQ(remembers(l, (hs_photo_id){ 77, 2 }), 0);
	hsi_locations_forget(l, id);
	CHECK_EQ(remembers(l, id), 0);
	/* A photo on the same slot replaces it. */
	hsi_locations_put(l, id, &a.x);
	hs_photo_id other = { 78, 1 };
	for (uint64_t k = 78; k < 1000000; k++) {
		other.key = k;
		hsi_locations_put(l, other, &a.x);
		if (!remembers(l, id))
			break;
	}
	CHECK_EQ(remembers(l, id), 0);
	CHECK_EQ(remembers(l, other), 1);
	/* No replicas: nothing to remember. */
	make_answer(&a, id, 0);
	hsi_locations_put(l, id, &a.x);
	CHECK_EQ(remembers(l, id), 0);
	hsi_locations_close(l);
}

static void
test_expires(void)
{
	struct answer a;
	hs_photo_id id = { 9, 9 };
	struct hsi_locations *l = remembering(50, &a, id, 1);
	CHECK_EQ(remembers(l, id), 1);
	CHECK(CHECK_WAIT_UNTIL(!remembers(l, id), 2000));
	hsi_locations_close(l);
}

static void
test_groups(void)
{
	struct hsi_locations *l = hsi_locations_open(1000);
	Hs__StoreInfo st[3], *stp[3];
	char addr[3][32];
	uint32_t members[3] = { 3, 1, 2 };
	Hs__WriteGroup g = HS__WRITE_GROUP__INIT, *gp = &g;
	Hs__ListStoresReply r = HS__LIST_STORES_REPLY__INIT;
	struct hsi_location out;
	for (int i = 0; i < 3; i++) {
		hs__store_info__init(&st[i]);
		st[i].id = (uint32_t)i + 1;
		snprintf(addr[i], sizeof(addr[i]), "tcp://127.0.0.1:%d",
		    7200 + i);
		st[i].rpc_addr = addr[i];
		st[i].state = i == 1 ? HS__STORE_STATE__STORE_DOWN :
				       HS__STORE_STATE__STORE_UP;
		stp[i] = &st[i];
	}
	g.id = 7;
	g.stores = members;
	g.n_stores = 3;
	r.stores = stp;
	r.n_stores = 3;
	r.groups = &gp;
	r.n_groups = 1;
	CHECK(l != NULL);
	CHECK_EQ(hsi_groups_due(l, 0), 1); /* never fetched */
	CHECK_EQ(hsi_groups_due(l, 1), 0); /* just begun */
	hsi_groups_set(l, &r);
	CHECK_EQ(hsi_groups_get(l, 8, &out), 0);
	CHECK_EQ(hsi_groups_get(l, 7, &out), 1);
	/* Store 2 is DOWN: left out; the order is the group's. */
	CHECK_EQ(out.res.n_replicas, 2);
	CHECK_EQ(out.repp[0]->store_id, 3);
	CHECK_EQ(out.repp[1]->store_id, 1);
	CHECK(strcmp(out.repp[1]->rpc_addr, addr[0]) == 0);
	hsi_groups_good(l, 7, 1);
	hsi_groups_set(l, &r); /* a refresh keeps the good store */
	CHECK_EQ(hsi_groups_get(l, 7, &out), 1);
	CHECK_EQ(out.repp[0]->store_id, 1);
	CHECK_EQ(out.repp[1]->store_id, 3);
	hsi_locations_close(l);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "found again in order", test_found_again_in_order },
		{ "misses", test_misses },
		{ "expires", test_expires },
		{ "groups", test_groups },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
