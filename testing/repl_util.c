/* Helpers for the replicator's end-to-end tests (see repl_util.h). */
#include "repl_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "directory.pb-c.h"
#include "env.h"
#include "replicator.pb-c.h"
#include "replicator/policy.h"
#include "rpc.h"
#include "store.pb-c.h"
#include "token.h"

static rpc_client *dirs, *dirs_srv, *stores[TEST_CLUSTER_MAX_STORES + 1];
static char keyfile[600];
static uint64_t last_seq; /* our last write: lookups read it back */

int
tr_open(struct test_cluster *c)
{
	char urls[TEST_CLUSTER_MAX_DIRS][64];
	const char *u[TEST_CLUSTER_MAX_DIRS];
	snprintf(keyfile, sizeof(keyfile), "%s", c->keyfile);
	for (int i = 0; i < c->ndirs; i++) {
		snprintf(urls[i], sizeof(urls[i]), "tcp://127.0.0.1:%d",
		    c->p_dir[i]);
		u[i] = urls[i];
	}
	/* these tests play the admin's uploads; a registration of their own
	 * (a store's job) goes as the directory tier */
	char as[600];
	test_identity(as, sizeof(as), keyfile, RT_DIRECTORY_PRINCIPAL);
	if ((dirs = test_rpc_open(u, (size_t)c->ndirs, keyfile, 0)) == NULL ||
	    (dirs_srv = test_rpc_open(u, (size_t)c->ndirs, as, 0)) == NULL)
		return -1;
	for (int i = 0; i < c->nstores; i++)
		stores[i + 1] = test_rpc_open_port(c->p_store[i], keyfile);
	return 0;
}

void
tr_close(void)
{
	last_seq = 0;
	test_rpc_close(dirs);
	dirs = NULL;
	test_rpc_close(dirs_srv);
	dirs_srv = NULL;
	for (int i = 0; i <= TEST_CLUSTER_MAX_STORES; i++) {
		test_rpc_close(stores[i]);
		stores[i] = NULL;
	}
}

static hs_status
dcall(const char *m, const ProtobufCMessage *req, ProtobufCMessage **rep)
{
	struct rpc_error e;
	char as[600];
	if (strcmp(m, "RegisterPhoto") == 0)
		return test_rpc_invoke_leader(dirs_srv,
		    test_identity(as, sizeof(as), keyfile,
			RT_DIRECTORY_PRINCIPAL),
		    &hs__directory__descriptor, m, req, rep, 10000, &e);
	return test_rpc_invoke_leader(dirs, keyfile, &hs__directory__descriptor,
	    m, req, rep, 10000, &e);
}

static hs_status
scall(uint32_t s, const char *m, const ProtobufCMessage *req,
    ProtobufCMessage **rep)
{
	struct rpc_error e;
	if (s == 0 || s > TEST_CLUSTER_MAX_STORES || stores[s] == NULL)
		return HS_INVALID_ARGUMENT;
	return rpc_invoke(stores[s], &hs__store__descriptor, m, req, rep, 5000,
	    0, &e);
}

/* The wire id of p (the message points into nothing). */
static Hs__PhotoId
photo_id(const struct tphoto *p)
{
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = p->key;
	id.cookie = p->cookie;
	return id;
}

int
tr_upload(struct tphoto *p, uint64_t seed, size_t len, int register_it)
{
	memset(p, 0, sizeof(*p));
	p->len = len;
	p->data = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		p->data[i] = (uint8_t)((seed * 131 + i * 7) ^ (i >> 8));
	SHA256(p->data, len, p->sha);
	Hs__AllocateRequest aq = HS__ALLOCATE_REQUEST__INIT;
	aq.size = len;
	aq.sha256.data = p->sha;
	aq.sha256.len = 32;
	ProtobufCMessage *m = NULL;
	hs_status st = dcall("Allocate", &aq.base, &m);
	if (st != HS_OK)
		return st;
	Hs__AllocateReply *ar = (Hs__AllocateReply *)m;
	p->key = ar->id->key;
	p->cookie = ar->id->cookie;
	for (size_t i = 0; i < ar->n_stores && i < 8; i++)
		p->stores[p->nstores++] = ar->stores[i]->store_id;
	Hs__WriteRequest wq = HS__WRITE_REQUEST__INIT;
	wq.id = ar->id;
	wq.data.data = p->data;
	wq.data.len = len;
	wq.sha256.data = p->sha;
	wq.sha256.len = 32;
	wq.write_token = ar->write_token;
	/* An orphan (a client that dies before registering): under the
	 * grant's token the store registers what it takes, so write under a
	 * one-photo token (v1), which leaves registering to the client. */
	uint8_t *v1 = NULL;
	size_t v1len = 0;
	rt_key k;
	if (!register_it && test_secret(keyfile, &k) == 0 &&
	    rt_token_make(&k, p->key, p->cookie, p->stores, p->nstores,
		rt_now_ms() + 60000, &v1, &v1len) == 0) {
		wq.write_token.data = v1;
		wq.write_token.len = v1len;
	}
	wq.peers = ar->stores + 1;
	wq.n_peers = ar->n_stores - 1;
	ProtobufCMessage *wm = NULL;
	st = scall(ar->stores[0]->store_id, "Write", &wq.base, &wm);
	free(v1);
	uint32_t on[8];
	size_t non = 0;
	if (st == HS_OK) {
		Hs__WriteReply *wr = (Hs__WriteReply *)wm;
		for (size_t i = 0; i < wr->n_stored_on && i < 8; i++)
			on[non++] = wr->stored_on[i];
		protobuf_c_message_free_unpacked(wm, NULL);
	}
	if (st == HS_OK && register_it) {
		Hs__RegisterRequest rq = HS__REGISTER_REQUEST__INIT;
		rq.id = ar->id;
		rq.sha256.data = p->sha;
		rq.sha256.len = 32;
		rq.size = len;
		rq.stores = on;
		rq.n_stores = non;
		rq.write_token = ar->write_token;
		ProtobufCMessage *rm = NULL;
		st = dcall("RegisterPhoto", &rq.base, &rm);
		if (rm && ((Hs__RegisterReply *)rm)->seq > last_seq)
			last_seq = ((Hs__RegisterReply *)rm)->seq;
		if (rm)
			protobuf_c_message_free_unpacked(rm, NULL);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

int
tr_up(struct test_cluster *c, const struct test_cluster_opts *o)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		memset(c, 0, sizeof(*c));
		if (test_cluster_start(c, o) == 0 && tr_open(c) == 0)
			return 0;
		fprintf(stderr, "cluster start failed (attempt %d); retrying\n",
		    attempt + 1);
		tr_close();
		test_cluster_stop(c);
	}
	return -1;
}

void
tr_down(struct test_cluster *c, int failed)
{
	if (failed)
		test_cluster_dump_logs(c);
	tr_close();
	test_cluster_stop(c);
}

void
tr_case(struct test_cluster *c, const struct test_cluster_opts *o, int nphotos,
    int (*body)(struct tphoto *ph))
{
	struct tphoto *ph = calloc((size_t)nphotos, sizeof(*ph));
	int failed = ph == NULL || tr_up(c, o) != 0 || body(ph) != 0;
	for (int i = 0; ph != NULL && i < nphotos; i++)
		tr_photo_free(&ph[i]);
	free(ph);
	tr_down(c, failed);
	CHECK(!failed);
}

void
tr_photo_free(struct tphoto *p)
{
	free(p->data);
	p->data = NULL;
}

size_t
tr_locations(const struct tphoto *p, uint32_t *out, size_t max,
    uint32_t *target)
{
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = photo_id(p), *pid = &id;
	q.ids = &pid;
	q.n_ids = 1;
	q.include_down = 1;
	q.min_seq = last_seq;
	ProtobufCMessage *m = NULL;
	if (dcall("Lookup", &q.base, &m) != HS_OK)
		return 0;
	Hs__LookupReply *r = (Hs__LookupReply *)m;
	size_t n = 0;
	if (r->n_results == 1 && r->results[0]->code == HS__CODE__OK) {
		const Hs__PhotoRecord *rec = r->results[0]->record;
		for (size_t i = 0; i < rec->n_stores && n < max; i++)
			out[n++] = rec->stores[i];
		if (target)
			*target = rec->target_replicas;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return n;
}

int
tr_all_repaired(struct tphoto *ph, int n, const uint32_t *gone, size_t ngone,
    size_t want)
{
	for (int i = 0; i < n; i++) {
		uint32_t loc[8];
		size_t nl = tr_locations(&ph[i], loc, 8, NULL);
		if (nl != want)
			return 0;
		for (size_t k = 0; k < nl; k++)
			if (repl_has_id(gone, ngone, loc[k]) ||
			    !tr_read_ok(&ph[i], loc[k]))
				return 0;
	}
	return 1;
}

int
tr_read_ok(const struct tphoto *p, uint32_t store)
{
	Hs__ReadRequest q = HS__READ_REQUEST__INIT;
	Hs__PhotoId id = photo_id(p);
	q.id = &id;
	ProtobufCMessage *m = NULL;
	if (scall(store, "Read", &q.base, &m) != HS_OK)
		return 0;
	Hs__ReadReply *r = (Hs__ReadReply *)m;
	uint8_t got[32];
	SHA256(r->data.data, r->data.len, got);
	int ok = r->data.len == p->len && memcmp(got, p->sha, 32) == 0;
	protobuf_c_message_free_unpacked(m, NULL);
	return ok;
}

void
tr_read_n(const struct tphoto *p, uint32_t store, int n)
{
	for (int i = 0; i < n; i++)
		tr_read_ok(p, store);
}

int
tr_store_has(const struct tphoto *p, uint32_t store)
{
	Hs__ListNeedlesRequest q = HS__LIST_NEEDLES_REQUEST__INIT;
	q.after_key = p->key - 1;
	q.limit = 1;
	ProtobufCMessage *m = NULL;
	if (scall(store, "ListNeedles", &q.base, &m) != HS_OK)
		return 0;
	Hs__ListNeedlesReply *r = (Hs__ListNeedlesReply *)m;
	int has = r->n_needles == 1 && r->needles[0]->id->key == p->key &&
	    !r->needles[0]->deleted;
	protobuf_c_message_free_unpacked(m, NULL);
	return has;
}

int
tr_delete(const struct tphoto *p)
{
	Hs__DeleteRequest q = HS__DELETE_REQUEST__INIT;
	Hs__PhotoId id = photo_id(p);
	q.id = &id;
	ProtobufCMessage *m = NULL;
	hs_status st = dcall("Delete", &q.base, &m);
	if (m && ((Hs__DeleteReply *)m)->seq > last_seq)
		last_seq = ((Hs__DeleteReply *)m)->seq;
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

static hs_status
rcall(int port, const char *meth, const ProtobufCMessage *req,
    ProtobufCMessage **rep, int64_t timeout)
{
	return test_rpc_call(port, keyfile, &hs__replicator__descriptor, meth,
	    req, rep, timeout, NULL);
}

int
tr_queue(int port, uint64_t depth[4], uint64_t *done, int *active)
{
	Hs__QueueRequest q = HS__QUEUE_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	hs_status st = rcall(port, "Queue", &q.base, &m, 2000);
	if (st != HS_OK)
		return st;
	Hs__QueueReply *r = (Hs__QueueReply *)m;
	for (size_t i = 0; i < 4; i++)
		depth[i] = i < r->n_depth ? r->depth[i] : 0;
	if (done)
		*done = r->done;
	if (active)
		*active = r->active;
	protobuf_c_message_free_unpacked(m, NULL);
	return HS_OK;
}

int
tr_audit(int port, uint64_t *orphans_deleted)
{
	Hs__AuditRequest q = HS__AUDIT_REQUEST__INIT;
	q.wait = 1;
	ProtobufCMessage *m = NULL;
	hs_status st = rcall(port, "Audit", &q.base, &m, 30000);
	if (st != HS_OK)
		return st;
	if (orphans_deleted)
		*orphans_deleted = ((Hs__AuditReply *)m)->orphans_deleted;
	protobuf_c_message_free_unpacked(m, NULL);
	return HS_OK;
}

int
tr_audit_reply(int port, Hs__AuditReply **out)
{
	Hs__AuditRequest q = HS__AUDIT_REQUEST__INIT;
	q.wait = 1;
	ProtobufCMessage *m = NULL;
	*out = NULL;
	hs_status st = rcall(port, "Audit", &q.base, &m, 30000);
	if (st == HS_OK)
		*out = (Hs__AuditReply *)m;
	return st;
}

int
tr_idle(int port)
{
	uint64_t depth[4];
	int active = 0;
	if (tr_queue(port, depth, NULL, &active) != HS_OK || !active)
		return 0;
	return depth[0] + depth[1] + depth[2] + depth[3] == 0;
}

int
tr_store_down(uint32_t store)
{
	Hs__ListStoresRequest q = HS__LIST_STORES_REQUEST__INIT;
	q.include_down = 1;
	ProtobufCMessage *m = NULL;
	if (dcall("ListStores", &q.base, &m) != HS_OK)
		return 0;
	Hs__ListStoresReply *r = (Hs__ListStoresReply *)m;
	int down = 0;
	for (size_t i = 0; i < r->n_stores; i++)
		down |= r->stores[i]->id == store &&
		    r->stores[i]->state == HS__STORE_STATE__STORE_DOWN;
	protobuf_c_message_free_unpacked(m, NULL);
	return down;
}

int
tr_corrupt(struct test_cluster *c, const struct tphoto *p, uint32_t store)
{
	char dpath[700];
	snprintf(dpath, sizeof(dpath), "%s/store-%u", c->dir, store);
	DIR *d = opendir(dpath);
	if (d == NULL)
		return -1;
	struct dirent *de;
	int done = -1;
	while (done != 0 && (de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (nl < 4 || strcmp(de->d_name + nl - 4, ".dat") != 0)
			continue;
		char f[1000];
		snprintf(f, sizeof(f), "%s/%s", dpath, de->d_name);
		int fd = open(f, O_RDWR);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		uint8_t *map = mmap(NULL, (size_t)sb.st_size,
		    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED) {
			uint8_t *hit = memmem(map, (size_t)sb.st_size, p->data,
			    p->len);
			if (hit) {
				hit[p->len / 2] ^= 0x5a;
				msync(map, (size_t)sb.st_size, MS_SYNC);
				done = 0;
			}
			munmap(map, (size_t)sb.st_size);
		}
		close(fd);
	}
	closedir(d);
	return done;
}
