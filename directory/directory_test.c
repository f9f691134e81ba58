/* Three real directoryd processes on a real redis-server: one leader is
 * elected and published in Redis; Allocate (answered by followers too),
 * RegisterPhoto (idempotent), Lookup (read-your-writes on a follower via
 * min_seq), Delete, CatchUp; and bad input of every kind answered with a
 * clear code while the directories keep serving. */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "grant.h"
#include "log.h"
#include "photo_id.h"
#include "rpc.h"
#include "test_cluster.h"
#include "token.h"

static struct tc c;

static const char *const env[] = { "LEADER_TIMEOUT=1s",
	"LEADER_HEARTBEAT_INTERVAL=100ms", "FOLLOWER_SYNC_INTERVAL=200ms",
	"HEARTBEAT_INTERVAL=200ms", "DEFAULT_REPLICA_COUNT=2",
	"MIN_REPLICA_COUNT=1", NULL };

static int leader = -1;

static int
follower(void)
{
	return (leader + 1) % c.n;
}

static void
test_one_leader_published_in_redis(void)
{
	leader = tc_wait_leader(&c, 5000);
	CHECK(leader >= 0);
	redisReply *r = redisCommand(c.rc, "HGETALL hs:leader:info");
	CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 8);
	int rpc_ok = 0;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (!strcmp(r->element[i]->str, "rpc"))
			rpc_ok = !strcmp(r->element[i + 1]->str,
			    c.d[leader].rpc);
	freeReplyObject(r);
	CHECK(rpc_ok);
	int leaders = 0;
	for (int i = 0; i < c.n; i++) {
		Hs__HealthReply *h;
		CHECK_STATUS(tc_health(c.d[i].cl, &h, 1000), HS_OK, "health");
		leaders += h->leader;
		CHECK(strcmp(h->leader_id, c.d[leader].id) == 0 ||
		    h->leader_id[0] == '\0');
		hs__health_reply__free_unpacked(h, NULL);
	}
	CHECK_EQ(leaders, 1);
}

/* The write groups ListStores lists at directory i: how many hold
 * exactly group id's stores as in r. */
static int
group_listed(int i, const Hs__AllocateReply *r)
{
	struct rpc_error e;
	Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	if (rpc_invoke(c.d[i].cl, &hs__directory__descriptor, "ListStores",
		&q.base, &m, 3000, 0, &e) != HS_OK)
		return 0;
	const Hs__ListStoresReply *l = (const Hs__ListStoresReply *)m;
	int found = 0;
	for (size_t g = 0; g < l->n_groups; g++)
		if (l->groups[g]->id == r->group &&
		    l->groups[g]->n_stores == r->n_stores &&
		    l->groups[g]->writable)
			found++;
	protobuf_c_message_free_unpacked(m, NULL);
	return found;
}

/* Every id of grant r: in its group, distinct from each other and from
 * seen[0..*nseen) (then added), and covered by the one token at each of
 * the grant's stores. */
static void
check_grant(const Hs__AllocateReply *r, const rt_key *key, uint64_t *seen,
    size_t *nseen)
{
	char why[128];
	CHECK(r->group != 0 && r->n_ids > 0 && r->id != NULL);
	CHECK(
	    r->id->key == r->ids[0]->key && r->id->cookie == r->ids[0]->cookie);
	for (size_t i = 0; i < r->n_ids; i++) {
		const Hs__PhotoId *id = r->ids[i];
		CHECK_EQ(rt_grant_group_of(id->key), r->group);
		for (size_t k = 0; k < *nseen; k++)
			CHECK(seen[k] != id->key);
		seen[(*nseen)++] = id->key;
		for (size_t s = 0; s < r->n_stores; s++)
			CHECK_STATUS(rt_token_check(key, r->write_token.data,
					 r->write_token.len, id->key,
					 id->cookie, r->stores[s]->store_id,
					 RT_DIRECTORY_PRINCIPAL, rt_now_ms(),
					 why, sizeof(why)),
			    HS_OK, why);
	}
	/* Another cookie under a granted key is not covered. */
	CHECK_EQ(rt_token_check(key, r->write_token.data, r->write_token.len,
		     r->ids[0]->key, r->ids[0]->cookie ^ 1,
		     r->stores[0]->store_id, NULL, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	/* Nor may anyone but the grant's principal spend it. */
	CHECK_EQ(rt_token_check(key, r->write_token.data, r->write_token.len,
		     r->ids[0]->key, r->ids[0]->cookie, r->stores[0]->store_id,
		     "someone-else", rt_now_ms(), why, sizeof(why)),
	    HS_PERMISSION_DENIED);
}

static void
test_allocate_a_grant_through_a_follower(void)
{
	struct rpc_error e;
	/* Two stores in two zones heartbeat (via a follower: forwarded). */
	CHECK_STATUS(tc_heartbeat(c.d[follower()].cl, 1, "a", 1 << 30, &e),
	    HS_OK, e.message);
	CHECK_STATUS(tc_heartbeat(c.d[follower()].cl, 2, "b", 1 << 30, &e),
	    HS_OK, e.message);
	Hs__AllocateRequest q = HS__ALLOCATE_REQUEST__INIT;
	q.size = 1000;
	q.count = 40;
	rt_key key;
	CHECK(test_secret(c.keyfile, &key) == 0);
	uint64_t seen[80];
	size_t nseen = 0;
	/* A follower sends the caller to the leader, which alone holds the
	 * counter and makes a grant to the caller itself (not to a forwarding
	 * follower). Two grants: 80 distinct ids in one group. */
	ProtobufCMessage *none = NULL;
	CHECK_EQ(rpc_invoke(c.d[follower()].cl, &hs__directory__descriptor,
		     "Allocate", &q.base, &none, 3000, 0, &e),
	    HS_FAILED_PRECONDITION);
	CHECK(strcmp(e.leader_hint, c.d[leader].rpc) == 0);
	for (int round = 0; round < 2; round++) {
		ProtobufCMessage *m = NULL;
		CHECK_STATUS(rpc_invoke(c.d[leader].cl,
				 &hs__directory__descriptor, "Allocate",
				 &q.base, &m, 3000, 0, &e),
		    HS_OK, e.message);
		Hs__AllocateReply *r = (Hs__AllocateReply *)m;
		CHECK_EQ(r->n_stores, 2);
		CHECK_EQ(r->n_ids, 40);
		CHECK(r->stores[0]->store_id != r->stores[1]->store_id);
		check_grant(r, &key, seen, &nseen);
		/* Every directory learns the group. */
		for (int i = 0; i < 3; i++)
			CHECK(CHECK_WAIT_UNTIL(group_listed(i, r) == 1, 5000));
		protobuf_c_message_free_unpacked(m, NULL);
	}

	/* Three replicas asked, two stores UP: a clear refusal. */
	q.replicas = 3;
	ProtobufCMessage *m = NULL;
	CHECK_STATUS(rpc_invoke(c.d[leader].cl, &hs__directory__descriptor,
			 "Allocate", &q.base, &m, 3000, 0, &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK(strstr(e.message, "UP") != NULL);
}

/* Sends n registrations of keys base, base + step, ... (cookie 9, sha
 * byte sha; photo i on the two stores stores[i]) as one RegisterPhotos at
 * cl; the reply in *out (the caller frees). */
static hs_status
register_batch_each(rpc_client *cl, uint64_t base, uint64_t step, size_t n,
    uint8_t sha, uint32_t (*stores)[2], Hs__RegisterBatchReply **out,
    struct rpc_error *e)
{
	enum { N = 8 };
	Hs__RegisterRequest q[N], *qp[N];
	Hs__PhotoId id[N];
	uint8_t digest[32];
	memset(digest, sha, sizeof(digest));
	for (size_t i = 0; i < n && i < N; i++) {
		hs__register_request__init(&q[i]);
		hs__photo_id__init(&id[i]);
		id[i] = (Hs__PhotoId){ .base = id[i].base,
			.key = base + i * step,
			.cookie = 9 };
		q[i].id = &id[i];
		q[i].sha256 = (ProtobufCBinaryData){ 32, digest };
		q[i].size = 100;
		q[i].stores = stores[i];
		q[i].n_stores = 2;
		CHECK(rt_token_make(&tc_key, base + i * step, 9, stores[i], 2,
			  rt_now_ms() + 60000, &q[i].write_token.data,
			  &q[i].write_token.len) == 0);
		qp[i] = &q[i];
	}
	Hs__RegisterBatchRequest b = HS__REGISTER_BATCH_REQUEST__INIT;
	b.photos = qp;
	b.n_photos = n;
	b.store_id = stores[n - 1][0]; /* a store every token here names */
	ProtobufCMessage *m = NULL;
	hs_status st = rpc_invoke(cl, &hs__directory__descriptor,
	    "RegisterPhotos", &b.base, &m, 3000, 0, e);
	for (size_t i = 0; i < n && i < N; i++)
		free(q[i].write_token.data);
	*out = (Hs__RegisterBatchReply *)m;
	return st;
}

static hs_status
register_batch_on(rpc_client *cl, uint64_t base, size_t n, uint8_t sha,
    const uint32_t *two, Hs__RegisterBatchReply **out, struct rpc_error *e)
{
	uint32_t stores[8][2];
	for (size_t i = 0; i < 8; i++)
		memcpy(stores[i], two, sizeof(stores[i]));
	return register_batch_each(cl, base, 1, n, sha, stores, out, e);
}

static hs_status
register_batch(rpc_client *cl, uint64_t base, size_t n, uint8_t sha,
    Hs__RegisterBatchReply **out, struct rpc_error *e)
{
	uint32_t stores[] = { 1, 2 };
	return register_batch_on(cl, base, n, sha, stores, out, e);
}

/* The stores of key's record, as a follower sees it once at seq; a bit
 * set per store id (< 32). */
static uint32_t
stores_of(uint64_t key, uint64_t seq)
{
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[] = { &id };
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	id.key = key;
	id.cookie = 9;
	q.ids = ids;
	q.n_ids = 1;
	q.min_seq = seq;
	q.include_down = 1;
	if (rpc_invoke(c.d[follower()].cl, &hs__directory__descriptor, "Lookup",
		&q.base, &m, 3000, 0, &e) != HS_OK)
		return 0;
	const Hs__LookupReply *r = (const Hs__LookupReply *)m;
	uint32_t bits = 0;
	if (r->n_results == 1 && r->results[0]->record != NULL)
		for (size_t i = 0; i < r->results[0]->record->n_stores; i++)
			bits |= 1u << r->results[0]->record->stores[i];
	protobuf_c_message_free_unpacked(m, NULL);
	return bits;
}

/* A photo's locations are the add-only union of its registrations: a
 * retry at another store adds its copies and never drops the first ones. */
static void
test_registrations_add_locations_never_replace(void)
{
	struct rpc_error e;
	Hs__RegisterBatchReply *r = NULL;
	uint32_t first[] = { 1, 2 }, second[] = { 2, 3 };
	CHECK_STATUS(register_batch_on(c.all, 7000, 1, 0x33, first, &r, &e),
	    HS_OK, e.message);
	uint64_t seq1 = r->results[0]->seq;
	hs__register_batch_reply__free_unpacked(r, NULL);
	CHECK_EQ(stores_of(7000, seq1), (1u << 1) | (1u << 2));
	CHECK_STATUS(register_batch_on(c.all, 7000, 1, 0x33, second, &r, &e),
	    HS_OK, e.message);
	CHECK_EQ(r->results[0]->code, HS__CODE__OK);
	uint64_t seq2 = r->results[0]->seq;
	hs__register_batch_reply__free_unpacked(r, NULL);
	CHECK(seq2 > seq1);
	CHECK_EQ(stores_of(7000, seq2), (1u << 1) | (1u << 2) | (1u << 3));
	/* Nothing new: the same seq, no commit. */
	CHECK_STATUS(register_batch_on(c.all, 7000, 1, 0x33, first, &r, &e),
	    HS_OK, e.message);
	CHECK_EQ(r->results[0]->seq, seq2);
	hs__register_batch_reply__free_unpacked(r, NULL);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), seq2);

	/* The same new photo twice in one batch, from two stores' sets: the
	 * first commits, the second is told to resend (never "OK" with its
	 * stores dropped), and its resend adds them. */
	uint32_t sets[2][2] = { { 1, 2 }, { 2, 4 } };
	CHECK_STATUS(register_batch_each(c.all, 7100, 0, 2, 0x34, sets, &r, &e),
	    HS_OK, e.message);
	CHECK_EQ(r->results[0]->code, HS__CODE__OK);
	CHECK_EQ(r->results[1]->code, HS__CODE__UNAVAILABLE);
	CHECK(strstr(r->results[1]->message, "resend") != NULL);
	hs__register_batch_reply__free_unpacked(r, NULL);
	CHECK_STATUS(register_batch_each(c.all, 7100, 0, 1, 0x34, &sets[1], &r,
			 &e),
	    HS_OK, e.message);
	CHECK_EQ(r->results[0]->code, HS__CODE__OK);
	CHECK_EQ(stores_of(7100, r->results[0]->seq),
	    (1u << 1) | (1u << 2) | (1u << 4));
	hs__register_batch_reply__free_unpacked(r, NULL);
}

/* A store's batch: one call through a follower, one outcome per photo in
 * order; a resend answers the same seqs; a photo that clashes with a
 * committed one fails alone. */
static void
test_a_stores_batch_registers_in_one_call(void)
{
	struct rpc_error e;
	Hs__RegisterBatchReply *r = NULL, *r2 = NULL;
	CHECK_STATUS(register_batch(c.d[follower()].cl, 5000, 8, 0x11, &r, &e),
	    HS_OK, e.message);
	CHECK_EQ(r->n_results, 8);
	for (size_t i = 0; i < 8; i++) {
		CHECK_EQ(r->results[i]->code, HS__CODE__OK);
		CHECK(r->results[i]->seq > 0);
		int code;
		CHECK_STATUS(tc_lookup(c.all, 5000 + i, 9, r->results[i]->seq,
				 &code, NULL, &e),
		    HS_OK, e.message);
		CHECK_EQ(code, HS__CODE__OK);
	}
	CHECK_STATUS(register_batch(c.all, 5000, 8, 0x11, &r2, &e), HS_OK,
	    e.message);
	for (size_t i = 0; i < 8; i++)
		CHECK_EQ(r2->results[i]->seq, r->results[i]->seq);
	hs__register_batch_reply__free_unpacked(r2, NULL);
	/* 5006, 5007 exist with another SHA-256; 5008, 5009 are new. */
	CHECK_STATUS(register_batch(c.all, 5006, 4, 0x22, &r2, &e), HS_OK,
	    e.message);
	CHECK_EQ(r2->results[0]->code, HS__CODE__ALREADY_EXISTS);
	CHECK(strstr(r2->results[0]->message, "another cookie") != NULL);
	CHECK_EQ(r2->results[1]->code, HS__CODE__ALREADY_EXISTS);
	CHECK_EQ(r2->results[2]->code, HS__CODE__OK);
	CHECK_EQ(r2->results[3]->code, HS__CODE__OK);
	hs__register_batch_reply__free_unpacked(r2, NULL);
	hs__register_batch_reply__free_unpacked(r, NULL);
}

static void
test_register_lookup_read_your_writes(void)
{
	struct rpc_error e;
	uint64_t seq = 0, seq2 = 0;
	int code;
	/* Registered through a follower (forwarded), then read at once at
	 * another follower with the seq: it must see the write. */
	CHECK_STATUS(tc_register(c.d[follower()].cl, 1001, 77, 0xab, 500, &seq,
			 &e),
	    HS_OK, e.message);
	CHECK(seq > 0);
	int other = (leader + 2) % c.n;
	CHECK_STATUS(tc_lookup(c.d[other].cl, 1001, 77, seq, &code, NULL, &e),
	    HS_OK, e.message);
	CHECK_EQ(code, HS__CODE__OK);
	/* A resend answers the original seq; a different photo under the
	 * same id is refused. */
	CHECK_STATUS(tc_register(c.all, 1001, 77, 0xab, 500, &seq2, &e), HS_OK,
	    e.message);
	CHECK_EQ(seq2, seq);
	CHECK_STATUS(tc_register(c.all, 1001, 77, 0xac, 500, NULL, &e),
	    HS_ALREADY_EXISTS, e.message);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), seq);
}

static void
test_delete_then_not_found_everywhere(void)
{
	struct rpc_error e;
	uint64_t seq;
	int code;
	CHECK_STATUS(tc_register(c.all, 2002, 5, 0x11, 10, &seq, &e), HS_OK,
	    e.message);
	Hs__DeleteRequest q = HS__DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = 2002;
	id.cookie = 5;
	q.id = &id;
	ProtobufCMessage *m = NULL;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Delete",
			 &q.base, &m, 3000, 0, &e),
	    HS_OK, e.message);
	uint64_t dseq = ((Hs__DeleteReply *)m)->seq;
	protobuf_c_message_free_unpacked(m, NULL);
	CHECK(dseq > seq);
	/* A late resend of its registration does not answer OK (the store
	 * would then push the deleted bytes into the cache). */
	CHECK_STATUS(tc_register(c.all, 2002, 5, 0x11, 10, NULL, &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK(strstr(e.message, "deleted") != NULL);
	for (int i = 0; i < c.n; i++) {
		CHECK_STATUS(tc_lookup(c.d[i].cl, 2002, 5, dseq, &code, NULL,
				 &e),
		    HS_OK, e.message);
		CHECK_EQ(code, HS__CODE__NOT_FOUND);
	}
	/* Delete is idempotent: the same seq again. */
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Delete",
			 &q.base, &m, 3000, 0, &e),
	    HS_OK, e.message);
	CHECK_EQ(((Hs__DeleteReply *)m)->seq, dseq);
	protobuf_c_message_free_unpacked(m, NULL);
	/* The stores' tombstones are queued in Redis. */
	redisReply *r = redisCommand(c.rc, "SCARD hs:tombstones");
	CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 2);
	freeReplyObject(r);
}

static void
test_catch_up_reads_the_log(void)
{
	struct rpc_error e;
	Hs__CatchUpRequest q = HS__CATCH_UP_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	CHECK_STATUS(rpc_invoke(c.d[follower()].cl, &hs__directory__descriptor,
			 "CatchUp", &q.base, &m, 3000, 0, &e),
	    HS_OK, e.message);
	Hs__CatchUpReply *r = (Hs__CatchUpReply *)m;
	CHECK_EQ(r->head_seq, tc_redis_int(&c, "hs:seq"));
	CHECK_EQ(r->n_changes, r->head_seq);
	for (size_t i = 0; i < r->n_changes; i++)
		CHECK_EQ(r->changes[i]->seq, i + 1);
	CHECK(!r->too_far_behind);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void
test_bad_input_clear_codes(void)
{
	struct rpc_error e;
	int code;
	/* Unknown id and wrong cookie: NOT_FOUND per result. */
	CHECK_STATUS(tc_lookup(c.all, 999999, 1, 0, &code, NULL, &e), HS_OK,
	    e.message);
	CHECK_EQ(code, HS__CODE__NOT_FOUND);
	CHECK_STATUS(tc_lookup(c.all, 1001, 78, 0, &code, NULL, &e), HS_OK,
	    e.message);
	CHECK_EQ(code, HS__CODE__NOT_FOUND);
	/* Malformed ids: key 0, or none at all. */
	CHECK_STATUS(tc_lookup(c.all, 0, 1, 0, &code, NULL, &e),
	    HS_INVALID_ARGUMENT, e.message);
	CHECK_STATUS(tc_register(c.all, 0, 1, 1, 1, NULL, &e),
	    HS_INVALID_ARGUMENT, e.message);
	Hs__LookupRequest lq = HS__LOOKUP_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Lookup",
			 &lq.base, &m, 3000, 0, &e),
	    HS_INVALID_ARGUMENT, e.message);
	/* An oversized batch. */
	static Hs__PhotoId ids[1001];
	static Hs__PhotoId *idp[1001];
	for (int i = 0; i < 1001; i++) {
		hs__photo_id__init(&ids[i]);
		ids[i].key = (uint64_t)i + 1;
		idp[i] = &ids[i];
	}
	lq.ids = idp;
	lq.n_ids = 1001;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Lookup",
			 &lq.base, &m, 3000, 0, &e),
	    HS_INVALID_ARGUMENT, e.message);
	CHECK(strstr(e.message, "1000") != NULL);
	lq.n_ids = 1000; /* the limit itself is fine */
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Lookup",
			 &lq.base, &m, 3000, 0, &e),
	    HS_OK, e.message);
	protobuf_c_message_free_unpacked(m, NULL);
	/* Bad sha length, oversized photo, bad replica count. */
	Hs__AllocateRequest aq = HS__ALLOCATE_REQUEST__INIT;
	uint8_t sha[32] = { 0 };
	aq.sha256.data = sha;
	aq.sha256.len = 31;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Allocate",
			 &aq.base, &m, 3000, 0, &e),
	    HS_INVALID_ARGUMENT, e.message);
	aq.sha256.len = 32;
	aq.size = (64u << 20) + 1;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Allocate",
			 &aq.base, &m, 3000, 0, &e),
	    HS_INVALID_ARGUMENT, e.message);
	aq.size = 1;
	aq.replicas = 99;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Allocate",
			 &aq.base, &m, 3000, 0, &e),
	    HS_INVALID_ARGUMENT, e.message);
	/* Delete of an unknown photo. */
	Hs__DeleteRequest dq = HS__DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = 424242;
	dq.id = &id;
	CHECK_STATUS(rpc_invoke(c.all, &hs__directory__descriptor, "Delete",
			 &dq.base, &m, 3000, 0, &e),
	    HS_NOT_FOUND, e.message);
	/* And everyone still serves. */
	for (int i = 0; i < c.n; i++) {
		CHECK_STATUS(tc_lookup(c.d[i].cl, 1001, 77, 0, &code, NULL, &e),
		    HS_OK, e.message);
		CHECK_EQ(code, HS__CODE__OK);
	}
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "one leader, published in Redis",
		    test_one_leader_published_in_redis },
		{ "allocate a grant through a follower",
		    test_allocate_a_grant_through_a_follower },
		{ "a store's batch registers in one call",
		    test_a_stores_batch_registers_in_one_call },
		{ "registrations add locations, never replace",
		    test_registrations_add_locations_never_replace },
		{ "register, lookup, read your writes",
		    test_register_lookup_read_your_writes },
		{ "delete, then NOT_FOUND everywhere",
		    test_delete_then_not_found_everywhere },
		{ "CatchUp reads the change log", test_catch_up_reads_the_log },
		{ "bad input gets clear codes", test_bad_input_clear_codes },
		{ NULL, NULL },
	};
	rt_log_init("directory_test", 'T');
	return tc_main(&c, 3, env, cases, argc, argv);
}
