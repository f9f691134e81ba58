/* Trust boundaries on a whole cluster of real processes (issue 12): each
 * attack is refused with its code while the cluster keeps serving good
 * calls. A client credential acting as a server, a store speaking for
 * another, an epoch raised by a non-directory, a grant spent by someone
 * else, and a credential revoked at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "cluster_run.h"
#include "directory.pb-c.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "rpc.h"
#include "store.pb-c.h"
#include "token.h"

static struct test_cluster tc;
static hs_client *admin;

/* A call to the store at index s, or to directory d (s < 0), as the
 * principal name ("client", "store-2", ...). */
static hs_status
call_as(const char *name, int s, int d, const char *method,
    const ProtobufCMessage *req, struct rpc_error *e)
{
	char who[600];
	ProtobufCMessage *reply = NULL;
	hs_status st = test_rpc_call(s >= 0 ? tc.p_store[s] : tc.p_dir[d],
	    test_identity(who, sizeof(who), tc.keyfile, name),
	    s >= 0 ? &hs__store__descriptor : &hs__directory__descriptor,
	    method, req, &reply, 5000, e);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return st;
}

/* A Heartbeat of store 1, at an address uploads would go to. */
static void
store_1_heartbeat(Hs__HeartbeatRequest *hb, Hs__StoreInfo *si)
{
	hs__heartbeat_request__init(hb);
	hs__store_info__init(si);
	si->id = 1;
	si->rpc_addr = "tcp://127.0.0.1:1";
	hb->store = si;
}

static void
test_a_client_may_not_act_as_a_server(void)
{
	struct rpc_error e;
	Hs__HeartbeatRequest hb;
	Hs__StoreInfo si;
	store_1_heartbeat(&hb, &si);
	Hs__StoreDeleteRequest del = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = 1;
	del.id = &id;
	Hs__ListNeedlesRequest ln = HS__LIST_NEEDLES_REQUEST__INIT;
	Hs__CompactRequest cp = HS__COMPACT_REQUEST__INIT;
	Hs__ReplicateRequest rp = HS__REPLICATE_REQUEST__INIT;
	Hs__PrincipalRequest pr = HS__PRINCIPAL_REQUEST__INIT;
	CHECK_STATUS(call_as("client", -1, 0, "Heartbeat", &hb.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK(strstr(e.message, "client 'client'") != NULL);
	CHECK_STATUS(call_as("client", 0, 0, "Delete", &del.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK_STATUS(call_as("client", 0, 0, "ListNeedles", &ln.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK_STATUS(call_as("client", 0, 0, "Compact", &cp.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK_STATUS(call_as("client", 0, 0, "Replicate", &rp.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK_STATUS(call_as("client", -1, 1, "AddPrincipal", &pr.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	/* and the cluster serves on: store 1 is still where it was */
	Hs__StoreStatsRequest st = HS__STORE_STATS_REQUEST__INIT;
	CHECK_STATUS(call_as("client", 0, 0, "Stats", &st.base, &e), HS_OK,
	    e.message);
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 5000));
}

/* An epoch from anyone but a directory does not raise a server's floor
 * (it would make the leader's genuine epoch look stale). */
static void
test_only_a_directory_raises_the_epoch(void)
{
	char who[600];
	rpc_client *c = test_rpc_open_port(tc.p_store[0],
	    test_identity(who, sizeof(who), tc.keyfile, "client"));
	Hs__StoreStatsRequest q = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	CHECK_STATUS(rpc_invoke(c, &hs__store__descriptor, "Stats", &q.base, &m,
			 5000, UINT64_MAX - 1, &e),
	    HS_OK, e.message);
	protobuf_c_message_free_unpacked(m, NULL);
	CHECK(rpc_invoke(c, &hs__store__descriptor, "Stats", &q.base, &m, 5000,
		  0, &e) == HS_OK);
	protobuf_c_message_free_unpacked(m, NULL);
	test_rpc_close(c);
	CHECK_MSG(e.epoch < 1000, "store 1's fencing epoch is now %llu",
	    (unsigned long long)e.epoch);
	/* the leader's deletes still reach the stores */
	uint8_t *b = test_bytes(3000, 77);
	hs_photo_id id;
	hs_error he;
	CHECK_STATUS(hs_upload(admin, b, 3000, 0, 10000, &id, &he), HS_OK,
	    he.message);
	CHECK_STATUS(hs_delete(admin, id, 10000, &he), HS_OK, he.message);
	free(b);
}

/* A store heartbeats and registers as itself only. */
static void
test_a_store_speaks_only_for_itself(void)
{
	struct rpc_error e;
	Hs__HeartbeatRequest hb;
	Hs__StoreInfo si;
	store_1_heartbeat(&hb, &si);
	CHECK_STATUS(call_as("store-2", -1, 0, "Heartbeat", &hb.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK(strstr(e.message, "acts only as itself") != NULL);
	/* a registration its token does not name: store 3 for stores 1, 2 */
	rt_key key;
	CHECK(test_secret(tc.keyfile, &key) == 0);
	uint32_t stores[] = { 1, 2 };
	uint8_t sha[32] = { 9 };
	Hs__RegisterRequest r = HS__REGISTER_REQUEST__INIT, *rs[] = { &r };
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = 0x77;
	id.cookie = 5;
	r.id = &id;
	r.sha256 = (ProtobufCBinaryData){ 32, sha };
	r.size = 10;
	r.stores = stores;
	r.n_stores = 2;
	CHECK(rt_token_make(&key, id.key, id.cookie, stores, 2,
		  rt_now_ms() + 60000, &r.write_token.data,
		  &r.write_token.len) == 0);
	Hs__RegisterBatchRequest b = HS__REGISTER_BATCH_REQUEST__INIT;
	b.photos = rs;
	b.n_photos = 1;
	b.store_id = 1; /* claiming another store's name */
	CHECK_STATUS(call_as("store-3", -1, test_cluster_leader(&tc),
			 "RegisterPhotos", &b.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	b.store_id = 3; /* as itself, but the token names 1 and 2 */
	char who[600];
	ProtobufCMessage *m = NULL;
	CHECK_STATUS(test_rpc_call(tc.p_dir[test_cluster_leader(&tc)],
			 test_identity(who, sizeof(who), tc.keyfile, "store-3"),
			 &hs__directory__descriptor, "RegisterPhotos", &b.base,
			 &m, 5000, &e),
	    HS_OK, e.message);
	const Hs__RegisterBatchReply *br = (const Hs__RegisterBatchReply *)m;
	CHECK_EQ(br->results[0]->code, HS__CODE__PERMISSION_DENIED);
	CHECK(strstr(br->results[0]->message, "does not name store 3") != NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	/* as store 1, which the token names, but locations it does not */
	uint32_t elsewhere[] = { 1, 3 };
	r.stores = elsewhere;
	b.store_id = 1;
	m = NULL;
	CHECK_STATUS(test_rpc_call(tc.p_dir[test_cluster_leader(&tc)],
			 test_identity(who, sizeof(who), tc.keyfile, "store-1"),
			 &hs__directory__descriptor, "RegisterPhotos", &b.base,
			 &m, 5000, &e),
	    HS_OK, e.message);
	br = (const Hs__RegisterBatchReply *)m;
	CHECK_EQ(br->results[0]->code, HS__CODE__PERMISSION_DENIED);
	protobuf_c_message_free_unpacked(m, NULL);
	/* the single-photo registration is the directory tier's alone */
	r.stores = stores;
	CHECK_STATUS(call_as("store-1", -1, test_cluster_leader(&tc),
			 "RegisterPhoto", &r.base, &e),
	    HS_PERMISSION_DENIED, e.message);
	free(r.write_token.data);
}

/* A grant is spent only by the principal it was made to. */
static void
test_a_grant_is_its_clients_alone(void)
{
	char who[600];
	struct rpc_error e;
	Hs__AllocateRequest aq = HS__ALLOCATE_REQUEST__INIT;
	aq.count = 4;
	ProtobufCMessage *m = NULL;
	rpc_client *d = test_rpc_open_port(tc.p_dir[test_cluster_leader(&tc)],
	    tc.keyfile);
	CHECK_STATUS(rpc_invoke(d, &hs__directory__descriptor, "Allocate",
			 &aq.base, &m, 5000, 0, &e),
	    HS_OK, e.message);
	test_rpc_close(d);
	const Hs__AllocateReply *a = (const Hs__AllocateReply *)m;
	uint8_t data[64] = { 1 }, sha[32];
	hs_sha256(data, sizeof(data), sha);
	Hs__WriteRequest w = HS__WRITE_REQUEST__INIT;
	w.id = a->ids[0];
	w.data = (ProtobufCBinaryData){ sizeof(data), data };
	w.sha256 = (ProtobufCBinaryData){ 32, sha };
	w.write_token = a->write_token;
	w.min_replicas = 1;
	uint32_t s = a->stores[0]->store_id;
	ProtobufCMessage *wr = NULL;
	CHECK_STATUS(test_rpc_call(tc.p_store[s - 1],
			 test_identity(who, sizeof(who), tc.keyfile, "client"),
			 &hs__store__descriptor, "Write", &w.base, &wr, 5000,
			 &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK(strstr(e.message, "granted to 'admin'") != NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* hs cred add, then revoke: refused by every directory and store once the
 * revocation returns, grants in hand included. */
static void
test_a_revoked_client_is_refused_at_once(void)
{
	char key[700];
	hs_error e;
	Hs__PrincipalReply *r = NULL;
	test_identity(key, sizeof(key), tc.keyfile, "app"); /* by the roster */
	CHECK_STATUS(hs_cred_add(admin, "app", "client", key, 10000, &r, &e),
	    HS_OK, e.message);
	CHECK_EQ(r->stores_confirmed, (uint32_t)tc.nstores);
	hs__principal_reply__free_unpacked(r, NULL);
	/* As the new identity; no cache: the cache Redis has a login of its
	 * own. */
	hs_client *app = test_cluster_client(&tc, TEST_CL_NO_CACHE, key, &e);
	CHECK(app != NULL);
	uint8_t *b = test_bytes(2000, 5);
	hs_photo_id id, id2;
	void *got = NULL;
	size_t len = 0;
	CHECK_STATUS(hs_upload(app, b, 2000, 0, 10000, &id, &e), HS_OK,
	    e.message);
	CHECK_STATUS(hs_cred_revoke(admin, "app", 10000, &r, &e), HS_OK,
	    e.message);
	CHECK_EQ(r->stores_confirmed, (uint32_t)tc.nstores);
	hs__principal_reply__free_unpacked(r, NULL);
	/* its grant is still in hand: the stores refuse the Write */
	CHECK(hs_upload(app, b, 2000, 0, 3000, &id2, &e) != HS_OK);
	CHECK(hs_download(app, id, 3000, &got, &len, &e) != HS_OK);
	CHECK(strstr(e.message, "unknown or revoked") != NULL);
	for (int s = 0; s < tc.nstores; s++) {
		struct rpc_error re;
		Hs__StoreStatsRequest q = HS__STORE_STATS_REQUEST__INIT;
		ProtobufCMessage *m = NULL;
		CHECK_STATUS(test_rpc_call(tc.p_store[s], key,
				 &hs__store__descriptor, "Stats", &q.base, &m,
				 3000, &re),
		    HS_UNAUTHENTICATED, re.message);
	}
	test_hs_close(app);
	/* the photo it uploaded is intact for everyone else */
	CHECK_STATUS(hs_download(admin, id, 10000, &got, &len, &e), HS_OK,
	    e.message);
	CHECK(len == 2000 && memcmp(got, b, len) == 0);
	free(got);
	free(b);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "a client may not act as a server",
		    test_a_client_may_not_act_as_a_server },
		{ "only a directory raises the epoch",
		    test_only_a_directory_raises_the_epoch },
		{ "a store speaks only for itself",
		    test_a_store_speaks_only_for_itself },
		{ "a grant is its client's alone",
		    test_a_grant_is_its_clients_alone },
		{ "a revoked client is refused at once",
		    test_a_revoked_client_is_refused_at_once },
		{ NULL, NULL },
	};
	rt_log_init("trust_test", 'T');
	struct test_cluster_opts o = { .nstores = 3 };
	if (test_cluster_up(&tc, &o, &admin) != 0)
		return 1;
	return test_cluster_run(&tc, admin, cases, argc, argv);
}
