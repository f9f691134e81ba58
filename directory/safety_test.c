/* What the directory must never say, with real processes (issue 10): a
 * restarted directory answers UNAVAILABLE until it has loaded every
 * record, never NOT_FOUND for a live photo; an acknowledged Delete leaves
 * no cache serving the photo, even when the cache Redis stalls during the
 * Delete; UpdateLocations compares-and-sets (a replay changes nothing, a
 * stale replicator is refused); a registration past its write token's
 * expiry is refused, while an identical resend of a committed one is
 * still answered with its seq. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "env.h"
#include "log.h"
#include "photo_id.h"
#include "rpc.h"
#include "test_cluster.h"

static struct tc c;
static struct test_redis cache;

static const char *env[] = { "LEADER_TIMEOUT=1s",
	"LEADER_HEARTBEAT_INTERVAL=100ms", "FOLLOWER_SYNC_INTERVAL=200ms",
	"HEARTBEAT_INTERVAL=200ms", "REDIS_TIMEOUT=200ms",
	"DEFAULT_REPLICA_COUNT=2", "MIN_REPLICA_COUNT=1", "TOKEN_TTL=1s",
	NULL /* HS_CACHE_REDIS and its user, set in main */, NULL, NULL, NULL };

static hs_status
call(rpc_client *cl, const char *method, const ProtobufCMessage *q,
    ProtobufCMessage **m, struct rpc_error *e)
{
	char as[600];
	hs_status st = HS_UNAVAILABLE;
	test_identity(as, sizeof(as), c.keyfile, RT_DIRECTORY_PRINCIPAL);
	/* A leader change under load answers UNAVAILABLE ("taking over or
	 * giving up the lead; retry"): retry, as every caller does, for up to
	 * the same 3 s. */
	CHECK_WAIT_UNTIL(((*m = NULL),
			     (st = test_rpc_invoke_leader(cl, as,
				  &hs__directory__descriptor, method, q, m,
				  3000, e)) != HS_UNAVAILABLE),
	    3000);
	return st;
}

/* 1 if directory i has loaded its records and knows the leader. */
static int
serves(int i)
{
	Hs__HealthReply *h;
	ProtobufCMessage *m;
	struct rpc_error e;
	Hs__DirectoryStatsRequest q = HS__DIRECTORY_STATS_REQUEST__INIT;
	if (call(c.d[i].cl, "Stats", &q.base, &m, &e) != HS_OK)
		return 0;
	protobuf_c_message_free_unpacked(m, NULL);
	if (tc_health(c.d[i].cl, &h, 300) != HS_OK)
		return 0;
	int ok = h->leader_id[0] != '\0';
	hs__health_reply__free_unpacked(h, NULL);
	return ok;
}

/* The leader's index once every directory serves; -1 at the timeout. */
static int
settled(void)
{
	int l = tc_wait_leader(&c, 5000);
	for (int i = 0; l >= 0 && i < c.n; i++)
		if (!CHECK_WAIT_UNTIL(serves(i), 5000))
			return -1;
	return l;
}

static void
test_restarted_directory_unavailable_until_loaded(void)
{
	struct rpc_error e;
	int l = settled();
	CHECK(l >= 0);
	for (uint64_t k = 1; k <= 50; k++)
		CHECK_STATUS(tc_register(c.all, 100 + k, 3, 1, 10, NULL, &e),
		    HS_OK, e.message);
	int f = (l + 1) % c.n;
	tc_signal(&c, f, SIGKILL);
	/* Its load takes 1.5 s: long enough for many calls in between. */
	static const char *const slow[] = { "HS_TEST_LOAD_DELAY=1500ms", NULL };
	CHECK(tc_start_dir(&c, f, slow) == 0);
	int unavailable = 0, found = 0;
	int64_t until = check_mono_ms() + 8000;
	for (uint64_t k = 101; !found && check_mono_ms() < until;
	     k = k == 150 ? 101 : k + 1) {
		int code = -1;
		hs_status st = tc_lookup(c.d[f].cl, k, 3, 0, &code, NULL, &e);
		if (st == HS_UNAVAILABLE) {
			unavailable++;
			continue;
		}
		CHECK_STATUS(st, HS_OK, e.message);
		if (code == HS__CODE__NOT_FOUND)
			fprintf(stderr,
			    "a live photo read NOT_FOUND during the load\n");
		CHECK_EQ(code, HS__CODE__OK);
		found = code == HS__CODE__OK;
		if (code != HS__CODE__OK)
			return;
	}
	printf("  %d lookups answered UNAVAILABLE during the load\n",
	    unavailable);
	CHECK(found);
	CHECK(unavailable > 0);
	/* Once loaded, every photo is there. */
	for (uint64_t k = 101; k <= 150; k++) {
		int code = -1;
		CHECK_STATUS(tc_lookup(c.d[f].cl, k, 3, 0, &code, NULL, &e),
		    HS_OK, e.message);
		CHECK_EQ(code, HS__CODE__OK);
	}
}

/* UpdateLocations of photo (key, 3): add store `add`, expecting seq. */
static hs_status
update(uint64_t key, uint32_t add, uint32_t remove, uint64_t expect,
    uint64_t repl_epoch, uint64_t *seq, struct rpc_error *e)
{
	Hs__UpdateLocationsRequest q = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = 3;
	q.id = &id;
	q.add = add ? &add : NULL;
	q.n_add = add ? 1 : 0;
	q.remove = remove ? &remove : NULL;
	q.n_remove = remove ? 1 : 0;
	q.expect_seq = expect;
	q.repl_epoch = repl_epoch;
	ProtobufCMessage *m;
	hs_status st = call(c.all, "UpdateLocations", &q.base, &m, e);
	if (st == HS_OK && seq != NULL)
		*seq = ((Hs__UpdateLocationsReply *)m)->seq;
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

/* The stores of photo (key, 3) at the leader's seq, as a bit set. */
static unsigned
stores_of(uint64_t key, uint64_t *seq)
{
	Hs__LookupReply *r = NULL;
	int code = -1;
	unsigned set = 0;
	if (tc_lookup(c.all, key, 3, tc_redis_int(&c, "hs:seq"), &code, &r,
		NULL) != HS_OK)
		return 0;
	if (code == HS__CODE__OK) {
		for (size_t i = 0; i < r->results[0]->record->n_stores; i++)
			set |= 1u << r->results[0]->record->stores[i];
		*seq = r->results[0]->record->seq;
	}
	hs__lookup_reply__free_unpacked(r, NULL);
	return set;
}

static void
test_update_locations_compares_and_sets(void)
{
	struct rpc_error e;
	uint64_t seq, s1, s2, now;
	CHECK(settled() >= 0);
	CHECK_STATUS(tc_register(c.all, 300, 3, 1, 10, &seq, &e), HS_OK,
	    e.message);
	CHECK_STATUS(update(300, 3, 0, seq, 0, &s1, &e), HS_OK, e.message);
	CHECK(s1 > seq);
	/* A replay planned on the old record changes nothing. */
	uint64_t head = tc_redis_int(&c, "hs:seq");
	CHECK_STATUS(update(300, 3, 0, seq, 0, NULL, &e), HS_ABORTED,
	    e.message);
	CHECK(strstr(e.message, "seq") != NULL);
	CHECK_STATUS(update(300, 0, 3, seq, 0, NULL, &e), HS_ABORTED,
	    e.message);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), head);
	CHECK_EQ(stores_of(300, &now), (1u << 1) | (1u << 2) | (1u << 3));
	CHECK_EQ(now, s1);
	/* The replicator's fence: an epoch older than Redis's is refused. */
	redisReply *r = redisCommand(c.rc, "SET %s 5", "hs:replicator:epoch");
	CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	CHECK_STATUS(update(300, 0, 3, s1, 4, NULL, &e), HS_FAILED_PRECONDITION,
	    e.message);
	CHECK(strstr(e.message, "stale replicator") != NULL);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), head);
	CHECK_EQ(stores_of(300, &now), (1u << 1) | (1u << 2) | (1u << 3));
	CHECK_STATUS(update(300, 0, 3, s1, 5, &s2, &e), HS_OK, e.message);
	CHECK(s2 > s1);
	CHECK_EQ(stores_of(300, &now), (1u << 1) | (1u << 2));
}

/* Allocates through the directories (stores 1 and 2 heartbeating). */
static Hs__AllocateReply *
allocate(void)
{
	struct rpc_error e;
	uint8_t sha[32];
	memset(sha, 7, sizeof(sha));
	Hs__AllocateRequest q = HS__ALLOCATE_REQUEST__INIT;
	q.sha256.data = sha;
	q.sha256.len = 32;
	q.size = 10;
	ProtobufCMessage *m = NULL;
	for (uint32_t s = 1; s <= 2; s++)
		CHECK_STATUS(tc_heartbeat(c.all, s, "", 1u << 30, &e), HS_OK,
		    e.message);
	hs_status st = call(c.all, "Allocate", &q.base, &m, &e);
	CHECK_STATUS(st, HS_OK, e.message);
	return st == HS_OK ? (Hs__AllocateReply *)m : NULL;
}

static hs_status
register_with(const Hs__AllocateReply *a, uint64_t *seq, struct rpc_error *e)
{
	Hs__RegisterRequest q = HS__REGISTER_REQUEST__INIT;
	uint8_t sha[32];
	uint32_t stores[] = { 1, 2 };
	memset(sha, 7, sizeof(sha));
	q.id = a->id;
	q.sha256.data = sha;
	q.sha256.len = 32;
	q.size = 10;
	q.stores = stores;
	q.n_stores = 2;
	q.write_token = a->write_token;
	ProtobufCMessage *m;
	hs_status st = call(c.all, "RegisterPhoto", &q.base, &m, e);
	if (st == HS_OK)
		*seq = ((Hs__RegisterReply *)m)->seq;
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

static void
test_registration_bound_to_its_token(void)
{
	struct rpc_error e;
	uint64_t seq = 0, again = 0;
	CHECK(settled() >= 0);
	/* TOKEN_TTL=1s: a registration sent after that is refused. */
	Hs__AllocateReply *late = allocate(), *ok = allocate();
	CHECK(late != NULL && ok != NULL);
	if (late == NULL || ok == NULL)
		return;
	CHECK_STATUS(register_with(ok, &seq, &e), HS_OK, e.message);
	uint64_t head = tc_redis_int(&c, "hs:seq");
	CHECK(CHECK_WAIT_UNTIL(rt_now_ms() > late->token_expiry_ms + 50, 3000));
	CHECK_STATUS(register_with(late, &again, &e), HS_PERMISSION_DENIED,
	    e.message);
	CHECK(strstr(e.message, "expired") != NULL);
	CHECK_EQ(tc_redis_int(&c, "hs:seq"), head);
	/* A reply lost, the registration resent after the expiry: the
	 * committed photo is answered with its seq, not refused. */
	CHECK_STATUS(register_with(ok, &again, &e), HS_OK, e.message);
	CHECK_EQ(again, seq);
	/* A token for another photo, or none, is refused. */
	Hs__AllocateReply other = *late;
	Hs__PhotoId id = *ok->id;
	id.key ^= 1;
	other.id = &id;
	other.write_token = ok->write_token;
	CHECK_STATUS(register_with(&other, &again, &e), HS_PERMISSION_DENIED,
	    e.message);
	other.write_token.len = 0;
	CHECK_STATUS(register_with(&other, &again, &e), HS_PERMISSION_DENIED,
	    e.message);
	hs__allocate_reply__free_unpacked(late, NULL);
	hs__allocate_reply__free_unpacked(ok, NULL);
}

/* The cache entry of photo (key, 3); "" if none. */
#define CHECK_STR(got, want)                                                   \
	CHECK_MSG(strcmp(got, want) == 0, "got \"%s\", want \"%s\"", got, want)

static void
cache_get(uint64_t key, char *out, size_t len)
{
	char ck[PHOTO_CACHE_KEY_LEN + 1];
	photo_cache_key(key, 3, ck);
	out[0] = '\0';
	redisContext *rc = test_redis_connect(&cache, "admin");
	redisReply *r = rc && !rc->err ? redisCommand(rc, "GET %s", ck) : NULL;
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(out, len, "%s", r->str);
	if (r != NULL)
		freeReplyObject(r);
	if (rc != NULL)
		redisFree(rc);
}

static hs_status
delete_photo(uint64_t key, struct rpc_error *e)
{
	Hs__DeleteRequest q = HS__DELETE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = key;
	id.cookie = 3;
	q.id = &id;
	ProtobufCMessage *m;
	hs_status st = call(c.all, "Delete", &q.base, &m, e);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

/* Sends cmd to the cache Redis; 1 if it answered without an error. */
static int
cache_cmd(const char *cmd, const char *a1, const char *a2)
{
	redisContext *rc = test_redis_connect(&cache, "admin");
	redisReply *r = rc && !rc->err ? redisCommand(rc, cmd, a1, a2) : NULL;
	int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
	if (r != NULL)
		freeReplyObject(r);
	if (rc != NULL)
		redisFree(rc);
	return ok;
}

/* Photo key is registered and in the cache, as a store's push on write
 * puts it. */
static void
cached_photo(uint64_t key)
{
	struct rpc_error e;
	char ck[PHOTO_CACHE_KEY_LEN + 1];
	CHECK_STATUS(tc_register(c.all, key, 3, 1, 10, NULL, &e), HS_OK,
	    e.message);
	photo_cache_key(key, 3, ck);
	CHECK(cache_cmd("SET %s %s", ck, "photo-bytes"));
}

/* After a Delete answered st, the cache must not serve the photo if st
 * is OK; a failure must say the delete is committed and to retry. */
static void
check_delete_answer(uint64_t key, hs_status st, const struct rpc_error *e)
{
	char v[64];
	cache_get(key, v, sizeof(v));
	if (st == HS_OK && strcmp(v, PHOTO_CACHE_DELETED) != 0)
		fprintf(stderr,
		    "the Delete was acknowledged, yet the cache serves "
		    "\"%s\"\n",
		    v);
	CHECK_STATUS(st, HS_UNAVAILABLE, e->message);
	CHECK(strstr(e->message, "could not be cleared") != NULL);
	CHECK(strstr(e->message, "retry") != NULL);
}

static void
test_acknowledged_delete_never_served_from_cache(void)
{
	struct rpc_error e;
	char v[64];
	CHECK(settled() >= 0);
	/* The cache refuses writes for a while (readers still get the
	 * photo): the delete commits, but is not acknowledged. */
	cached_photo(400);
	CHECK(cache_cmd("CONFIG SET %s %s", "min-replicas-to-write", "1"));
	hs_status st = delete_photo(400, &e);
	check_delete_answer(400, st, &e);
	CHECK(cache_cmd("CONFIG SET %s %s", "min-replicas-to-write", "0"));
	/* The retried Delete writes the marker, then succeeds. */
	CHECK_STATUS(delete_photo(400, &e), HS_OK, e.message);
	cache_get(400, v, sizeof(v));
	CHECK_STR(v, PHOTO_CACHE_DELETED);
	/* The cache stalls (SIGSTOP) during the Delete: the same. */
	cached_photo(401);
	test_proc_kill(&cache.proc, SIGSTOP);
	st = delete_photo(401, &e);
	test_proc_kill(&cache.proc, SIGCONT);
	check_delete_answer(401, st, &e);
	CHECK_STATUS(delete_photo(401, &e), HS_OK, e.message);
	cache_get(401, v, sizeof(v));
	CHECK_STR(v, PHOTO_CACHE_DELETED);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "a restarted directory is UNAVAILABLE until loaded",
		    test_restarted_directory_unavailable_until_loaded },
		{ "UpdateLocations compares and sets",
		    test_update_locations_compares_and_sets },
		{ "a registration is bound to its write token",
		    test_registration_bound_to_its_token },
		{ "an acknowledged delete is never served from the cache",
		    test_acknowledged_delete_never_served_from_cache },
		{ NULL, NULL },
	};
	static char cache_env[3][700];
	rt_log_init("safety_test", 'T');
	if (test_redis_start(&cache, TEST_REDIS_CACHE, NULL, 0) != 0)
		return 1;
	struct rt_redis_ep ep = test_redis_ep(&cache, "directory");
	snprintf(cache_env[0], sizeof(cache_env[0]), "HS_CACHE_REDIS=%s",
	    ep.addr);
	snprintf(cache_env[1], sizeof(cache_env[1]), "HS_CACHE_REDIS_USER=%s",
	    ep.user);
	snprintf(cache_env[2], sizeof(cache_env[2]),
	    "HS_CACHE_REDIS_PASSWORD_FILE=%s", ep.password_file);
	for (int i = 0; i < 3; i++)
		env[8 + i] = cache_env[i];
	int rc = tc_main(&c, 3, env, cases, argc, argv);
	test_redis_stop(&cache);
	return rc;
}
