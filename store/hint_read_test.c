/* Reads by hint (a Read that went through no Lookup) never serve a deleted
 * photo, on a cluster of real processes (docs/reliability.md, "Reads by
 * hint"): a store stopped during a delete answers UNAVAILABLE once
 * resumed, then NOT_FOUND; the delete waits the stopped store's hint lease
 * out, and no longer; a store restarted after missing a delete catches up
 * from the change log before it serves by hint, and re-checks every needle
 * when the log was trimmed past it; libhs reads a photo straight from its
 * write group's stores (no Lookup), and a deleted photo downloads
 * NOT_FOUND on every path (cache, hint, Lookup). The queued store
 * tombstones are
 * removed from Redis in those tests, so only the store's own following
 * can have tombstoned the photo. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "clock.h"
#include "cluster_run.h"
#include "directory.pb-c.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "redis_keys.h"
#include "rpc.h"
#include "store.pb-c.h"
#include "token.h"

#define NSTORES 3
#define LEASE_MS 600  /* 3 x the harness's 200 ms heartbeat */
#define MARGIN_MS 250 /* the leader's margin beyond a lease */

static struct test_cluster tc;
static hs_client *cl;

/* A fresh photo on every store, served by hint at each. */
static hs_photo_id
upload_everywhere(uint64_t seed)
{
	hs_photo_id id = { 0, 0 };
	uint8_t *b = test_upload_bytes(cl, 2000, seed, NSTORES, &id);
	int uploaded = b != NULL;
	free(b);
	CHECK(uploaded);
	for (int s = 0; s < NSTORES; s++)
		CHECK_WAIT_UNTIL(test_cluster_read(&tc, s, id.key, id.cookie,
				     1) == HS_OK,
		    5000);
	return id;
}

/* One read of id by hint at store s; *unavailable counts UNAVAILABLE. */
static hs_status
read_by_hint(int s, hs_photo_id id, int *unavailable)
{
	hs_status st = test_cluster_read(&tc, s, id.key, id.cookie, 1);
	*unavailable += st == HS_UNAVAILABLE;
	return st;
}

/* Reads id by hint at s until NOT_FOUND (bounded); 1 if it ever returned
 * the bytes meanwhile. *unavailable counts the UNAVAILABLE answers. */
static int
hint_served_until_not_found(int s, hs_photo_id id, int *unavailable,
    hs_status *last)
{
	*unavailable = 0;
	return TEST_SERVED_UNTIL_NOT_FOUND(read_by_hint(s, id, unavailable),
	    *last, 10000);
}

/* 1 once the leader lists store index s as DOWN: from then on it sends
 * the store no Deletes (they would be queued for its return). */
static int
store_down(int s)
{
	Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	int down = 0;
	q.include_down = 1;
	if (test_rpc_call(tc.p_dir[0], tc.keyfile, &hs__directory__descriptor,
		"ListStores", &q.base, &m, 2000, NULL) != HS_OK)
		return 0;
	const Hs__ListStoresReply *r = (const Hs__ListStoresReply *)m;
	for (size_t i = 0; i < r->n_stores; i++)
		down |= r->stores[i]->id == (uint32_t)s + 1 &&
		    r->stores[i]->state == HS__STORE_STATE__STORE_DOWN;
	protobuf_c_message_free_unpacked(m, NULL);
	return down;
}

/* Forgets the leader's queued store tombstones, so a store learns of a
 * delete only by following the change log (or re-checking). */
static void
drop_queued_tombstones(void)
{
	redisContext *r = test_redis_connect(&tc.meta, "admin");
	CHECK(r != NULL && r->err == 0);
	redisReply *rep = redisCommand(r, "DEL %s", RK_TOMBSTONES);
	CHECK(rep != NULL);
	freeReplyObject(rep);
	redisFree(r);
}

/* Kills store s and deletes id while it is DOWN; then forgets the queued
 * tombstones, so only the store's own following can tombstone id. */
static void
delete_while_killed(int s, hs_photo_id id)
{
	hs_error e;
	test_proc_kill(&tc.stores[s], SIGKILL);
	CHECK_WAIT_UNTIL(store_down(s), 5000);
	CHECK_STATUS(hs_delete(cl, id, 10000, &e), HS_OK, e.message);
	drop_queued_tombstones();
}

static void
test_stopped_store_never_serves_a_deleted_photo(void)
{
	hs_photo_id id = upload_everywhere(1);
	hs_error e;
	/* Serving by hint now: it holds an answer sent under a lease ago. */
	CHECK_WAIT_UNTIL(test_cluster_read(&tc, 2, id.key, id.cookie, 1) ==
		HS_OK,
	    5000);
	test_proc_stop(&tc.stores[2]);
	CHECK_WAIT_UNTIL(test_proc_stopped(&tc.stores[2]), 2000);
	int64_t stopped = check_mono_ms();
	hs_status st = hs_delete(cl, id, 10000, &e);
	int64_t acked = check_mono_ms();
	if (st != HS_OK)
		test_proc_cont(&tc.stores[2]);
	CHECK_STATUS(st, HS_OK, e.message);
	printf("  delete acknowledged %lld ms after the store stopped\n",
	    (long long)(acked - stopped));
	/* The stopped store held an answer sent at most a lease before it
	 * stopped, and the leader answered it no earlier: the delete waits
	 * at least the margin beyond that lease (an acknowledgement at once
	 * would let a store that is only cut off serve the photo), and at
	 * most the lease and the margin after the stop. */
	hs_status others[2];
	for (int s = 0; s < 2; s++)
		others[s] = test_cluster_read(&tc, s, id.key, id.cookie, 1);
	test_proc_cont(&tc.stores[2]);
	CHECK(acked - stopped >= MARGIN_MS - 50);
	CHECK(acked - stopped <= LEASE_MS + MARGIN_MS + 1500);
	CHECK_EQ(others[0], HS_NOT_FOUND);
	CHECK_EQ(others[1], HS_NOT_FOUND);
	int unavailable;
	hs_status last;
	CHECK(!hint_served_until_not_found(2, id, &unavailable, &last));
	CHECK_EQ(last, HS_NOT_FOUND);
	/* Usually UNAVAILABLE first (its lease ran out while stopped); a
	 * resumed store whose heartbeat and catch-up beat the first read
	 * answers NOT_FOUND at once, which is as right. */
	printf("  the resumed store answered UNAVAILABLE %d time(s) first\n",
	    unavailable);
}

/* Restarts store s, which missed the delete of id, while the directory is
 * stopped: it holds the needle live (a read after a Lookup is served) yet
 * refuses to serve it by hint; once the directory is back it catches up
 * and answers NOT_FOUND, by hint or not, never having served it. */
static void
restart_missing_a_delete(int s, hs_photo_id id)
{
	test_proc_stop(&tc.dirs[0]);
	CHECK_WAIT_UNTIL(test_proc_stopped(&tc.dirs[0]), 2000);
	CHECK(test_proc_restart(&tc.stores[s]) == 0);
	hs_status plain = HS_UNAVAILABLE, hint = HS_UNAVAILABLE;
	CHECK_WAIT_UNTIL((plain = test_cluster_read(&tc, s, id.key, id.cookie,
			      0)) == HS_OK,
	    5000);
	if (plain == HS_OK)
		hint = test_cluster_read(&tc, s, id.key, id.cookie, 1);
	test_proc_cont(&tc.dirs[0]);
	CHECK_EQ(plain, HS_OK);
	CHECK_EQ(hint, HS_UNAVAILABLE);
	int unavailable;
	hs_status last;
	CHECK(!hint_served_until_not_found(s, id, &unavailable, &last));
	CHECK_EQ(last, HS_NOT_FOUND);
	/* Tombstoned by its own following, not merely refused. */
	CHECK_EQ(test_cluster_read(&tc, s, id.key, id.cookie, 0), HS_NOT_FOUND);
	CHECK(test_cluster_wait_stores_up(&tc, NSTORES, 10000));
}

static void
test_restarted_store_catches_up_from_the_log(void)
{
	hs_photo_id id = upload_everywhere(2);
	delete_while_killed(1, id);
	restart_missing_a_delete(1, id);
}

static void
test_trimmed_log_falls_back_to_checking_every_needle(void)
{
	hs_photo_id keep = upload_everywhere(3);
	hs_photo_id id = upload_everywhere(4);
	delete_while_killed(0, id);
	redisContext *r = test_redis_connect(&tc.meta, "admin");
	CHECK(r != NULL && r->err == 0);
	redisReply *rep = redisCommand(r, "XTRIM %s MAXLEN 0", RK_LOG);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_INTEGER);
	freeReplyObject(rep);
	redisFree(r);
	restart_missing_a_delete(0, id);
	/* The live photo beside it is untouched and served by hint again. */
	CHECK_WAIT_UNTIL(test_cluster_read(&tc, 0, keep.key, keep.cookie, 1) ==
		HS_OK,
	    5000);
}

/* The leader's count of Lookups answered so far. */
static uint64_t
lookups(void)
{
	Hs__DirectoryStatsRequest q = HS__DIRECTORY_STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	uint64_t n = 0;
	if (test_rpc_call(tc.p_dir[0], tc.keyfile, &hs__directory__descriptor,
		"Stats", &q.base, &m, 2000, NULL) == HS_OK)
		n = ((Hs__DirectoryStatsReply *)m)->lookups;
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return n;
}

/* A client of its own with no cache (a cold location memory too). */
static hs_client *
open_uncached(void)
{
	hs_error e;
	hs_client *nc = test_cluster_client(&tc, TEST_CL_NO_CACHE, NULL, &e);
	if (nc == NULL)
		fprintf(stderr, "a client without a cache: %s\n", e.message);
	return nc;
}

static void
test_libhs_reads_by_hint_without_a_lookup(void)
{
	hs_photo_id ids[6];
	uint8_t *b = test_bytes(2000, 5);
	for (int i = 0; i < 6; i++) /* test_bytes(2000, 5 + i) each */
		ids[i] = upload_everywhere(5 + (uint64_t)i);
	hs_client *nc = open_uncached();
	CHECK(nc != NULL);
	/* The first download fetches the group table. */
	CHECK_EQ(test_download_equals(nc, ids[0], b, 2000, NULL), HS_OK);
	free(b);
	uint64_t before = lookups();
	hs_status st[5];
	for (int i = 0; i < 5; i++) {
		uint8_t *want = test_bytes(2000, 6 + (uint64_t)i);
		st[i] = test_download_equals(nc, ids[i + 1], want, 2000, NULL);
		free(want);
	}
	uint64_t after = lookups();
	test_hs_close(nc);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(st[i], HS_OK);
	/* Five photos this client never saw, no Lookup: one round trip
	 * each. */
	CHECK_EQ(after, before);
}

/* A Stats field of store s, or of the directory (s < 0): the store's
 * deletes_applied_seq or the directory's applied_seq. */
static uint64_t
applied_at(int s)
{
	Hs__StoreStatsRequest sq = HS__STORE_STATS_REQUEST__INIT;
	Hs__DirectoryStatsRequest dq = HS__DIRECTORY_STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	uint64_t seq = 0;
	if (s < 0 &&
	    test_rpc_call(tc.p_dir[0], tc.keyfile, &hs__directory__descriptor,
		"Stats", &dq.base, &m, 2000, NULL) == HS_OK)
		seq = ((Hs__DirectoryStatsReply *)m)->applied_seq;
	if (s >= 0 &&
	    test_rpc_call(tc.p_store[s], tc.keyfile, &hs__store__descriptor,
		"Stats", &sq.base, &m, 2000, NULL) == HS_OK)
		seq = ((Hs__StoreStatsReply *)m)->deletes_applied_seq;
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return seq;
}

/* Sends store s a copy of id (a repair's or a slow forward's Replicate,
 * under a token naming s); the copy's code. */
static int
replicate_to(int s, hs_photo_id id, const uint8_t *b, size_t len)
{
	Hs__Needle nd = HS__NEEDLE__INIT, *nds[] = { &nd };
	Hs__PhotoId pid = HS__PHOTO_ID__INIT;
	Hs__ReplicateRequest q = HS__REPLICATE_REQUEST__INIT;
	uint8_t sha[32];
	uint32_t store = (uint32_t)s + 1;
	rt_key key;
	CHECK(test_secret(tc.keyfile, &key) == 0);
	hs_sha256(b, len, sha);
	pid.key = id.key;
	pid.cookie = id.cookie;
	nd.id = &pid;
	nd.data = (ProtobufCBinaryData){ len, (uint8_t *)b };
	nd.sha256 = (ProtobufCBinaryData){ 32, sha };
	CHECK(rt_token_make(&key, id.key, id.cookie, &store, 1,
		  rt_now_ms() + 60000, &nd.write_token.data,
		  &nd.write_token.len) == 0);
	q.needles = nds;
	q.n_needles = 1;
	ProtobufCMessage *m = NULL;
	int code = -1;
	char peer[600]; /* a Replicate comes from a store: any other one */
	test_store_identity(peer, sizeof(peer), tc.keyfile, s == 0 ? 2 : 1);
	if (test_rpc_call(tc.p_store[s], peer, &hs__store__descriptor,
		"Replicate", &q.base, &m, 5000, NULL) == HS_OK) {
		const Hs__ReplicateReply *r = (const Hs__ReplicateReply *)m;
		code = r->n_results == 1 ? (int)r->results[0]->code : -1;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(nd.write_token.data);
	return code;
}

/* A copy that reaches a store after it applied the photo's delete (a slow
 * forward of the upload, a repair racing the delete) is refused, so a
 * read by hint there can never serve the deleted photo. */
static void
test_a_late_copy_of_a_deleted_photo_is_refused(void)
{
	hs_photo_id id;
	uint8_t *b = test_upload_bytes(cl, 2500, 7, 2, &id);
	CHECK(b != NULL);
	int absent = -1;
	for (int s = 0; s < NSTORES; s++)
		if (test_cluster_read(&tc, s, id.key, id.cookie, 0) ==
		    HS_NOT_FOUND)
			absent = s;
	CHECK(absent >= 0);
	hs_error e;
	CHECK_STATUS(hs_delete(cl, id, 10000, &e), HS_OK, e.message);
	uint64_t seq = applied_at(-1);
	CHECK(seq > 0);
	CHECK_WAIT_UNTIL(applied_at(absent) >= seq, 5000);
	CHECK_EQ(replicate_to(absent, id, b, 2500),
	    HS__CODE__FAILED_PRECONDITION);
	CHECK_EQ(test_cluster_read(&tc, absent, id.key, id.cookie, 1),
	    HS_NOT_FOUND);
	CHECK_EQ(test_cluster_read(&tc, absent, id.key, id.cookie, 0),
	    HS_NOT_FOUND);
	free(b);
}

static void
test_deleted_photo_is_not_found_through_libhs_on_every_path(void)
{
	hs_photo_id id;
	uint8_t *b = test_upload_bytes(cl, 3000, 6, 0, &id);
	CHECK(b != NULL);
	hs_client *nc = open_uncached(), *other = open_uncached();
	CHECK(nc != NULL && other != NULL);
	/* cl reads from the cache, nc by hint; other deletes it. */
	CHECK_WAIT_UNTIL(test_download_equals(cl, id, b, 3000, NULL) == HS_OK,
	    5000);
	CHECK_WAIT_UNTIL(test_download_equals(nc, id, b, 3000, NULL) == HS_OK,
	    5000);
	hs_error e;
	hs_status del = hs_delete(other, id, 10000, &e);
	hs_status after_cache = test_download_equals(cl, id, b, 3000, NULL);
	hs_status after_hint = test_download_equals(nc, id, b, 3000, NULL);
	hs_status after_other = test_download_equals(other, id, b, 3000, NULL);
	test_hs_close(nc);
	test_hs_close(other);
	free(b);
	CHECK_STATUS(del, HS_OK, e.message);
	CHECK_EQ(after_cache, HS_NOT_FOUND);
	CHECK_EQ(after_hint, HS_NOT_FOUND);
	CHECK_EQ(after_other, HS_NOT_FOUND);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "stopped store never serves a deleted photo",
		    test_stopped_store_never_serves_a_deleted_photo },
		{ "restarted store catches up from the log",
		    test_restarted_store_catches_up_from_the_log },
		{ "trimmed log falls back to checking every needle",
		    test_trimmed_log_falls_back_to_checking_every_needle },
		{ "libhs reads by hint without a lookup",
		    test_libhs_reads_by_hint_without_a_lookup },
		{ "a late copy of a deleted photo is refused",
		    test_a_late_copy_of_a_deleted_photo_is_refused },
		{ "deleted photo is not found through libhs on every path",
		    test_deleted_photo_is_not_found_through_libhs_on_every_path },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .ndirs = 1, .nstores = NSTORES };
	rt_log_init("hint_read_test", 'T');
	if (test_cluster_up(&tc, &o, &cl) != 0)
		return 1;
	return test_cluster_run(&tc, cl, cases, argc, argv);
}
