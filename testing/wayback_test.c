/* A way back (docs/reliability.md), on a whole cluster of real processes:
 * the metadata Redis is wiped (FLUSHALL, every directory and store
 * restarted, so no process remembers a record or the old leader's epoch)
 * and `hs restore` from a backup, or `hs rebuild` from the stores, brings
 * every photo back byte-identical while deleted photos stay NOT_FOUND. A
 * second restore changes nothing; a damaged backup is refused whole. */
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>

#include "check.h"
#include "cluster_run.h"
#include "directory.pb-c.h"
#include "env.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"
#include "store.pb-c.h"

enum { MAX_PHOTOS = 64 };

/* Every photo the cases uploaded: its bytes, and whether it was deleted. */
struct photo {
	hs_photo_id id;
	uint8_t *data;
	size_t len;
	int deleted;
};

static struct test_cluster tc;
static char hs_bin[512], backup[600];
static struct photo photos[MAX_PHOTOS];
static int nphotos;

/* Runs hs with args (NULL-terminated): stdout into out, stderr into errs.
 * Its exit code. */
static int
run_hs(char *out, size_t outlen, char *errs, size_t errlen,
    const char *const *args)
{
	const char *argv[16] = { hs_bin, "--cluster", tc.cluster_file };
	int n = 3;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return test_proc_run((char *const *)argv, NULL, tc.dir, out, outlen,
	    errs, errlen, 120000);
}

/* Uploads n photos through a fresh client and deletes every
 * delete_every-th of them. */
static int
upload_some(int n, int delete_every)
{
	hs_client *c;
	hs_error e;
	if (hs_open_file(&c, tc.cluster_file, &e) != HS_OK)
		return -1;
	int rc = 0;
	for (int i = 0; i < n && nphotos < MAX_PHOTOS && rc == 0; i++) {
		struct photo *p = &photos[nphotos];
		p->len = 1000 + (size_t)nphotos * 3001;
		p->data = test_bytes(p->len, (uint64_t)nphotos + 1);
		if (hs_upload(c, p->data, p->len, 0, 30000, &p->id, &e) !=
		    HS_OK)
			rc = -1;
		else if (i % delete_every == delete_every - 1 &&
		    hs_delete(c, p->id, 30000, &e) != HS_OK)
			rc = -1;
		else
			p->deleted = i % delete_every == delete_every - 1;
		nphotos++;
	}
	if (rc != 0)
		fprintf(stderr, "upload_some: %s\n", e.message);
	test_hs_close(c);
	return rc;
}

static int
stores_up(void)
{
	return test_cluster_wait_stores_up(&tc, tc.nstores, 100);
}

static int
flushall(const struct test_redis *redis)
{
	redisContext *r = test_redis_connect(redis, "admin");
	redisReply *rep = r && !r->err ? redisCommand(r, "FLUSHALL") : NULL;
	int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (rep != NULL)
		freeReplyObject(rep);
	if (r != NULL)
		redisFree(r);
	return ok ? 0 : -1;
}

/* The metadata is lost: every directory and store stops, the metadata
 * Redis is emptied, and they all start again. */
static int
wipe_metadata(void)
{
	for (int i = 0; i < tc.ndirs; i++)
		test_proc_kill(&tc.dirs[i], SIGKILL);
	for (int i = 0; i < tc.nstores; i++)
		test_proc_kill(&tc.stores[i], SIGTERM);
	/* The cache too, so every read below goes through the directory. */
	int ok = flushall(&tc.meta) == 0 && flushall(&tc.cache) == 0;
	for (int i = 0; ok && i < tc.nstores; i++)
		ok = test_proc_restart(&tc.stores[i]) == 0;
	for (int i = 0; ok && i < tc.ndirs; i++)
		ok = test_proc_restart(&tc.dirs[i]) == 0;
	return ok && CHECK_WAIT_UNTIL(stores_up(), 30000) ? 0 : -1;
}

/* What a fresh client reads of p: HS_OK only with p's exact bytes. */
static hs_status
read_photo(hs_client *c, const struct photo *p, hs_error *e)
{
	void *data = NULL;
	size_t got = 0;
	hs_status st = hs_download(c, p->id, 10000, &data, &got, e);
	if (st == HS_OK && (got != p->len || memcmp(data, p->data, got) != 0))
		st = HS_DATA_LOSS;
	free(data);
	return st;
}

/* Every photo reads back as it was uploaded; deleted ones NOT_FOUND.
 * The index of the first that does not, or -1. */
static int
first_wrong(hs_error *e)
{
	hs_client *c;
	if (hs_open_file(&c, tc.cluster_file, e) != HS_OK)
		return 0;
	int bad = -1;
	for (int i = 0; i < nphotos && bad < 0; i++) {
		hs_status st = read_photo(c, &photos[i], e);
		if (st != (photos[i].deleted ? HS_NOT_FOUND : HS_OK))
			bad = i;
	}
	test_hs_close(c);
	return bad;
}

/* 1 once no store's Read returns any deleted photo. */
static int
deletes_reached_stores(void)
{
	for (int i = 0; i < nphotos; i++)
		for (int s = 0; photos[i].deleted && s < tc.nstores; s++) {
			Hs__ReadRequest req = HS__READ_REQUEST__INIT;
			Hs__PhotoId pid = HS__PHOTO_ID__INIT;
			ProtobufCMessage *reply = NULL;
			pid.key = photos[i].id.key;
			pid.cookie = photos[i].id.cookie;
			req.id = &pid;
			hs_status st = test_rpc_call(tc.p_store[s], tc.keyfile,
			    &hs__store__descriptor, "Read", &req.base, &reply,
			    2000, NULL);
			if (reply != NULL)
				protobuf_c_message_free_unpacked(reply, NULL);
			if (st != HS_NOT_FOUND)
				return 0;
		}
	return 1;
}

/* The number after "key": in a JSON line, or -1. */
static long long
json_num(const char *out, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(out, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

static int
count(int deleted)
{
	int n = 0;
	for (int i = 0; i < nphotos; i++)
		n += photos[i].deleted == deleted;
	return n;
}

static void
test_backup_wipe_restore(void)
{
	char out[4096], errs[4096];
	hs_error e;
	hs_client *c;
	CHECK(upload_some(20, 4) == 0);
	const char *bk[] = { "--json", "backup", backup, NULL };
	CHECK_MSG(run_hs(out, sizeof(out), errs, sizeof(errs), bk) == 0, "%s%s",
	    out, errs);
	CHECK_EQ(json_num(out, "records"), 20);
	CHECK_EQ(json_num(out, "deleted"), 5);
	CHECK(wipe_metadata() == 0);
	/* The loss is real: a live photo is unknown now. */
	CHECK_STATUS(hs_open_file(&c, tc.cluster_file, &e), HS_OK, e.message);
	hs_status st = read_photo(c, &photos[0], &e);
	test_hs_close(c);
	CHECK_STATUS(st, HS_NOT_FOUND, e.message);
	const char *rs[] = { "--json", "restore", backup, NULL };
	CHECK_MSG(run_hs(out, sizeof(out), errs, sizeof(errs), rs) == 0, "%s%s",
	    out, errs);
	CHECK_EQ(json_num(out, "restored"), 20);
	CHECK_EQ(json_num(out, "kept"), 0);
	/* Followers learn the records through the change log. */
	CHECK_MSG(CHECK_WAIT_UNTIL(first_wrong(&e) < 0, 10000), "photo #%d: %s",
	    first_wrong(&e), e.message);
}

/* Writes the backup's bytes to path, cut to len, with byte flip flipped
 * (-1: none). */
static int
write_damaged(const char *path, size_t len, long flip)
{
	static char buf[1 << 16];
	FILE *f = fopen(backup, "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f != NULL)
		fclose(f);
	if (n == 0 || n == sizeof(buf))
		return -1;
	if (flip >= 0)
		buf[flip % (long)n] ^= 0x10;
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	fwrite(buf, 1, len < n ? len : n, f);
	return fclose(f);
}

static void
test_restore_twice_keeps_all_and_damage_is_refused(void)
{
	char out[4096], errs[4096], bad[700];
	hs_error e;
	const char *rs[] = { "--json", "restore", backup, NULL };
	CHECK_MSG(run_hs(out, sizeof(out), errs, sizeof(errs), rs) == 0, "%s%s",
	    out, errs);
	CHECK_EQ(json_num(out, "restored"), 0);
	CHECK_EQ(json_num(out, "kept"), 20);
	snprintf(bad, sizeof(bad), "%s/damaged.hsb", tc.dir);
	const char *rb[] = { "restore", bad, NULL };
	/* A flipped bit in a record, a cut-off tail, a file of another kind. */
	CHECK(write_damaged(bad, (size_t)-1, 500) == 0);
	CHECK_EQ(run_hs(out, sizeof(out), errs, sizeof(errs), rb), 1);
	CHECK_MSG(strstr(errs, "damaged") != NULL, "%s", errs);
	CHECK(write_damaged(bad, 700, -1) == 0);
	CHECK_EQ(run_hs(out, sizeof(out), errs, sizeof(errs), rb), 1);
	CHECK_MSG(strstr(errs, "damaged") != NULL, "%s", errs);
	FILE *f = fopen(bad, "w");
	CHECK(f != NULL);
	fputs("photo,id\n1,2\n", f);
	fclose(f);
	CHECK_EQ(run_hs(out, sizeof(out), errs, sizeof(errs), rb), 1);
	CHECK_MSG(strstr(errs, "not an hs backup") != NULL, "%s", errs);
	CHECK_MSG(first_wrong(&e) < 0, "after refused restores: %s", e.message);
}

/* One directory call at directory index i. */
static hs_status
dir_call(int i, const char *method, const ProtobufCMessage *req,
    ProtobufCMessage **reply)
{
	return test_rpc_call(tc.p_dir[i], tc.keyfile,
	    &hs__directory__descriptor, method, req, reply, 10000, NULL);
}

/* The index of the first live photo whose record does not list 3 stores
 * (as the leader holds it), or -1. */
static int
replicas_short(void)
{
	Hs__ListRecordsRequest lq = HS__LIST_RECORDS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	int leader = test_cluster_leader(&tc);
	lq.limit = 10000;
	if (leader < 0 ||
	    dir_call(leader, "ListRecords", &lq.base, &reply) != HS_OK)
		return nphotos;
	Hs__ListRecordsReply *l = (Hs__ListRecordsReply *)reply;
	int bad = -1;
	for (int i = 0; i < nphotos && bad < 0; i++) {
		size_t k = 0;
		while (k < l->n_records &&
		    l->records[k]->id->key != photos[i].id.key)
			k++;
		if (!photos[i].deleted &&
		    (k == l->n_records || l->records[k]->n_stores != 3))
			bad = i;
	}
	hs__list_records_reply__free_unpacked(l, NULL);
	return bad;
}

static void
test_rebuild_from_the_stores(void)
{
	char out[4096], errs[4096];
	hs_error e;
	CHECK(upload_some(10, 3) == 0);
	/* A delete the stores have not applied yet is lost with Redis: the
	 * rebuild can only know what the stores know. */
	CHECK(CHECK_WAIT_UNTIL(deletes_reached_stores(), 30000));
	CHECK(wipe_metadata() == 0);
	const char *rb[] = { "--json", "rebuild", NULL };
	CHECK_MSG(run_hs(out, sizeof(out), errs, sizeof(errs), rb) == 0, "%s%s",
	    out, errs);
	CHECK_EQ(json_num(out, "active"), count(0));
	CHECK_EQ(json_num(out, "unreadable"), 0);
	/* Deleted photos come back as DELETED records when a store recorded
	 * a DELETE, else they are left out; either way they stay gone. */
	CHECK_EQ(json_num(out, "deleted") + json_num(out, "skipped"), count(1));
	CHECK_EQ(json_num(out, "restored"), json_num(out, "records"));
	CHECK_MSG(CHECK_WAIT_UNTIL(first_wrong(&e) < 0, 10000), "photo #%d: %s",
	    first_wrong(&e), e.message);
	/* Every copy was found again: each live photo has its three. */
	CHECK_EQ(replicas_short(), -1);
}

static void
follower_forwards_and_bad_input_is_refused(void)
{
	int leader = test_cluster_leader(&tc);
	CHECK(leader >= 0);
	int f = 1 - leader;
	Hs__ListRecordsRequest lq = HS__LIST_RECORDS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	lq.limit = 10001;
	CHECK_EQ(dir_call(f, "ListRecords", &lq.base, &reply),
	    HS_INVALID_ARGUMENT);
	lq.limit = 5;
	CHECK_EQ(dir_call(f, "ListRecords", &lq.base, &reply), HS_OK);
	Hs__ListRecordsReply *l = (Hs__ListRecordsReply *)reply;
	int ordered = l->n_records == 5 && l->more;
	for (size_t i = 1; ordered && i < l->n_records; i++)
		ordered = l->records[i - 1]->id->key < l->records[i]->id->key;
	/* A record the directory holds is kept, through the follower. */
	Hs__RestoreRequest rq = HS__RESTORE_REQUEST__INIT;
	ProtobufCMessage *rr = NULL;
	rq.records = l->records;
	rq.n_records = 1;
	hs_status st = dir_call(f, "Restore", &rq.base, &rr);
	Hs__RestoreReply *r = (Hs__RestoreReply *)rr;
	int kept = st == HS_OK && r->kept == 1 && r->restored == 0;
	if (rr != NULL)
		protobuf_c_message_free_unpacked(rr, NULL);
	/* A malformed record refuses the whole batch. */
	l->records[1]->sha256.len = 3;
	rq.n_records = 2;
	hs_status bad = dir_call(leader, "Restore", &rq.base, &rr);
	hs__list_records_reply__free_unpacked(l, NULL);
	CHECK(ordered);
	CHECK_STATUS(st, HS_OK, "Restore at a follower");
	CHECK(kept);
	CHECK_STATUS(bad, HS_INVALID_ARGUMENT, "a 3-byte sha256");
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "backup, wipe, restore: every photo back, deletes kept",
		    test_backup_wipe_restore },
		{ "restore twice keeps all; a damaged backup is refused",
		    test_restore_twice_keeps_all_and_damage_is_refused },
		{ "rebuild from the stores after a wipe",
		    test_rebuild_from_the_stores },
		{ "a follower forwards; bad input is refused",
		    follower_forwards_and_bad_input_is_refused },
		{ NULL, NULL },
	};
	struct test_cluster_opts o = { .ndirs = 2, .nstores = 3 };
	rt_log_init("wayback_test", 'T');
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	if (test_cluster_start(&tc, &o) != 0)
		return 1;
	snprintf(backup, sizeof(backup), "%s/meta.hsb", tc.dir);
	int rc = test_cluster_run(&tc, NULL, cases, argc, argv);
	for (int i = 0; i < nphotos; i++)
		free(photos[i].data);
	return rc;
}
