/* The store service as real processes: writes with tokens and checksums,
 * forwarding to peers, reads, deletes, listings, a SIGKILL in the middle of
 * concurrent writes, and bad input refused while serving goes on. No
 * directory runs here: a store must serve without one. */
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "clock.h"
#include "env.h"
#include "grant.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"
#include "store.pb-c.h"
#include "token.h"

#define NSTORES 3

static char dir[512], keyfile[600], bin[512];
static rt_key key;
static struct test_proc procs[NSTORES];
static char urls[NSTORES][64];
static rpc_client *clients[NSTORES];
/* No directory runs: every store's table of the others is --peers. */
static char peers_flag[1024];

/* Starts stored with id `id` listening on url, its data in dir/<name>,
 * the test's common flags and then `extra` (two flags). */
static void
start_store_as(struct test_proc *p, int id, const char *url, const char *name,
    char *const extra[2])
{
	char idf[32], listen[256], data[600], flag_dir[620], kf[640];
	snprintf(idf, sizeof(idf), "--id=%d", id);
	snprintf(listen, sizeof(listen), "--listen=%s", url);
	snprintf(data, sizeof(data), "%s/%s", dir, name);
	mkdir(data, 0755);
	snprintf(flag_dir, sizeof(flag_dir), "--data-dir=%s", data);
	snprintf(kf, sizeof(kf), "--key-file=");
	test_store_identity(kf + 11, sizeof(kf) - 11, keyfile, id);
	char *argv[] = { bin, idf, listen, flag_dir, kf,
		"--directories=tcp://127.0.0.1:9", "--heartbeat-interval=5s",
		"--scrub-rate=0", "--max-volume-size=8MiB",
		"--delete-retention=0", peers_flag, extra[0], extra[1], NULL };
	test_proc_start(p, name, dir, argv);
}

static void
start_store(int i)
{
	char name[32];
	char *extra[2] = { "--min-replicas=1", "--workers=16" };
	snprintf(name, sizeof(name), "store-%d", i + 1);
	start_store_as(&procs[i], i + 1, urls[i], name, extra);
}

/* Deletes come from the directory and Replicates from a peer store; the
 * rest the tests make as the admin (clients[]). */
static rpc_client *as_dir[NSTORES], *as_peer[NSTORES];

static rpc_client *
client_for(int i, const char *method)
{
	char who[600];
	const char *u = urls[i];
	if (strcmp(method, "Delete") == 0) {
		if (as_dir[i] == NULL)
			as_dir[i] = test_rpc_open(&u, 1,
			    test_identity(who, sizeof(who), keyfile,
				RT_DIRECTORY_PRINCIPAL),
			    0);
		return as_dir[i];
	}
	if (strcmp(method, "Replicate") == 0) {
		if (as_peer[i] == NULL)
			as_peer[i] = test_rpc_open(&u, 1,
			    test_store_identity(who, sizeof(who), keyfile,
				i == 0 ? 2 : 1),
			    0);
		return as_peer[i];
	}
	return clients[i];
}

static hs_status
call(int i, const char *method, const ProtobufCMessage *req,
    ProtobufCMessage **reply, struct rpc_error *e)
{
	return rpc_invoke(client_for(i, method), &hs__store__descriptor, method,
	    req, reply, 10000, 0, e);
}

static int
store_answers(int i)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_error e;
	if (call(i, "Stats", &req.base, &reply, &e) != HS_OK)
		return 0;
	protobuf_c_message_free_unpacked(reply, NULL);
	return 1;
}

/* A photo of len bytes derived from seed, with its sha and token. */
struct photo {
	uint64_t key;
	uint32_t cookie;
	uint8_t *data;
	size_t len;
	uint8_t sha[32];
	uint8_t *token;
	size_t token_len;
};

static void
photo_make(struct photo *p, uint64_t seed, size_t len, const uint32_t *stores,
    size_t nstores)
{
	p->key = seed * 0x9e3779b97f4a7c15ULL | 1;
	p->cookie = (uint32_t)(seed * 2654435761u) | 1;
	p->len = len;
	p->data = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		p->data[i] = (uint8_t)(seed + i * 31);
	SHA256(p->data, len, p->sha);
	rt_token_make(&key, p->key, p->cookie, stores, nstores,
	    rt_now_ms() + 60000, &p->token, &p->token_len);
}

/* A photo whose token names one store. */
static void
photo_for(struct photo *p, uint64_t seed, size_t len, uint32_t store)
{
	photo_make(p, seed, len, &store, 1);
}

static void
photo_free(struct photo *p)
{
	free(p->data);
	free(p->token);
}

/* The wire id of p under cookie (the message points into nothing). */
static Hs__PhotoId
wire_id(const struct photo *p, uint32_t cookie)
{
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = p->key;
	id.cookie = cookie;
	return id;
}

/* p's wire id (kept in *id), bytes and SHA-256 in the three fields a
 * Write and a Needle share. */
static void
photo_fields(const struct photo *p, Hs__PhotoId *id, Hs__PhotoId **id_field,
    ProtobufCBinaryData *data, ProtobufCBinaryData *sha256)
{
	*id = wire_id(p, p->cookie);
	*id_field = id;
	data->data = p->data;
	data->len = p->len;
	sha256->data = (uint8_t *)p->sha;
	sha256->len = 32;
}

/* A Write of p under its token, forwarded to the npeers peers. */
static void
write_request(Hs__WriteRequest *req, Hs__PhotoId *id, const struct photo *p,
    Hs__Replica **peers, size_t npeers)
{
	photo_fields(p, id, &req->id, &req->data, &req->sha256);
	req->write_token.data = p->token;
	req->write_token.len = p->token_len;
	req->peers = peers;
	req->n_peers = npeers;
}

static hs_status
write_photo(int i, const struct photo *p, Hs__Replica **peers, size_t npeers,
    size_t *stored_on, struct rpc_error *e)
{
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	Hs__PhotoId id;
	ProtobufCMessage *reply = NULL;
	write_request(&req, &id, p, peers, npeers);
	hs_status st = call(i, "Write", &req.base, &reply, e);
	if (st == HS_OK) {
		if (stored_on)
			*stored_on = ((Hs__WriteReply *)reply)->n_stored_on;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	return st;
}

/* Reads p from store i; HS_DATA_LOSS if the bytes differ. */
static hs_status
read_photo(int i, const struct photo *p, uint32_t cookie, struct rpc_error *e)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = wire_id(p, cookie);
	ProtobufCMessage *reply = NULL;
	req.id = &id;
	hs_status st = call(i, "Read", &req.base, &reply, e);
	if (st == HS_OK) {
		Hs__ReadReply *r = (Hs__ReadReply *)reply;
		if (r->data.len != p->len ||
		    (p->len && memcmp(r->data.data, p->data, p->len) != 0))
			st = HS_DATA_LOSS;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	return st;
}

static void
test_write_read_round_trip(void)
{
	size_t sizes[] = { 0, 1, 4096, 1 << 20 };
	struct rpc_error e;
	for (int k = 0; k < 4; k++) {
		struct photo p;
		photo_for(&p, 100 + (uint64_t)k, sizes[k], 1);
		CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e), HS_OK,
		    e.message);
		/* A resend of the same write is fine (REQ resends). */
		CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e), HS_OK,
		    e.message);
		CHECK_STATUS(read_photo(0, &p, p.cookie, &e), HS_OK, e.message);
		CHECK_STATUS(read_photo(0, &p, p.cookie ^ 1, &e), HS_NOT_FOUND,
		    e.message);
		photo_free(&p);
	}
}

static void
test_bad_token_and_bad_sha_are_refused(void)
{
	uint32_t s1 = 1;
	struct photo p;
	struct rpc_error e;
	photo_for(&p, 200, 1000, 2); /* token names store 2 only */
	CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK(strstr(e.message, "does not name store 1") != NULL);
	free(p.token);
	rt_token_make(&key, p.key, p.cookie, &s1, 1, rt_now_ms() - 1000,
	    &p.token, &p.token_len);
	CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e),
	    HS_PERMISSION_DENIED, e.message);
	CHECK(strstr(e.message, "expired") != NULL);
	free(p.token);
	rt_token_make(&key, p.key, p.cookie, &s1, 1, rt_now_ms() + 60000,
	    &p.token, &p.token_len);
	p.sha[0] ^= 0xff;
	CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e), HS_INVALID_ARGUMENT,
	    e.message);
	CHECK(strstr(e.message, "SHA-256") != NULL);
	CHECK_STATUS(read_photo(0, &p, p.cookie, &e), HS_NOT_FOUND, e.message);
	photo_free(&p);
}

static void
test_write_is_forwarded_to_peers(void)
{
	uint32_t all[] = { 1, 2, 3 };
	Hs__Replica r2 = HS__REPLICA__INIT, r3 = HS__REPLICA__INIT;
	Hs__Replica *peers[] = { &r2, &r3 };
	struct photo p;
	struct rpc_error e;
	size_t n = 0;
	r2.store_id = 2;
	r2.rpc_addr = urls[1];
	r3.store_id = 3;
	r3.rpc_addr = urls[2];
	photo_make(&p, 300, 70000, all, 3);
	CHECK_STATUS(write_photo(0, &p, peers, 2, &n, &e), HS_OK, e.message);
	CHECK_EQ(n, 3);
	for (int i = 0; i < 3; i++)
		CHECK_STATUS(read_photo(i, &p, p.cookie, &e), HS_OK, e.message);
	photo_free(&p);
}

static void
test_delete_is_final(void)
{
	struct photo p;
	struct rpc_error e;
	photo_for(&p, 400, 5000, 1);
	CHECK_STATUS(write_photo(0, &p, NULL, 0, NULL, &e), HS_OK, e.message);
	Hs__StoreDeleteRequest del = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = wire_id(&p, p.cookie);
	ProtobufCMessage *reply;
	del.id = &id;
	CHECK_STATUS(call(0, "Delete", &del.base, &reply, &e), HS_OK,
	    e.message);
	CHECK(((Hs__StoreDeleteReply *)reply)->existed);
	protobuf_c_message_free_unpacked(reply, NULL);
	CHECK_STATUS(call(0, "Delete", &del.base, &reply, &e), HS_OK,
	    e.message);
	protobuf_c_message_free_unpacked(reply, NULL);
	CHECK_STATUS(read_photo(0, &p, p.cookie, &e), HS_NOT_FOUND, e.message);
	/* A deleted id is never written again. */
	CHECK(write_photo(0, &p, NULL, 0, NULL, &e) != HS_OK);
	test_proc_kill(&procs[0], SIGTERM);
	test_proc_restart(&procs[0]);
	CHECK(CHECK_WAIT_UNTIL(store_answers(0), 10000));
	CHECK_STATUS(read_photo(0, &p, p.cookie, &e), HS_NOT_FOUND, e.message);
	photo_free(&p);
}

static void
test_list_needles_pages_in_key_order(void)
{
	struct rpc_error e;
	for (int k = 0; k < 25; k++) {
		struct photo p;
		photo_for(&p, 1000 + (uint64_t)k, 10, 3);
		CHECK_STATUS(write_photo(2, &p, NULL, 0, NULL, &e), HS_OK,
		    e.message);
		photo_free(&p);
	}
	uint64_t after = 0, last = 0;
	size_t total = 0;
	for (;;) {
		Hs__ListNeedlesRequest req = HS__LIST_NEEDLES_REQUEST__INIT;
		ProtobufCMessage *reply;
		req.after_key = after;
		req.limit = 7;
		CHECK_STATUS(call(2, "ListNeedles", &req.base, &reply, &e),
		    HS_OK, e.message);
		Hs__ListNeedlesReply *r = (Hs__ListNeedlesReply *)reply;
		for (size_t i = 0; i < r->n_needles; i++) {
			CHECK(r->needles[i]->id->key > last);
			last = r->needles[i]->id->key;
		}
		total += r->n_needles;
		int more = r->more;
		after = last;
		protobuf_c_message_free_unpacked(reply, NULL);
		if (!more)
			break;
	}
	CHECK(total >= 25); /* the forwarding test also wrote here */
	Hs__ListNeedlesRequest big = HS__LIST_NEEDLES_REQUEST__INIT;
	ProtobufCMessage *reply;
	big.limit = 20000;
	CHECK_STATUS(call(2, "ListNeedles", &big.base, &reply, &e),
	    HS_INVALID_ARGUMENT, e.message);
}

static void
test_garbage_and_oversized_requests_are_refused(void)
{
	uint8_t junk[100];
	struct rpc_error e;
	memset(junk, 0xa5, sizeof(junk));
	CHECK_STATUS(rpc_invoke_raw(clients[1], junk, sizeof(junk), 5000, &e),
	    HS_INVALID_ARGUMENT, e.message);
	struct photo p;
	/* Over the frame bound the store cuts the connection unread. */
	photo_for(&p, 500, 100u << 20, 2);
	CHECK(write_photo(1, &p, NULL, 0, NULL, &e) != HS_OK);
	photo_free(&p);
	CHECK(store_answers(1));
	photo_for(&p, 501, 100, 2);
	CHECK_STATUS(write_photo(1, &p, NULL, 0, NULL, &e), HS_OK, e.message);
	photo_free(&p);
}

/* 16 writers into store 2; SIGKILL in the middle; after a restart every
 * acknowledged photo reads back byte for byte. */
enum { WRITERS = 16, PER_WRITER = 40 };
static struct photo kill_photos[WRITERS][PER_WRITER];
static atomic_int acked[WRITERS];

static void *
writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	uint32_t s2 = 2;
	for (int k = 0; k < PER_WRITER; k++) {
		struct photo *p = &kill_photos[w][k];
		struct rpc_error e;
		photo_make(p, 10000 + (uint64_t)(w * PER_WRITER + k),
		    4096 + (size_t)k * 97, &s2, 1);
		if (write_photo(1, p, NULL, 0, NULL, &e) != HS_OK)
			break;
		atomic_store(&acked[w], k + 1);
	}
	return NULL;
}

static int
total_acked(void)
{
	int n = 0;
	for (int w = 0; w < WRITERS; w++)
		n += atomic_load(&acked[w]);
	return n;
}

static void
test_acknowledged_writes_survive_sigkill(void)
{
	pthread_t t[WRITERS];
	for (int w = 0; w < WRITERS; w++)
		pthread_create(&t[w], NULL, writer_main, (void *)(intptr_t)w);
	CHECK(
	    CHECK_WAIT_UNTIL(total_acked() >= WRITERS * PER_WRITER / 3, 20000));
	test_proc_kill(&procs[1], SIGKILL);
	for (int w = 0; w < WRITERS; w++)
		pthread_join(t[w], NULL);
	int n = total_acked();
	printf("  %d writes acknowledged before the kill\n", n);
	CHECK(n < WRITERS * PER_WRITER); /* the kill landed mid-stream */
	test_proc_restart(&procs[1]);
	CHECK(CHECK_WAIT_UNTIL(store_answers(1), 10000));
	for (int w = 0; w < WRITERS; w++) {
		for (int k = 0; k < atomic_load(&acked[w]); k++) {
			struct rpc_error e;
			CHECK_STATUS(read_photo(1, &kill_photos[w][k],
					 kill_photos[w][k].cookie, &e),
			    HS_OK, e.message);
		}
	}
	for (int w = 0; w < WRITERS; w++)
		for (int k = 0; k < PER_WRITER; k++)
			photo_free(&kill_photos[w][k]);
}

static hs_status
delete_photo(int i, const struct photo *p, struct rpc_error *e)
{
	Hs__StoreDeleteRequest del = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = wire_id(p, p->cookie);
	ProtobufCMessage *reply = NULL;
	del.id = &id;
	hs_status st = call(i, "Delete", &del.base, &reply, e);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return st;
}

/* Store i's Delete of p with a kind and a replicator epoch. */
static hs_status
delete_kind(int i, const struct photo *p, Hs__DeleteKind kind, uint64_t epoch,
    struct rpc_error *e)
{
	Hs__StoreDeleteRequest del = HS__STORE_DELETE_REQUEST__INIT;
	Hs__PhotoId id = wire_id(p, p->cookie);
	ProtobufCMessage *reply = NULL;
	del.id = &id;
	del.kind = kind;
	del.repl_epoch = epoch;
	hs_status st = call(i, "Delete", &del.base, &reply, e);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return st;
}

/* A replicator's copy of p to store i: the call's status, and in *code
 * the needle's own result. */
static hs_status
replicate_photo(int i, const struct photo *p, uint64_t epoch, Hs__Code *code,
    struct rpc_error *e)
{
	Hs__ReplicateRequest req = HS__REPLICATE_REQUEST__INIT;
	Hs__Needle nd = HS__NEEDLE__INIT, *nds[1] = { &nd };
	Hs__PhotoId id;
	ProtobufCMessage *reply = NULL;
	photo_fields(p, &id, &nd.id, &nd.data, &nd.sha256);
	req.needles = nds;
	req.n_needles = 1;
	req.repl_epoch = epoch;
	hs_status st = call(i, "Replicate", &req.base, &reply, e);
	*code = HS__CODE__INTERNAL;
	if (st == HS_OK) {
		Hs__ReplicateReply *r = (Hs__ReplicateReply *)reply;
		if (r->n_results == 1)
			*code = r->results[0]->code;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	return st;
}

/* How store i lists p: its delete kind, -1 when live, -2 when absent. */
static int
listed_kind(int i, const struct photo *p, uint8_t sha[32], size_t *sha_len)
{
	Hs__ListNeedlesRequest req = HS__LIST_NEEDLES_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_error e;
	req.after_key = p->key - 1;
	req.limit = 1;
	req.include_deleted = 1;
	if (call(i, "ListNeedles", &req.base, &reply, &e) != HS_OK)
		return -3;
	Hs__ListNeedlesReply *r = (Hs__ListNeedlesReply *)reply;
	int kind = -2;
	if (r->n_needles == 1 && r->needles[0]->id->key == p->key) {
		Hs__NeedleInfo *ni = r->needles[0];
		kind = ni->deleted ? (int)ni->delete_kind : -1;
		if (sha_len)
			*sha_len = ni->sha256.len;
		if (sha && ni->sha256.len == 32)
			memcpy(sha, ni->sha256.data, 32);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return kind;
}

/* A trim or an orphan removal is not a delete: the replicator's copy (or
 * a write) is taken back; after a DELETE nothing is, across a restart. */
static void
test_trimmed_photo_is_taken_back_deleted_one_never(void)
{
	struct photo p;
	struct rpc_error e;
	Hs__Code code;
	photo_for(&p, 4100, 3000, 2);
	CHECK_STATUS(write_photo(1, &p, NULL, 0, NULL, &e), HS_OK, e.message);
	CHECK_STATUS(delete_kind(1, &p, HS__DELETE_KIND__DELETE_KIND_TRIM, 0,
			 &e),
	    HS_OK, e.message);
	CHECK_EQ(listed_kind(1, &p, NULL, NULL),
	    HS__DELETE_KIND__DELETE_KIND_TRIM);
	CHECK_STATUS(read_photo(1, &p, p.cookie, &e), HS_NOT_FOUND, e.message);
	CHECK_STATUS(replicate_photo(1, &p, 0, &code, &e), HS_OK, e.message);
	CHECK_EQ(code, HS__CODE__OK);
	CHECK_STATUS(read_photo(1, &p, p.cookie, &e), HS_OK, e.message);
	/* The needle describes itself: its SHA-256 is in the listing. */
	uint8_t sha[32];
	size_t sha_len = 0;
	CHECK_EQ(listed_kind(1, &p, sha, &sha_len), -1);
	CHECK(sha_len == 32 && memcmp(sha, p.sha, 32) == 0);
	CHECK_STATUS(delete_kind(1, &p, HS__DELETE_KIND__DELETE_KIND_ORPHAN, 0,
			 &e),
	    HS_OK, e.message);
	CHECK_EQ(listed_kind(1, &p, NULL, NULL),
	    HS__DELETE_KIND__DELETE_KIND_ORPHAN);
	test_proc_kill(&procs[1], SIGTERM);
	test_proc_restart(&procs[1]);
	CHECK(CHECK_WAIT_UNTIL(store_answers(1), 10000));
	CHECK_STATUS(write_photo(1, &p, NULL, 0, NULL, &e), HS_OK, e.message);
	CHECK_STATUS(read_photo(1, &p, p.cookie, &e), HS_OK, e.message);
	/* NONE in a request means DELETE: final. */
	CHECK_STATUS(delete_kind(1, &p, HS__DELETE_KIND__DELETE_KIND_NONE, 0,
			 &e),
	    HS_OK, e.message);
	CHECK_EQ(listed_kind(1, &p, NULL, NULL),
	    HS__DELETE_KIND__DELETE_KIND_DELETE);
	for (int round = 0; round < 2; round++) {
		CHECK_STATUS(replicate_photo(1, &p, 0, &code, &e), HS_OK,
		    e.message);
		CHECK_EQ(code, HS__CODE__FAILED_PRECONDITION);
		CHECK(write_photo(1, &p, NULL, 0, NULL, &e) != HS_OK);
		CHECK_STATUS(read_photo(1, &p, p.cookie, &e), HS_NOT_FOUND,
		    e.message);
		test_proc_kill(&procs[1], SIGTERM);
		test_proc_restart(&procs[1]);
		CHECK(CHECK_WAIT_UNTIL(store_answers(1), 10000));
	}
	photo_free(&p);
}

/* A replicator that lost its lease (a lower epoch than one already seen)
 * can neither copy nor delete; calls from the current replicator and
 * those carrying no epoch (a store's forward, the directory) are served. */
static void
test_stale_replicator_epoch_is_refused(void)
{
	struct photo a, b;
	struct rpc_error e;
	Hs__Code code;
	photo_for(&a, 4200, 2000, 3);
	photo_for(&b, 4201, 2000, 3);
	CHECK_STATUS(replicate_photo(2, &a, 7, &code, &e), HS_OK, e.message);
	CHECK_EQ(code, HS__CODE__OK);
	CHECK_STATUS(delete_kind(2, &a, HS__DELETE_KIND__DELETE_KIND_TRIM, 6,
			 &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK(strstr(e.message, "stale replicator epoch") != NULL);
	CHECK_STATUS(replicate_photo(2, &b, 6, &code, &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK_STATUS(read_photo(2, &a, a.cookie, &e), HS_OK, e.message);
	CHECK_STATUS(read_photo(2, &b, b.cookie, &e), HS_NOT_FOUND, e.message);
	CHECK_STATUS(replicate_photo(2, &b, 0, &code, &e), HS_OK, e.message);
	CHECK_EQ(code, HS__CODE__OK);
	CHECK_STATUS(delete_kind(2, &a, HS__DELETE_KIND__DELETE_KIND_TRIM, 8,
			 &e),
	    HS_OK, e.message);
	CHECK_STATUS(delete_kind(2, &b, HS__DELETE_KIND__DELETE_KIND_TRIM, 7,
			 &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK_STATUS(delete_kind(2, &b, HS__DELETE_KIND__DELETE_KIND_DELETE, 0,
			 &e),
	    HS_OK, e.message);
	CHECK_STATUS(read_photo(2, &b, b.cookie, &e), HS_NOT_FOUND, e.message);
	photo_free(&a);
	photo_free(&b);
}

/* Nine 1 MiB photos roll the 8 MiB volume over; six of the first volume's
 * are deleted, so it is under the 0.5 live threshold. Compact reclaims
 * them; the live ones read back and the deleted ones stay deleted, also
 * after a restart. */
static void
test_compaction_keeps_live_and_deleted_photos_apart(void)
{
	enum { N = 9 };
	struct photo p[N];
	struct rpc_error e;
	for (int k = 0; k < N; k++) {
		photo_for(&p[k], 7000 + (uint64_t)k, 1 << 20, 1);
		CHECK_STATUS(write_photo(0, &p[k], NULL, 0, NULL, &e), HS_OK,
		    e.message);
	}
	for (int k = 0; k < 6; k++)
		CHECK_STATUS(delete_photo(0, &p[k], &e), HS_OK, e.message);
	Hs__CompactRequest req = HS__COMPACT_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	CHECK_STATUS(call(0, "Compact", &req.base, &reply, &e), HS_OK,
	    e.message);
	Hs__CompactReply *r = (Hs__CompactReply *)reply;
	printf("  %u volume(s) compacted, %llu bytes reclaimed\n",
	    r->volumes_compacted, (unsigned long long)r->bytes_reclaimed);
	CHECK(r->volumes_compacted >= 1);
	CHECK(r->bytes_reclaimed >= 6u << 20);
	protobuf_c_message_free_unpacked(reply, NULL);
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < N; k++)
			CHECK_STATUS(read_photo(0, &p[k], p[k].cookie, &e),
			    k < 6 ? HS_NOT_FOUND : HS_OK, e.message);
		test_proc_kill(&procs[0], SIGTERM);
		test_proc_restart(&procs[0]);
		CHECK(CHECK_WAIT_UNTIL(store_answers(0), 10000));
	}
	for (int k = 0; k < N; k++)
		photo_free(&p[k]);
}

static void
test_second_store_on_same_data_dir_is_refused(void)
{
	struct test_proc twin;
	char data[600], flag[620], kf[640];
	snprintf(data, sizeof(data), "--data-dir=%s/store-1", dir);
	snprintf(flag, sizeof(flag), "--listen=tcp://127.0.0.1:%d",
	    test_free_port());
	snprintf(kf, sizeof(kf), "--key-file=");
	test_store_identity(kf + 11, sizeof(kf) - 11, keyfile, 9);
	char *argv[] = { bin, "--id=9", flag, data, kf,
		"--directories=tcp://127.0.0.1:9", NULL };
	CHECK_EQ(test_proc_start(&twin, "twin", dir, argv), 0);
	int rc = test_proc_wait_exit(&twin, 10000);
	test_proc_free(&twin);
	CHECK(rc != 0 && rc != -1);
	CHECK(store_answers(0));
}

static Hs__StoreStatsReply *
stats_of(int i)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	CHECK_STATUS(call(i, "Stats", &req.base, &reply, &e), HS_OK, e.message);
	return (Hs__StoreStatsReply *)reply;
}

static uint64_t
writes_of(int i)
{
	Hs__StoreStatsReply *r = stats_of(i);
	uint64_t n = r ? r->writes : 0;
	if (r)
		hs__store_stats_reply__free_unpacked(r, NULL);
	return n;
}

enum { BATCHED = 12 }; /* < the store's 16 workers: all run at once */
static struct photo batch_photos[BATCHED];
static atomic_int batch_acked;

static void *
batch_writer(void *arg)
{
	struct photo *p = arg;
	Hs__Replica r3 = HS__REPLICA__INIT, *peers[] = { &r3 };
	struct rpc_error e;
	size_t n = 0;
	r3.store_id = 3;
	r3.rpc_addr = urls[2];
	if (write_photo(0, p, peers, 1, &n, &e) == HS_OK && n == 2)
		atomic_fetch_add(&batch_acked, 1);
	else
		fprintf(stderr, "  write: %s (%zu copies)\n", e.message, n);
	return NULL;
}

/* Multi-writes: writes bound for the same peer while a Replicate to it is
 * in flight go together as one Replicate, which the peer stores with one
 * fdatasync. The peer is held (SIGSTOP) until every write has queued, so
 * the batch does not depend on timing: the first Replicate, then one
 * carrying the other eleven. */
static void
test_concurrent_writes_to_one_peer_go_as_one_replicate(void)
{
	uint32_t s13[] = { 1, 3 };
	pthread_t t[BATCHED];
	Hs__StoreStatsReply *before = stats_of(2);
	uint64_t w0 = writes_of(0);
	test_proc_stop(&procs[2]);
	for (int i = 0; i < BATCHED; i++) {
		photo_make(&batch_photos[i], 3000 + (uint64_t)i, 4096, s13, 2);
		pthread_create(&t[i], NULL, batch_writer, &batch_photos[i]);
	}
	int queued = CHECK_WAIT_UNTIL(writes_of(0) >= w0 + BATCHED, 5000);
	test_proc_cont(&procs[2]);
	for (int i = 0; i < BATCHED; i++)
		pthread_join(t[i], NULL);
	CHECK(queued);
	CHECK_EQ(atomic_load(&batch_acked), BATCHED);
	Hs__StoreStatsReply *after = stats_of(2);
	uint64_t calls = after->replicate_calls - before->replicate_calls;
	uint64_t needles = after->replicate_needles - before->replicate_needles;
	uint64_t syncs = after->fdatasyncs - before->fdatasyncs;
	printf("  %d writes reached the peer in %llu Replicate(s) with %llu "
	       "needles and %llu fdatasync(s)\n",
	    BATCHED, (unsigned long long)calls, (unsigned long long)needles,
	    (unsigned long long)syncs);
	CHECK(calls >= 2 && calls <= 3); /* 3: a transport resend */
	CHECK(needles >= BATCHED);
	CHECK(syncs <= calls);
	for (int i = 0; i < BATCHED; i++) {
		struct rpc_error e;
		CHECK_STATUS(read_photo(2, &batch_photos[i],
				 batch_photos[i].cookie, &e),
		    HS_OK, e.message);
		photo_free(&batch_photos[i]);
	}
	hs__store_stats_reply__free_unpacked(before, NULL);
	hs__store_stats_reply__free_unpacked(after, NULL);
}

/* A write under a grant (v2) is registered by the store; with no
 * directory to register with, the Write fails within its deadline with a
 * message that says the copies are durable and to retry (here the store
 * has no directory at all), and the needle stays readable. */
static void
test_grant_write_without_a_directory_fails_clearly(void)
{
	uint32_t s1 = 1;
	struct photo p;
	struct rpc_error e;
	photo_for(&p, 4000, 1000, 1);
	free(p.token);
	p.key = rt_grant_key(&key, 7, 42);
	p.cookie = rt_grant_cookie(&key, p.key);
	rt_token_make_grant(&key, 7, 40, 8, "admin", &s1, 1,
	    rt_now_ms() + 60000, &p.token, &p.token_len);
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	Hs__PhotoId id;
	ProtobufCMessage *reply = NULL;
	write_request(&req, &id, &p, NULL, 0);
	int64_t t0 = check_mono_ms();
	hs_status st = rpc_invoke(clients[0], &hs__store__descriptor, "Write",
	    &req.base, &reply, 1500, 0, &e);
	int64_t took = check_mono_ms() - t0;
	CHECK(st != HS_OK);
	CHECK(took < 3000);
	if (st == HS_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
	else if (e.answered)
		CHECK(strstr(e.message, "retry the upload") != NULL);
	CHECK_STATUS(read_photo(0, &p, p.cookie, &e), HS_OK, e.message);
	photo_free(&p);
}

/* Two more stores with two workers each. */
static struct test_proc pair[2];
static char pair_urls[2][64];

static void
start_pair(void)
{
	char *extra[2] = { "--min-replicas=2", "--workers=2" };
	for (int i = 0; i < 2; i++) {
		start_store_as(&pair[i], 21 + i, pair_urls[i],
		    i ? "pair-22" : "pair-21", extra);
	}
}

struct cross {
	rpc_client *to;
	int peer; /* index in pair of the store to forward to */
	uint64_t seed;
	hs_status st;
	size_t copies;
	char why[384];
};

static void *
cross_writer(void *arg)
{
	struct cross *x = arg;
	uint32_t both[] = { 21, 22 };
	struct photo p;
	Hs__Replica r = HS__REPLICA__INIT, *peers[] = { &r };
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	photo_make(&p, x->seed, 2048, both, 2);
	Hs__PhotoId id;
	r.store_id = (uint32_t)(21 + x->peer);
	r.rpc_addr = pair_urls[x->peer];
	write_request(&req, &id, &p, peers, 1);
	x->st = rpc_invoke(x->to, &hs__store__descriptor, "Write", &req.base,
	    &reply, 8000, 0, &e);
	snprintf(x->why, sizeof(x->why), "%s", e.message);
	if (x->st == HS_OK) {
		x->copies = ((Hs__WriteReply *)reply)->n_stored_on;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	photo_free(&p);
	return NULL;
}

/* Writes that wait on a peer hold a worker; a peer's copies must never
 * queue behind them, or two stores writing to each other with all their
 * workers busy wait for each other until the deadline. Four writes each
 * way on stores with two workers answer at once, both copies durable. */
static void
test_writes_both_ways_never_wait_for_each_other(void)
{
	enum { EACH = 4 };
	rpc_client *to[2];
	struct cross x[2 * EACH];
	pthread_t t[2 * EACH];
	start_pair();
	for (int i = 0; i < 2; i++) {
		const char *u = pair_urls[i];
		to[i] = test_rpc_open(&u, 1, keyfile, 0);
	}
	Hs__StoreStatsRequest sq = HS__STORE_STATS_REQUEST__INIT;
	for (int i = 0; i < 2; i++) {
		ProtobufCMessage *m = NULL;
		struct rpc_error e;
		CHECK(CHECK_WAIT_UNTIL(rpc_invoke(to[i], &hs__store__descriptor,
					   "Stats", &sq.base, &m, 1000, 0,
					   &e) == HS_OK,
		    10000));
		if (m != NULL)
			protobuf_c_message_free_unpacked(m, NULL);
	}
	int64_t t0 = check_mono_ms();
	for (int k = 0; k < 2 * EACH; k++) {
		x[k] = (struct cross){ .to = to[k % 2],
			.peer = 1 - k % 2,
			.seed = 5000 + (uint64_t)k };
		pthread_create(&t[k], NULL, cross_writer, &x[k]);
	}
	for (int k = 0; k < 2 * EACH; k++)
		pthread_join(t[k], NULL);
	int64_t took = check_mono_ms() - t0;
	printf("  %d writes across two stores of two workers in %lld ms\n",
	    2 * EACH, (long long)took);
	for (int k = 0; k < 2 * EACH; k++) {
		CHECK_STATUS(x[k].st, HS_OK, x[k].why);
		CHECK_EQ(x[k].copies, 2);
	}
	CHECK(took < 3000);
	for (int i = 0; i < 2; i++) {
		test_rpc_close(to[i]);
		test_proc_kill(&pair[i], SIGTERM);
		test_proc_free(&pair[i]);
	}
}

static void
test_bad_flags_exit_with_usage_error(void)
{
	struct test_proc p;
	char *argv[] = { bin, "--id=0", "--data-dir=/nonexistent",
		"--key-file=/nonexistent", "--directories=x", NULL };
	CHECK_EQ(test_proc_start(&p, "badflags", dir, argv), 0);
	CHECK_EQ(test_proc_wait_exit(&p, 10000), 64);
	test_proc_free(&p);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "write/read round trip", test_write_read_round_trip },
		{ "bad token and bad sha are refused",
		    test_bad_token_and_bad_sha_are_refused },
		{ "write is forwarded to peers",
		    test_write_is_forwarded_to_peers },
		{ "delete is final, also after restart", test_delete_is_final },
		{ "list needles pages in key order",
		    test_list_needles_pages_in_key_order },
		{ "garbage and oversized requests are refused",
		    test_garbage_and_oversized_requests_are_refused },
		{ "acknowledged writes survive SIGKILL",
		    test_acknowledged_writes_survive_sigkill },
		{ "compaction keeps live and deleted photos apart",
		    test_compaction_keeps_live_and_deleted_photos_apart },
		{ "trimmed photo is taken back, deleted one never",
		    test_trimmed_photo_is_taken_back_deleted_one_never },
		{ "stale replicator epoch is refused",
		    test_stale_replicator_epoch_is_refused },
		{ "second store on the same data dir is refused",
		    test_second_store_on_same_data_dir_is_refused },
		{ "concurrent writes to one peer go as one Replicate",
		    test_concurrent_writes_to_one_peer_go_as_one_replicate },
		{ "grant write without a directory fails clearly",
		    test_grant_write_without_a_directory_fails_clearly },
		{ "writes both ways never wait for each other",
		    test_writes_both_ways_never_wait_for_each_other },
		{ "bad flags exit with a usage error",
		    test_bad_flags_exit_with_usage_error },
		{ NULL, NULL },
	};
	rt_log_init("stored_test", 'T');
	test_temp_dir(dir, sizeof(dir), "stored");
	test_key_file(keyfile, sizeof(keyfile), dir);
	test_secret(keyfile, &key);
	test_runfile(bin, sizeof(bin), "store/stored");
	for (int i = 0; i < NSTORES; i++)
		snprintf(urls[i], sizeof(urls[i]), "tcp://127.0.0.1:%d",
		    test_free_port());
	for (int i = 0; i < 2; i++)
		snprintf(pair_urls[i], sizeof(pair_urls[i]),
		    "tcp://127.0.0.1:%d", test_free_port());
	snprintf(peers_flag, sizeof(peers_flag),
	    "--peers=1=%s,2=%s,3=%s,21=%s,22=%s", urls[0], urls[1], urls[2],
	    pair_urls[0], pair_urls[1]);
	for (int i = 0; i < NSTORES; i++) {
		start_store(i);
		const char *u = urls[i];
		clients[i] = test_rpc_open(&u, 1, keyfile, 0);
	}
	for (int i = 0; i < NSTORES; i++)
		if (!CHECK_WAIT_UNTIL(store_answers(i), 10000)) {
			test_proc_dump_log(&procs[i]);
			return 1;
		}
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		for (int i = 0; i < NSTORES; i++)
			test_proc_dump_log(&procs[i]);
	for (int i = 0; i < NSTORES; i++) {
		test_rpc_close(clients[i]);
		test_rpc_close(as_dir[i]);
		test_rpc_close(as_peer[i]);
		test_proc_kill(&procs[i], SIGTERM);
		test_proc_free(&procs[i]);
	}
	return rc;
}
