/* The record table on its own: records are applied by change-log sequence
 * (an older or equal seq is ignored, so a replay or a resend changes
 * nothing), lookups copy the record out, deletes keep a tombstone record,
 * applied_seq only moves forward, and records that do not fit the inline
 * layout are refused. */
#include "check.h"
#include "records.h"

static const uint8_t sha_a[32] = { 1, 2, 3 };
static const uint8_t sha_b[32] = { 9, 9, 9 };

/* A record message over the caller's id and stores (pointers into them). */
static Hs__PhotoRecord
rec(Hs__PhotoId *id, uint64_t key, uint32_t cookie, uint64_t seq,
    uint32_t *stores, size_t nstores)
{
	Hs__PhotoRecord r = HS__PHOTO_RECORD__INIT;
	hs__photo_id__init(id);
	id->key = key;
	id->cookie = cookie;
	r.id = id;
	r.seq = seq;
	r.size = 1000 + key % 1000;
	r.sha256.data = (uint8_t *)sha_a;
	r.sha256.len = 32;
	r.state = HS__PHOTO_STATE__PHOTO_ACTIVE;
	r.stores = stores;
	r.n_stores = nstores;
	r.target_replicas = 3;
	r.created_ms = 111;
	r.updated_ms = 222;
	return r;
}

static void
apply_then_get_copies_every_field(void)
{
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	Hs__PhotoId id;
	uint32_t stores[] = { 70000, 5, 123456 };
	Hs__PhotoRecord r = rec(&id, 42, 7, 3, stores, 3);
	CHECK_EQ(dir_records_apply(t, &r), 1);
	CHECK(dir_records_has(t, 42));
	CHECK(!dir_records_has(t, 43));
	struct dir_rec_view v;
	CHECK_EQ(dir_records_get(t, 43, &v), -1);
	CHECK_EQ(dir_records_get(t, 42, &v), 0);
	CHECK_EQ(v.rec.id->key, 42);
	CHECK_EQ(v.rec.id->cookie, 7);
	CHECK_EQ(v.rec.seq, 3);
	CHECK_EQ(v.rec.size, 1042);
	CHECK_EQ(v.rec.sha256.len, 32);
	CHECK(memcmp(v.rec.sha256.data, sha_a, 32) == 0);
	CHECK_EQ(v.rec.state, HS__PHOTO_STATE__PHOTO_ACTIVE);
	CHECK_EQ(v.rec.n_stores, 3);
	/* Store ids survive the 16-bit interning, in order. */
	CHECK_EQ(v.rec.stores[0], 70000);
	CHECK_EQ(v.rec.stores[1], 5);
	CHECK_EQ(v.rec.stores[2], 123456);
	CHECK_EQ(v.rec.target_replicas, 3);
	CHECK_EQ(v.rec.created_ms, 111);
	CHECK_EQ(v.rec.updated_ms, 222);
	/* Applying does not move applied_seq: the caller does, in order. */
	CHECK_EQ(dir_records_applied(t), 0);
	dir_records_close(t);
}

static void
older_or_equal_seq_is_ignored(void)
{
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	Hs__PhotoId id;
	uint32_t s1[] = { 1 }, s2[] = { 2, 3 };
	Hs__PhotoRecord r = rec(&id, 5, 1, 10, s1, 1);
	CHECK_EQ(dir_records_apply(t, &r), 1);
	/* The same change again (a replayed log, a resent event). */
	CHECK_EQ(dir_records_apply(t, &r), 0);
	/* A different photo under the same key with an older seq. */
	Hs__PhotoId id2;
	Hs__PhotoRecord other = rec(&id2, 5, 99, 9, s2, 2);
	other.sha256.data = (uint8_t *)sha_b;
	CHECK_EQ(dir_records_apply(t, &other), 0);
	struct dir_rec_view v;
	CHECK_EQ(dir_records_get(t, 5, &v), 0);
	CHECK_EQ(v.rec.id->cookie, 1);
	CHECK_EQ(v.rec.seq, 10);
	CHECK_EQ(v.rec.n_stores, 1);
	CHECK(memcmp(v.rec.sha256.data, sha_a, 32) == 0);
	struct dir_rec_stats st;
	dir_records_stats(t, &st);
	CHECK_EQ(st.total, 1);
	CHECK_EQ(st.active, 1);
	CHECK_EQ(st.bytes, 1005);
	/* A newer change replaces it. */
	Hs__PhotoRecord newer = rec(&id2, 5, 1, 11, s2, 2);
	CHECK_EQ(dir_records_apply(t, &newer), 1);
	CHECK_EQ(dir_records_get(t, 5, &v), 0);
	CHECK_EQ(v.rec.seq, 11);
	CHECK_EQ(v.rec.n_stores, 2);
	CHECK_EQ(v.rec.stores[1], 3);
	dir_records_stats(t, &st);
	CHECK_EQ(st.total, 1);
	dir_records_close(t);
}

static void
delete_keeps_the_record_and_moves_the_counts(void)
{
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	Hs__PhotoId ids[3];
	uint32_t s[] = { 4 };
	for (uint64_t k = 1; k <= 3; k++) {
		Hs__PhotoRecord r = rec(&ids[k - 1], k, 1, k, s, 1);
		CHECK_EQ(dir_records_apply(t, &r), 1);
	}
	struct dir_rec_stats st;
	dir_records_stats(t, &st);
	CHECK_EQ(st.active, 3);
	CHECK_EQ(st.deleted, 0);
	CHECK_EQ(st.bytes, 1001 + 1002 + 1003);
	Hs__PhotoId id;
	Hs__PhotoRecord del = rec(&id, 2, 1, 4, s, 1);
	del.state = HS__PHOTO_STATE__PHOTO_DELETED;
	CHECK_EQ(dir_records_apply(t, &del), 1);
	dir_records_stats(t, &st);
	CHECK_EQ(st.active, 2);
	CHECK_EQ(st.deleted, 1);
	CHECK_EQ(st.bytes, 1001 + 1003);
	CHECK_EQ(st.total, 3);
	/* Still held (a resent Delete answers its seq), as deleted. */
	struct dir_rec_view v;
	CHECK(dir_records_has(t, 2));
	CHECK_EQ(dir_records_get(t, 2, &v), 0);
	CHECK_EQ(v.rec.state, HS__PHOTO_STATE__PHOTO_DELETED);
	CHECK_EQ(v.rec.seq, 4);
	/* The registration replayed from an old log entry cannot revive it. */
	Hs__PhotoRecord old = rec(&id, 2, 1, 2, s, 1);
	CHECK_EQ(dir_records_apply(t, &old), 0);
	CHECK_EQ(dir_records_get(t, 2, &v), 0);
	CHECK_EQ(v.rec.state, HS__PHOTO_STATE__PHOTO_DELETED);
	dir_records_close(t);
}

static void
applied_seq_only_moves_forward(void)
{
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	dir_records_set_applied(t, 5);
	CHECK_EQ(dir_records_applied(t), 5);
	dir_records_set_applied(t, 3);
	CHECK_EQ(dir_records_applied(t), 5);
	dir_records_set_applied(t, 9);
	CHECK_EQ(dir_records_applied(t), 9);
	dir_records_close(t);
}

static void
records_that_do_not_fit_are_refused(void)
{
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	Hs__PhotoId id;
	uint32_t s[DIR_MAX_REPLICAS + 1] = { 1, 2, 3, 4, 5, 6, 7 };
	Hs__PhotoRecord r = rec(&id, 0, 1, 1, s, 1);
	CHECK_EQ(dir_records_apply(t, &r), -1); /* key 0 is no id */
	r = rec(&id, 8, 1, 1, s, DIR_MAX_REPLICAS + 1);
	CHECK_EQ(dir_records_apply(t, &r), -1);
	r = rec(&id, 8, 1, 1, s, 1);
	r.sha256.len = 31;
	CHECK_EQ(dir_records_apply(t, &r), -1);
	r = rec(&id, 8, 1, 1, s, 1);
	r.size = (uint64_t)UINT32_MAX + 1;
	CHECK_EQ(dir_records_apply(t, &r), -1);
	r = rec(&id, 8, 1, 1, s, 1);
	r.id = NULL;
	CHECK_EQ(dir_records_apply(t, &r), -1);
	CHECK(!dir_records_has(t, 8));
	/* The most replicas that fit do. */
	r = rec(&id, 8, 1, 1, s, DIR_MAX_REPLICAS);
	CHECK_EQ(dir_records_apply(t, &r), 1);
	struct dir_rec_view v;
	CHECK_EQ(dir_records_get(t, 8, &v), 0);
	CHECK_EQ(v.rec.n_stores, DIR_MAX_REPLICAS);
	CHECK_EQ(v.rec.stores[DIR_MAX_REPLICAS - 1], 6);
	dir_records_close(t);
}

/* Enough keys to grow the array and the index several times: every one
 * is still found with its own record. */
static void
many_records_all_found(void)
{
	enum { N = 50000 };
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	uint32_t s[] = { 1, 2 };
	for (uint64_t i = 1; i <= N; i++) {
		Hs__PhotoId id;
		/* Spread keys, as random ids are. */
		Hs__PhotoRecord r = rec(&id, i * 0x9e3779b97f4a7c15ULL,
		    (uint32_t)i, i, s, 2);
		CHECK_EQ(dir_records_apply(t, &r), 1);
	}
	for (uint64_t i = 1; i <= N; i++) {
		struct dir_rec_view v;
		CHECK_EQ(dir_records_get(t, i * 0x9e3779b97f4a7c15ULL, &v), 0);
		CHECK_EQ(v.rec.id->cookie, (uint32_t)i);
		CHECK_EQ(v.rec.seq, i);
	}
	struct dir_rec_stats st;
	dir_records_stats(t, &st);
	CHECK_EQ(st.total, N);
	CHECK_EQ(st.active, N);
	dir_records_close(t);
}

/* Paging by keys_after visits every key once, ascending, whatever the
 * arrival order and page size. */
static void
keys_after_pages_in_key_order(void)
{
	enum { N = 5000 };
	dir_records *t;
	CHECK(dir_records_open(&t) == 0);
	uint32_t s[] = { 1 };
	for (uint64_t i = 1; i <= N; i++) {
		Hs__PhotoId id;
		Hs__PhotoRecord r = rec(&id, i * 0x9e3779b97f4a7c15ULL,
		    (uint32_t)i, i, s, 1);
		CHECK_EQ(dir_records_apply(t, &r), 1);
	}
	size_t pages[] = { 1, 7, 1000, N, N + 1 };
	uint64_t *keys = malloc((N + 1) * sizeof(*keys));
	CHECK(keys != NULL);
	for (size_t p = 0; p < 5; p++) {
		uint64_t after = 0, seen = 0;
		int more = 1;
		while (more) {
			size_t n = dir_records_keys_after(t, after, keys,
			    pages[p], &more);
			CHECK(n <= pages[p]);
			CHECK(more ? n == pages[p] : 1);
			for (size_t i = 0; i < n; i++) {
				CHECK(keys[i] > after);
				after = keys[i];
			}
			seen += n;
		}
		CHECK_EQ(seen, N);
	}
	CHECK_EQ(dir_records_keys_after(t, UINT64_MAX, keys, 10, &(int){ 0 }),
	    0);
	free(keys);
	dir_records_close(t);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "apply then get copies every field",
		    apply_then_get_copies_every_field },
		{ "older or equal seq is ignored",
		    older_or_equal_seq_is_ignored },
		{ "delete keeps the record and moves the counts",
		    delete_keeps_the_record_and_moves_the_counts },
		{ "applied seq only moves forward",
		    applied_seq_only_moves_forward },
		{ "records that do not fit are refused",
		    records_that_do_not_fit_are_refused },
		{ "many records all found", many_records_all_found },
		{ "keys_after pages in key order",
		    keys_after_pages_in_key_order },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
