/* The directory test cluster (see test_cluster.h). */
#include "test_cluster.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "clock.h"
#include "env.h"
#include "rpc.h"
#include "token.h"

int tc_call_timeout_ms = 3000;
rt_key tc_key;

/* The directory's tests play stores, replicators and clients at once:
 * they call as the directory tier, which may call every method (followers
 * forward with it). */
static rpc_client *
client(struct tc *c, const char *const *urls, size_t n)
{
	char who[600];
	return test_rpc_open(urls, n,
	    test_identity(who, sizeof(who), c->keyfile, RT_DIRECTORY_PRINCIPAL),
	    2000);
}

int
tc_start_dir(struct tc *c, int i, const char *const *extra)
{
	char bin[512], idf[32], lf[96], pf[96], rf[96], kf[320], uf[64],
	    wf[700];
	struct tc_dir *d = &c->d[i];
	const char *env[TEST_PROC_MAX_ENV];
	int ne = 0;
	for (int k = 0; c->env[k] != NULL && ne < 24; k++)
		env[ne++] = c->env[k];
	for (int k = 0; extra != NULL && extra[k] != NULL && ne < 30; k++)
		env[ne++] = extra[k];
	env[ne] = NULL;
	snprintf(idf, sizeof(idf), "--id=%s", d->id);
	snprintf(lf, sizeof(lf), "--listen=%s", d->rpc);
	snprintf(pf, sizeof(pf), "--pub=%s", d->pub);
	struct rt_redis_ep ep = test_redis_ep(&c->redis, "directory");
	snprintf(rf, sizeof(rf), "--redis=%s", ep.addr);
	snprintf(uf, sizeof(uf), "--redis-user=%s", ep.user);
	snprintf(wf, sizeof(wf), "--redis-password-file=%s", ep.password_file);
	snprintf(kf, sizeof(kf), "--key-file=");
	test_identity(kf + 11, sizeof(kf) - 11, c->keyfile,
	    RT_DIRECTORY_PRINCIPAL);
	char *argv[] = { test_runfile(bin, sizeof(bin), "directory/directoryd"),
		idf, lf, pf, rf, uf, wf, kf, NULL };
	struct test_proc_opts o = { .env = env, .ready_ms = 10000 };
	test_proc_free(&d->proc); /* a restart replaces the copies */
	return test_proc_start_opts(&d->proc, d->id, c->dir, argv, &o);
}

int
tc_start(struct tc *c, int n, const char *const *env)
{
	memset(c, 0, sizeof(*c));
	for (int k = 0; env != NULL && env[k] != NULL && k < 15; k++)
		c->env[k] = env[k];
	if (test_temp_dir(c->dir, sizeof(c->dir), "dirtest") != 0 ||
	    test_key_file(c->keyfile, sizeof(c->keyfile), c->dir) != 0 ||
	    test_secret(c->keyfile, &tc_key) != 0 ||
	    test_redis_start(&c->redis, TEST_REDIS_META, NULL, 0) != 0)
		return -1;
	c->rc = test_redis_connect(&c->redis, "admin");
	if (c->rc == NULL || c->rc->err)
		return -1;
	const char *urls[TC_MAX];
	c->n = n;
	for (int i = 0; i < n; i++) {
		struct tc_dir *d = &c->d[i];
		snprintf(d->id, sizeof(d->id), "dir-%d", i + 1);
		snprintf(d->rpc, sizeof(d->rpc), "tcp://127.0.0.1:%d",
		    test_free_port());
		snprintf(d->pub, sizeof(d->pub), "tcp://127.0.0.1:%d",
		    test_free_port());
		if (tc_start_dir(c, i, NULL) != 0)
			return -1;
		urls[i] = d->rpc;
		d->cl = client(c, &urls[i], 1);
	}
	c->all = client(c, urls, (size_t)n);
	return c->all ? 0 : -1;
}

void
tc_signal(struct tc *c, int i, int sig)
{
	test_proc_kill(&c->d[i].proc, sig);
}

void
tc_dump_logs(struct tc *c)
{
	for (int i = 0; i < c->n; i++)
		test_proc_dump_log(&c->d[i].proc);
}

void
tc_stop(struct tc *c)
{
	if (check_failures > 0)
		tc_dump_logs(c);
	for (int i = 0; i < c->n; i++) {
		struct test_proc *p = &c->d[i].proc;
		int rc = p->pid > 0 ? test_proc_term(p) : 0;
		if (rc != 0) {
			/* A clean shutdown exits 0; anything else (a crash, a
			 * leak report under asan) fails the test. */
			fprintf(stderr, "%s exited with %d on SIGTERM\n",
			    c->d[i].id, rc);
			test_proc_dump_log(p);
			check_failures++;
		}
		test_proc_free(p);
	}
	for (int i = 0; i < c->n; i++)
		test_rpc_close(c->d[i].cl);
	test_rpc_close(c->all);
	if (c->rc != NULL)
		redisFree(c->rc);
	test_redis_stop(&c->redis);
}

int
tc_main(struct tc *c, int n, const char *const *env,
    const struct check_case *cases, int argc, char **argv)
{
	if (tc_start(c, n, env) != 0) {
		tc_dump_logs(c);
		tc_stop(c);
		return 1;
	}
	int rc = check_run(cases, argc, argv);
	tc_stop(c); /* fails the run if a directoryd exits unclean */
	return rc != 0 || check_failures > 0;
}

int
tc_leader(struct tc *c, uint64_t *epoch)
{
	redisReply *r = redisCommand(c->rc, "GET hs:leader");
	int idx = -1;
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		const char *slash = strrchr(r->str, '/');
		if (epoch != NULL)
			*epoch = slash ? strtoull(slash + 1, NULL, 10) : 0;
		for (int i = 0; i < c->n; i++)
			if (slash &&
			    strncmp(r->str, c->d[i].id,
				(size_t)(slash - r->str)) == 0 &&
			    strlen(c->d[i].id) == (size_t)(slash - r->str))
				idx = i;
	}
	if (r != NULL)
		freeReplyObject(r);
	return idx;
}

hs_status
tc_health(rpc_client *cl, Hs__HealthReply **reply, int timeout_ms)
{
	Hs__HealthRequest q = HS__HEALTH_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	hs_status st = rpc_invoke(cl, &hs__directory__descriptor, "Health",
	    &q.base, &m, timeout_ms, 0, NULL);
	*reply = (Hs__HealthReply *)m;
	return st;
}

uint64_t
tc_applied(rpc_client *cl, int timeout_ms)
{
	Hs__HealthReply *h;
	if (tc_health(cl, &h, timeout_ms) != HS_OK)
		return 0;
	uint64_t a = h->applied_seq;
	hs__health_reply__free_unpacked(h, NULL);
	return a;
}

static int
serving_leader(struct tc *c)
{
	int idx = tc_leader(c, NULL);
	if (idx < 0 || c->d[idx].proc.pid <= 0)
		return -1;
	Hs__HealthReply *h;
	if (tc_health(c->d[idx].cl, &h, 300) != HS_OK)
		return -1;
	int ok = h->leader;
	hs__health_reply__free_unpacked(h, NULL);
	return ok ? idx : -1;
}

int
tc_wait_leader(struct tc *c, int timeout_ms)
{
	int idx = -1;
	CHECK_WAIT_UNTIL((idx = serving_leader(c)) >= 0, timeout_ms);
	return idx;
}

hs_status
tc_register(rpc_client *cl, uint64_t key, uint32_t cookie, uint8_t sha_byte,
    uint64_t size, uint64_t *seq, struct rpc_error *err)
{
	return tc_register_until(cl, key, cookie, sha_byte, size,
	    rt_now_ms() + 600000, seq, err);
}

hs_status
tc_register_until(rpc_client *cl, uint64_t key, uint32_t cookie,
    uint8_t sha_byte, uint64_t size, int64_t token_expiry_ms, uint64_t *seq,
    struct rpc_error *err)
{
	Hs__RegisterRequest q = HS__REGISTER_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	uint8_t sha[32];
	uint32_t stores[] = { 1, 2 };
	memset(sha, sha_byte, sizeof(sha));
	id.key = key;
	id.cookie = cookie;
	q.id = &id;
	q.sha256.data = sha;
	q.sha256.len = 32;
	q.size = size;
	q.stores = stores;
	q.n_stores = 2;
	if (rt_token_make(&tc_key, key, cookie, stores, 2, token_expiry_ms,
		&q.write_token.data, &q.write_token.len) != 0)
		return HS_RESOURCE_EXHAUSTED;
	ProtobufCMessage *m = NULL;
	hs_status st = HS_UNAVAILABLE;
	/* A leader change under load answers UNAVAILABLE ("taking over or
	 * giving up the lead; retry"): retry for up to 3 s, as callers do (a
	 * registration is an add-only union: a resend changes nothing). */
	CHECK_WAIT_UNTIL(((m = NULL),
			     (st = rpc_invoke(cl, &hs__directory__descriptor,
				  "RegisterPhoto", &q.base, &m,
				  tc_call_timeout_ms, 0, err)) !=
				 HS_UNAVAILABLE),
	    3000);
	free(q.write_token.data);
	if (st == HS_OK) {
		if (seq != NULL)
			*seq = ((Hs__RegisterReply *)m)->seq;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return st;
}

hs_status
tc_lookup(rpc_client *cl, uint64_t key, uint32_t cookie, uint64_t min_seq,
    int *code, Hs__LookupReply **reply, struct rpc_error *err)
{
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *idp = &id;
	id.key = key;
	id.cookie = cookie;
	q.ids = &idp;
	q.n_ids = 1;
	q.min_seq = min_seq;
	ProtobufCMessage *m = NULL;
	hs_status st = rpc_invoke(cl, &hs__directory__descriptor, "Lookup",
	    &q.base, &m, 3000, 0, err);
	if (st != HS_OK)
		return st;
	Hs__LookupReply *r = (Hs__LookupReply *)m;
	if (code != NULL)
		*code = r->n_results == 1 ? (int)r->results[0]->code : -1;
	if (reply != NULL)
		*reply = r;
	else
		hs__lookup_reply__free_unpacked(r, NULL);
	return st;
}

hs_status
tc_heartbeat(rpc_client *cl, uint32_t id, const char *zone, uint64_t free_bytes,
    struct rpc_error *err)
{
	Hs__HeartbeatRequest q = HS__HEARTBEAT_REQUEST__INIT;
	Hs__StoreInfo si = HS__STORE_INFO__INIT;
	char addr[64];
	snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%u", 20000 + id);
	si.id = id;
	si.rpc_addr = addr;
	si.zone = (char *)zone;
	si.state = HS__STORE_STATE__STORE_UP;
	si.capacity_bytes = free_bytes * 2;
	si.free_bytes = free_bytes;
	q.store = &si;
	ProtobufCMessage *m = NULL;
	hs_status st = rpc_invoke(cl, &hs__directory__descriptor, "Heartbeat",
	    &q.base, &m, 2000, 0, err);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

uint64_t
tc_redis_int(struct tc *c, const char *key)
{
	redisReply *r = redisCommand(c->rc, "GET %s", key);
	uint64_t v = 0;
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		v = strtoull(r->str, NULL, 10);
	if (r != NULL)
		freeReplyObject(r);
	return v;
}
