/* Network partitions on a cluster whose every process is a host of its own
 * (testing/hosts.h, docs/hosts.md): the leader cut off from the metadata
 * Redis steps down and commits nothing more; a follower cut off from the
 * leader keeps answering lookups and catches up after the heal; a store
 * cut off from the directories still serves reads to clients; a whole zone
 * cut off leaves uploads going on in the other zones and every photo with
 * a copy outside it readable; after each heal everything converges
 * (replicas back at target, nothing lost, nothing resurrected). One
 * cluster, the cases in sequence, every cut healed before the next. Needs
 * root: skips with one line otherwise. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "curl.h"
#include "directory.pb-c.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "redis_keys.h"
#include "rpc.h"

#define MAX_PHOTOS 64
#define PHOTO_LEN 6000

struct photo {
	hs_photo_id id;
	uint64_t seed;
	int deleted;
};

static struct test_cluster tc;
static hs_client *cl;
static struct photo photos[MAX_PHOTOS];
static int nphotos;

/* ---- photos -------------------------------------------------------- */

/* Uploads one more photo through client c; HS_OK or why not. */
static hs_status
upload_via(hs_client *c, int64_t timeout_ms, hs_error *e)
{
	if (nphotos >= MAX_PHOTOS)
		return HS_RESOURCE_EXHAUSTED;
	struct photo *p = &photos[nphotos];
	p->seed = 1000 + (uint64_t)nphotos;
	uint8_t *data = test_bytes(PHOTO_LEN, p->seed);
	hs_status st = hs_upload(c, data, PHOTO_LEN, 0, timeout_ms, &p->id, e);
	free(data);
	if (st == HS_OK)
		nphotos++;
	return st;
}

/* 1 if photo p downloads with its bytes. */
static int
readable(const struct photo *p)
{
	void *back = NULL;
	size_t len = 0;
	hs_error e;
	uint8_t *want = test_bytes(PHOTO_LEN, p->seed);
	int ok = hs_download(cl, p->id, 5000, &back, &len, &e) == HS_OK &&
	    len == PHOTO_LEN && memcmp(back, want, len) == 0;
	free(back);
	free(want);
	return ok;
}

/* 1 if p holds a copy in zone (up to date as the directories know). */
static int
has_copy_in(const struct hs_photo_info *in, const char *zone)
{
	for (size_t i = 0; i < in->nreplicas; i++)
		if (strcmp(in->replicas[i].zone, zone) == 0)
			return 1;
	return 0;
}

/* 1 when every photo is where it should be: a live one at its replica
 * target with every replica UP and its bytes intact, a deleted one not
 * found (not resurrected). */
static int
converged(void)
{
	for (int i = 0; i < nphotos; i++) {
		struct hs_photo_info in;
		hs_error e;
		hs_status st = hs_stat(cl, photos[i].id, 3000, &in, &e);
		if (photos[i].deleted) {
			if (st != HS_NOT_FOUND)
				return 0;
			continue;
		}
		if (st != HS_OK || in.nreplicas != in.target_replicas)
			return 0;
		for (size_t k = 0; k < in.nreplicas; k++)
			if (in.replicas[k].state != HS_STORE_UP)
				return 0;
		if (!readable(&photos[i]))
			return 0;
	}
	return 1;
}

/* ---- the directories as they see themselves ------------------------ */

/* Directory i's /status.json body into buf ("" when it does not answer). */
static void
dir_status(int i, char *buf, size_t len)
{
	char url[96];
	struct test_http_resp r;
	memset(&r, 0, sizeof(r));
	buf[0] = '\0';
	snprintf(url, sizeof(url), "http://%s:%d/status.json", tc.ip_dir[i],
	    tc.p_dirhttp[i]);
	if (test_http("GET", url, NULL, &r) == 0 && r.status == 200)
		snprintf(buf, len, "%s", r.body);
	test_http_free(&r);
}

static int
is_leader(int i)
{
	char b[8192];
	dir_status(i, b, sizeof(b));
	return strstr(b, "\"role\":\"leader\"") != NULL;
}

/* Directory i's applied change-log sequence, 0 when it does not answer. */
static uint64_t
applied_seq(int i)
{
	char b[8192];
	uint64_t seq = 0;
	dir_status(i, b, sizeof(b));
	const char *p = strstr(b, "\"applied_seq\":");
	if (p != NULL)
		sscanf(p + 14, "%" SCNu64, &seq);
	return seq;
}

/* Lookup of p at directory i: its code, -1 when the call failed. */
static int
lookup_at(int i, const struct photo *p)
{
	Hs__LookupRequest req = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[] = { &id };
	Hs__LookupReply *rep = NULL;
	char url[64];
	id.key = p->id.key;
	id.cookie = p->id.cookie;
	req.ids = ids;
	req.n_ids = 1;
	snprintf(url, sizeof(url), "tcp://%s:%d", tc.ip_dir[i], tc.p_dir[i]);
	if (test_rpc_call_url(url, tc.keyfile, &hs__directory__descriptor,
		"Lookup", &req.base, (ProtobufCMessage **)&rep, 2000,
		NULL) != HS_OK)
		return -1;
	int code = rep->n_results == 1 ? (int)rep->results[0]->code : -1;
	hs__lookup_reply__free_unpacked(rep, NULL);
	return code;
}

/* ---- the metadata Redis, as the test's admin sees it --------------- */

/* The lease "<id>/<epoch>" into out ("" when none). */
static void
lease(char *out, size_t len)
{
	out[0] = '\0';
	redisContext *r = test_redis_connect(&tc.meta, "admin");
	redisReply *rep = r ? redisCommand(r, "GET %s", RK_LEADER) : NULL;
	if (rep != NULL && rep->type == REDIS_REPLY_STRING)
		snprintf(out, len, "%s", rep->str);
	if (rep != NULL)
		freeReplyObject(rep);
	if (r != NULL)
		redisFree(r);
}

/* The change log's entries after seq: how many, and how many of them were
 * committed under the lease by. -1 when Redis does not answer. */
static int
log_after(uint64_t seq, const char *by, int *by_count)
{
	redisContext *r = test_redis_connect(&tc.meta, "admin");
	redisReply *rep = r ?
	    redisCommand(r, "XRANGE %s %" PRIu64 "-1 +", RK_LOG, seq) :
	    NULL;
	int n = -1;
	*by_count = 0;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY) {
		n = (int)rep->elements;
		for (size_t i = 0; i < rep->elements; i++) {
			redisReply *f = rep->element[i]->element[1];
			for (size_t k = 0; k + 1 < f->elements; k += 2)
				if (strcmp(f->element[k]->str, "by") == 0 &&
				    strcmp(f->element[k + 1]->str, by) == 0)
					(*by_count)++;
		}
	}
	if (rep != NULL)
		freeReplyObject(rep);
	if (r != NULL)
		redisFree(r);
	return n;
}

/* The sequence of the change log's last entry (0: empty). */
static uint64_t
log_head(void)
{
	redisContext *r = test_redis_connect(&tc.meta, "admin");
	redisReply *rep = r ?
	    redisCommand(r, "XREVRANGE %s + - COUNT 1", RK_LOG) :
	    NULL;
	uint64_t seq = 0;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1)
		seq = strtoull(rep->element[0]->element[0]->str, NULL, 10);
	if (rep != NULL)
		freeReplyObject(rep);
	if (r != NULL)
		redisFree(r);
	return seq;
}

/* ---- the cases ----------------------------------------------------- */

/* A client that knows only directory i. NULL after printing why. */
static hs_client *
client_of(int i)
{
	static struct hs_cluster cfg; /* large */
	hs_client *c = NULL;
	hs_error e;
	if (hs_cluster_load(tc.cluster_file, &cfg, &e) != HS_OK)
		goto fail;
	cfg.ndirectories = 1;
	snprintf(cfg.directories[0], sizeof(cfg.directories[0]), "tcp://%s:%d",
	    tc.ip_dir[i], tc.p_dir[i]);
	if (hs_open(&c, &cfg, &e) == HS_OK)
		return c;
fail:
	fprintf(stderr, "client of directory-%d: %s\n", i + 1, e.message);
	return NULL;
}

/* The leader cut off from the metadata Redis loses its lease: it steps
 * down, another directory takes a newer epoch, an upload through it fails
 * or is committed by the new leader, and no change-log entry written
 * after the cut carries the old lease. */
static void
leader_cut_from_redis_steps_down(void)
{
	char old[128], now[128] = "";
	hs_error e;
	int L = test_cluster_leader(&tc);
	CHECK(L >= 0);
	lease(old, sizeof(old));
	uint64_t head = log_head();
	CHECK(test_hosts_cut(tc.hosts, tc.h_dir[L], tc.h_meta, 1) == 0);
	int moved = CHECK_WAIT_UNTIL((lease(now, sizeof(now)),
					 now[0] && strcmp(now, old) != 0) &&
		!is_leader(L),
	    10000);
	hs_client *via = client_of(L);
	hs_status through = via ? upload_via(via, 2000, &e) : HS_INTERNAL;
	test_hs_close(via);
	hs_status st = upload_via(cl, 10000, &e);
	int by_old = 0, after = log_after(head, old, &by_old);
	test_hosts_heal(tc.hosts, tc.h_dir[L], tc.h_meta, 1);
	CHECK_MSG(moved, "lease still %s (was %s), directory-%d %s", now, old,
	    L + 1, is_leader(L) ? "still leader" : "stepped down");
	fprintf(stderr,
	    "lease %s -> %s; an upload through the cut leader: %s\n", old, now,
	    hs_status_str(through));
	CHECK_STATUS(st, HS_OK, e.message);
	CHECK_MSG(after > 0 && by_old == 0,
	    "%d change-log entries after the cut, %d under the old lease %s",
	    after, by_old, old);
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 15000));
}

/* A follower cut off from the leader still answers lookups of what it
 * had, and after the heal has what the leader committed meanwhile. */
static void
follower_cut_from_leader_serves_and_catches_up(void)
{
	hs_error e;
	int L = test_cluster_leader(&tc);
	CHECK(L >= 0);
	int F = (L + 1) % tc.ndirs;
	CHECK_STATUS(upload_via(cl, 10000, &e), HS_OK, e.message);
	const struct photo *before = &photos[nphotos - 1];
	CHECK(CHECK_WAIT_UNTIL(lookup_at(F, before) == HS__CODE__OK, 5000));
	CHECK(test_hosts_cut(tc.hosts, tc.h_dir[F], tc.h_dir[L], 1) == 0);
	int cut = !test_hosts_reach(tc.hosts, tc.h_dir[F], tc.ip_dir[L],
	    tc.p_dir[L]);
	int served = 1;
	for (int k = 0; k < nphotos; k++)
		served &= !photos[k].deleted &&
		    lookup_at(F, &photos[k]) == HS__CODE__OK;
	hs_status st = upload_via(cl, 10000, &e);
	const struct photo *during = &photos[nphotos - 1];
	int still = lookup_at(F, before) == HS__CODE__OK;
	test_hosts_heal(tc.hosts, tc.h_dir[F], tc.h_dir[L], 1);
	CHECK_MSG(cut, "directory-%d still reaches the leader", F + 1);
	CHECK_MSG(served && still,
	    "directory-%d cut off from the leader stopped answering lookups",
	    F + 1);
	CHECK_STATUS(st, HS_OK, e.message);
	CHECK_MSG(CHECK_WAIT_UNTIL(lookup_at(F, during) == HS__CODE__OK &&
			  applied_seq(F) >= applied_seq(L),
		      10000),
	    "directory-%d did not catch up: applied %" PRIu64
	    ", the leader %" PRIu64,
	    F + 1, applied_seq(F), applied_seq(L));
}

/* Cuts (heals) store s from every directory. */
static int
store_from_dirs(int s, int cut)
{
	int rc = 0;
	for (int i = 0; i < tc.ndirs; i++)
		rc |= cut ?
		    test_hosts_cut(tc.hosts, tc.h_store[s], tc.h_dir[i], 1) :
		    test_hosts_heal(tc.hosts, tc.h_store[s], tc.h_dir[i], 1);
	return rc;
}

/* A store the directories cannot reach (they mark it DOWN) still serves
 * its photos to clients that can. */
static void
store_cut_from_directories_serves_reads(void)
{
	struct hs_photo_info in;
	hs_error e;
	CHECK(nphotos > 0);
	const struct photo *p = &photos[nphotos - 1];
	CHECK_STATUS(hs_stat(cl, p->id, 3000, &in, &e), HS_OK, e.message);
	CHECK(in.nreplicas > 0);
	int s = (int)in.replicas[0].store_id - 1;
	CHECK(s >= 0 && s < tc.nstores);
	CHECK(store_from_dirs(s, 1) == 0);
	int down = test_cluster_wait_stores_up(&tc, tc.nstores - 1, 10000);
	hs_status rd = test_cluster_read(&tc, s, p->id.key, p->id.cookie, 0);
	store_from_dirs(s, 0);
	CHECK_MSG(down, "the directories still list store-%d UP", s + 1);
	CHECK_STATUS(rd, HS_OK, "a read from the store the directories lost");
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 15000));
}

/* A photo to delete while zone is cut off: one with a copy there. */
static struct photo *
with_copy_in(const char *zone)
{
	for (int i = nphotos - 1; i >= 0; i--) {
		struct hs_photo_info in;
		hs_error e;
		if (!photos[i].deleted &&
		    hs_stat(cl, photos[i].id, 3000, &in, &e) == HS_OK &&
		    has_copy_in(&in, zone))
			return &photos[i];
	}
	return NULL;
}

/* Zone a cut off from everything else: uploads go on in zones b and c,
 * every photo keeps a copy outside zone a and stays readable, a delete
 * goes through; after the heal the cluster converges: replicas back at
 * target, nothing lost, the deleted photo not resurrected. The uploads are
 * a client's that opened during the cut: an older client's write grants
 * name zone a's stores, and a Write to a silent store takes the upload's
 * whole deadline (docs/hosts.md, "Known limits"). */
static void
zone_cut_off_uploads_go_on_and_converge(void)
{
	hs_error e;
	hs_client *fresh = NULL;
	for (int k = 0; k < 4; k++)
		CHECK_STATUS(upload_via(cl, 10000, &e), HS_OK, e.message);
	struct photo *gone = with_copy_in("zone-a");
	CHECK(gone != NULL);
	int first_new = nphotos;
	CHECK(test_hosts_cut_zone(tc.hosts, "zone-a") == 0);
	int down = test_cluster_wait_stores_up(&tc, tc.nstores - 2, 10000);
	hs_status up = hs_open_file(&fresh, tc.cluster_file, &e);
	for (int k = 0; k < 4 && up == HS_OK; k++)
		up = upload_via(fresh, 10000, &e);
	int lost = -1;
	for (int i = 0; i < nphotos && lost < 0; i++)
		if (!photos[i].deleted && !readable(&photos[i]))
			lost = i;
	hs_status del = hs_delete(cl, gone->id, 10000, &e);
	gone->deleted = del == HS_OK;
	test_hosts_heal_zone(tc.hosts, "zone-a");
	test_hs_close(fresh);
	CHECK_MSG(down, "zone a's stores still UP at the directories");
	CHECK_STATUS(up, HS_OK, e.message);
	CHECK_MSG(nphotos == first_new + 4, "%d uploads in the cut",
	    nphotos - first_new);
	CHECK_MSG(lost < 0, "photo %d unreadable with zone a cut off", lost);
	CHECK_STATUS(del, HS_OK, "a delete while zone a is cut off");
	CHECK(test_cluster_wait_stores_up(&tc, tc.nstores, 15000));
	CHECK_MSG(CHECK_WAIT_UNTIL(converged(), 30000),
	    "not converged 30 s after the heal");
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "leader cut from redis steps down",
		    leader_cut_from_redis_steps_down },
		{ "follower cut from leader serves and catches up",
		    follower_cut_from_leader_serves_and_catches_up },
		{ "store cut from directories serves reads",
		    store_cut_from_directories_serves_reads },
		{ "zone cut off: uploads go on, converges after",
		    zone_cut_off_uploads_go_on_and_converge },
		{ NULL, NULL },
	};
	char why[160];
	hs_error e;
	if (!test_hosts_possible(why, sizeof(why))) {
		printf("partition_test: SKIPPED: %s\n", why);
		return 0;
	}
	rt_log_init("partition_test", 'T');
	struct test_cluster_opts o = { .ndirs = 3,
		.nstores = 5,
		.replicator = 1,
		.hosts = 1,
		.store_args = "--stats-report-interval=200ms --scrub-rate=0",
		.repl_args = "--store-down-grace=1s --orphan-grace=1s "
			     "--tick=100ms --retry-base=100ms "
			     "--nightly-audit-hour=-1 --rpc-timeout=2s" };
	if (test_cluster_start(&tc, &o) != 0) {
		test_cluster_stop(&tc);
		return 1;
	}
	if (hs_open_file(&cl, tc.cluster_file, &e) != HS_OK) {
		fprintf(stderr, "client: %s\n", e.message);
		test_cluster_stop(&tc);
		return 1;
	}
	for (int k = 0; k < 3; k++)
		if (upload_via(cl, 10000, &e) != HS_OK)
			fprintf(stderr, "first uploads: %s\n", e.message);
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		test_cluster_dump_logs(&tc);
	test_hs_close(cl);
	test_cluster_stop(&tc);
	return rc;
}
