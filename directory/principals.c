/* Principals added at run time (see principals.h). */
#include "principals.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dir.h"
#include "directory.pb-c.h"
#include "log.h"
#include "scripts.h"
#include "writer_impl.h"

#define MAX_PRINCIPALS 4096

/* "role hex" of one hash field into p. 0 or -1. */
static int
parse_value(const char *name, const char *v, struct rt_principal *p)
{
	char role[16], hex[2 * RT_PUB_LEN + 2];
	if (sscanf(v, "%15s %65s", role, hex) != 2 ||
	    rt_role_parse(role, &p->role) != 0 || !(p->role & RT_ROLES_USER) ||
	    rt_hex_decode(hex, p->pub, RT_PUB_LEN) != 0 ||
	    strlen(name) >= sizeof(p->name))
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return 0;
}

static int
load(struct dir *d, rt_redis *r, uint64_t version, char *err, size_t errlen)
{
	redisReply *rep = rt_redis_cmd(r, err, errlen,
	    "HGETALL " RK_PRINCIPALS);
	if (rep == NULL)
		return -1;
	size_t n = rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0;
	n = n > MAX_PRINCIPALS ? MAX_PRINCIPALS : n;
	struct rt_principal *ps = calloc(n ? n : 1, sizeof(*ps));
	size_t k = 0;
	for (size_t i = 0; ps != NULL && i < n; i++)
		if (parse_value(rep->element[2 * i]->str,
			rep->element[2 * i + 1]->str, &ps[k]) == 0)
			k++;
	freeReplyObject(rep);
	if (ps == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt_ident_set_dynamic(d->ident, ps, k, version);
	free(ps);
	return 0;
}

int
dir_principals_refresh(struct dir *d, rt_redis *r, char *err, size_t errlen)
{
	redisReply *rep = rt_redis_cmd(r, err, errlen,
	    "GET " RK_PRINCIPALS_VERSION);
	if (rep == NULL)
		return -1;
	uint64_t v = rep->type == REDIS_REPLY_STRING ?
	    strtoull(rep->str, NULL, 10) :
	    0;
	freeReplyObject(rep);
	if (v == rt_ident_dynamic_version(d->ident))
		return 0;
	return load(d, r, v, err, errlen);
}

int
dir_principal_known(struct dir *d, const char *name, char *why, size_t whylen)
{
	rt_key k;
	unsigned role;
	return rt_ident_pair(d->ident, name, &k, &role, why, whylen) == 0;
}

int
dir_caller_is_store(rpc_call *call, uint32_t id)
{
	char want[RT_NAME_MAX];
	rt_store_principal(id, want);
	if (rpc_call_role(call) == RT_ROLE_DIRECTORY ||
	    strcmp(rpc_call_peer(call), want) == 0)
		return 1;
	rpc_fail(call, HS_PERMISSION_DENIED,
	    "%s may not speak for store %" PRIu32 ": a store acts only as "
	    "itself",
	    rpc_call_peer(call), id);
	return 0;
}

/* --- what stores applied, for revocations --- */

struct applied {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* waiting fell to 0 */
	int waiting;	   /* answers still to come from wait_stores */
	size_t n;
	struct {
		uint32_t id;
		uint64_t version;
	} s[1024];
};

static struct applied *
applied_of(struct dir *d)
{
	pthread_mutex_lock(&d->mu);
	if (d->principals_applied == NULL) {
		struct applied *a = calloc(1, sizeof(*a));
		if (a != NULL) {
			pthread_mutex_init(&a->mu, NULL);
			pthread_cond_init(&a->cv, NULL);
		}
		d->principals_applied = a;
	}
	struct applied *a = d->principals_applied;
	pthread_mutex_unlock(&d->mu);
	return a;
}

void
dir_principals_note(struct dir *d, uint32_t store_id, uint64_t version)
{
	struct applied *a = applied_of(d);
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	size_t i = 0;
	while (i < a->n && a->s[i].id != store_id)
		i++;
	if (i < sizeof(a->s) / sizeof(a->s[0])) {
		a->s[i].id = store_id;
		a->s[i].version = version;
		a->n += i == a->n;
	}
	pthread_mutex_unlock(&a->mu);
}

/* UP stores that applied version (into *ok) and that did not (*behind). */
static void
count_applied(struct dir *d, uint64_t version, uint32_t *ok, uint32_t *behind)
{
	struct dir_store st[256];
	size_t n = dir_stores_list(d->stores, 0, st, 256);
	struct applied *a = applied_of(d);
	*ok = *behind = 0;
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < n; i++) {
		int done = 0;
		for (size_t k = 0; k < a->n; k++)
			done |= a->s[k].id == st[i].id &&
			    a->s[k].version >= version;
		*ok += done;
		*behind += !done;
	}
	pthread_mutex_unlock(&a->mu);
}

/* --- the RPCs --- */

/* A revocation (or an addition) is answered once every UP store applied
 * it, or after a few heartbeats: the answer says how many did. */
struct waiter {
	struct dir *d;
	rpc_call *call;
	uint64_t version;
	int64_t until;
};

static void *
wait_stores(void *arg)
{
	struct waiter *w = arg;
	Hs__PrincipalReply out = HS__PRINCIPAL_REPLY__INIT;
	uint32_t ok, behind;
	for (;;) {
		count_applied(w->d, w->version, &ok, &behind);
		if (behind == 0 || rt_mono_ms() >= w->until ||
		    atomic_load(&w->d->stop))
			break;
		rt_sleep_ms(10);
	}
	out.version = w->version;
	out.stores_confirmed = ok;
	out.stores_unconfirmed = behind;
	rpc_reply(w->call, &out.base);
	struct applied *a = applied_of(w->d);
	pthread_mutex_lock(&a->mu);
	if (--a->waiting == 0)
		pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	free(w);
	return NULL;
}

static void
answer_when_applied(struct dir *d, rpc_call *call, uint64_t version)
{
	struct waiter *w = malloc(sizeof(*w));
	struct applied *a = applied_of(d);
	pthread_t t;
	if (w != NULL && a != NULL) {
		*w = (struct waiter){ d, call, version,
			rt_mono_ms() + 3 * d->cfg.heartbeat_ms + 1000 };
		pthread_mutex_lock(&a->mu);
		a->waiting++;
		pthread_mutex_unlock(&a->mu);
		if (pthread_create(&t, NULL, wait_stores, w) == 0) {
			pthread_detach(t);
			return;
		}
		pthread_mutex_lock(&a->mu);
		a->waiting--;
		pthread_mutex_unlock(&a->mu);
	}
	free(w);
	rpc_fail(call, HS_RESOURCE_EXHAUSTED,
	    "committed (version %" PRIu64 "), but cannot wait for the "
	    "stores: out of memory",
	    version);
}

static void
principal_commit(struct dir_job *j, const char *value)
{
	const Hs__PrincipalRequest *q = (const Hs__PrincipalRequest *)j->req;
	char lease[128], err[256];
	if (!dir_writer_lead_or_forward(j, lease, sizeof(lease)))
		return;
	const char *argv[] = { RK_LEADER, RK_PRINCIPALS, RK_PRINCIPALS_VERSION,
		lease, q->principal->name, value };
	size_t lens[6];
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = rt_redis_eval(j->d->writer.link,
	    &dir_script_principal, 3, 6, argv, lens, err, sizeof(err));
	if (dir_writer_script_failed(j, rep, err)) {
		if (rep != NULL)
			freeReplyObject(rep);
		return;
	}
	uint64_t version = (uint64_t)rep->element[1]->integer;
	freeReplyObject(rep);
	if (load(j->d, j->d->writer.link, version, err, sizeof(err)) != 0)
		rt_log_warn("principal committed, reload failed: %s", err);
	rt_log_info("principal '%s' %s (version %" PRIu64 ")",
	    q->principal->name, value[0] ? "added" : "revoked", version);
	answer_when_applied(j->d, j->call, version);
}

static void
add_job(struct dir_job *j)
{
	const Hs__Principal *p = ((const Hs__PrincipalRequest *)j->req)
				     ->principal;
	char value[16 + 2 * RT_PUB_LEN + 2], hex[2 * RT_PUB_LEN + 1];
	rt_hex_encode(p->public_key.data, RT_PUB_LEN, hex);
	snprintf(value, sizeof(value), "%s %s", p->role, hex);
	principal_commit(j, value);
}

static void
revoke_job(struct dir_job *j)
{
	principal_commit(j, "");
}

/* A name people can type and logs can print as is. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return 0;
	return n > 0 && n < RT_NAME_MAX;
}

/* The checks both changes share; 1, or 0 after failing the call. */
static int
principal_request_ok(struct dir *d, rpc_call *call,
    const Hs__PrincipalRequest *q)
{
	char why[200];
	if (q->principal == NULL || !name_ok(q->principal->name)) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "a principal's name is 1-63 of a-z 0-9 . _ -");
		return 0;
	}
	struct rt_principal *list;
	size_t n;
	uint64_t v;
	int dynamic = 0;
	if (rt_ident_dynamic_list(d->ident, &list, &n, &v) == 0) {
		for (size_t i = 0; i < n; i++)
			dynamic |= strcmp(list[i].name, q->principal->name) ==
			    0;
		free(list);
	}
	if (!dynamic &&
	    dir_principal_known(d, q->principal->name, why, sizeof(why))) {
		rpc_fail(call, HS_FAILED_PRECONDITION,
		    "'%s' is in the roster, not added at run time: change the "
		    "roster (tools:keys) to replace it",
		    q->principal->name);
		return 0;
	}
	return 1;
}

void
dir_add_principal(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	const Hs__PrincipalRequest *q = (const Hs__PrincipalRequest *)m;
	unsigned role;
	if (!principal_request_ok(d, call, q))
		return;
	if (rt_role_parse(q->principal->role, &role) != 0 ||
	    !(role & RT_ROLES_USER) ||
	    q->principal->public_key.len != RT_PUB_LEN) {
		rpc_fail(call, HS_INVALID_ARGUMENT,
		    "a credential is a client or admin role with a 32-byte "
		    "X25519 public key (hs cred add makes one)");
		return;
	}
	dir_writer_push(d, call, m, add_job);
}

void
dir_revoke_principal(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	if (principal_request_ok(d, call, (const Hs__PrincipalRequest *)m))
		dir_writer_push(d, call, m, revoke_job);
}

void
dir_list_principals(rpc_call *call, const ProtobufCMessage *m, void *arg)
{
	struct dir *d = arg;
	struct rt_principal *list;
	size_t n;
	Hs__ListPrincipalsReply out = HS__LIST_PRINCIPALS_REPLY__INIT;
	(void)m;
	if (rt_ident_dynamic_list(d->ident, &list, &n, &out.version) != 0) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	Hs__Principal *ps = calloc(n ? n : 1, sizeof(*ps));
	Hs__Principal **pp = calloc(n ? n : 1, sizeof(*pp));
	for (size_t i = 0; ps && pp && i < n; i++) {
		hs__principal__init(&ps[i]);
		ps[i].name = list[i].name;
		ps[i].role = (char *)rt_role_name(list[i].role);
		ps[i].public_key.data = list[i].pub;
		ps[i].public_key.len = RT_PUB_LEN;
		pp[i] = &ps[i];
	}
	out.principals = pp;
	out.n_principals = ps && pp ? n : 0;
	rpc_reply(call, &out.base);
	free(pp);
	free(ps);
	free(list);
}

void
dir_principals_close(struct dir *d)
{
	struct applied *a = d->principals_applied;
	if (a == NULL)
		return;
	/* the waiters see d->stop and answer within a poll */
	pthread_mutex_lock(&a->mu);
	int drained = rt_wait_zero(&a->mu, &a->cv, &a->waiting, 2000) == 0;
	pthread_mutex_unlock(&a->mu);
	if (!drained)
		rt_log_warn("a credential change is still waiting for stores; "
			    "left behind");
	/* kept: heartbeats may still note what stores applied until the
	 * server closes */
}
