/* Heartbeat and maintenance threads (see background.h).
 *
 * Heartbeat: every HEARTBEAT_INTERVAL the store sends its StoreInfo to the
 * directory leader (the first one ever announces the store). It finds the
 * leader in Redis (hs:leader:info) when it knows Redis, else asks any
 * configured directory; a follower that refuses with a leader hint makes the
 * store talk to that leader directly. A failed heartbeat forgets the leader
 * so the next one looks again. The leader's epoch in the reply
 * raises the store's fencing floor, so a deposed leader's requests are
 * refused; its applied seq and the send time go to the delete follower
 * (delete_follow.h), which gates reads by hint. While no directory answers
 * the store keeps serving (reads by hint stop when the lease runs out).
 *
 * Maintenance: once a second, look up the active replicator in Redis and
 * scrub up to SCRUB_RATE needles; every 10 s,
 * compact volumes below COMPACTION_EFFICIENCY_THRESHOLD; every
 * STATS_REPORT_INTERVAL, report access counts. */
#include "background.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "access_stats.h"
#include "clock.h"
#include "delete_follow.h"
#include "directory.pb-c.h"
#include "leader_info.h"
#include "log.h"

struct background {
	struct store_service *svc;
	rpc_client *dirs; /* dials every configured directory */
	char leader[256]; /* the leader's address once a hint named it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	pthread_t hb_thread, maint_thread;
	int hb_started, maint_started;
};

/* Sleeps up to ms, waking early on stop. Returns 1 when stopping. */
static int
nap(struct background *bg, int64_t ms)
{
	struct timespec ts;
	rt_timespec_in(ms, &ts);
	pthread_mutex_lock(&bg->mu);
	if (!bg->stop)
		pthread_cond_timedwait(&bg->cv, &bg->mu, &ts);
	int stop = bg->stop;
	pthread_mutex_unlock(&bg->mu);
	return stop;
}

static void
fill_info(struct store_service *svc, Hs__StoreInfo *info)
{
	struct store_stats st;
	struct statvfs vfs;
	memset(&st, 0, sizeof(st));
	store_engine_stats(svc->engine, &st);
	info->id = (uint32_t)svc->cfg.id;
	info->rpc_addr = (char *)svc->cfg.advertise;
	info->pub_addr = (char *)svc->cfg.pub;
	info->zone = (char *)svc->cfg.zone;
	info->http_url = (char *)svc->cfg.http_url;
	info->state = atomic_load(&svc->readonly) ?
	    HS__STORE_STATE__STORE_READONLY :
	    HS__STORE_STATE__STORE_UP;
	if (statvfs(svc->cfg.data_dir, &vfs) == 0) {
		info->capacity_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		info->free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	info->volumes = (uint32_t)st.volumes;
	info->needles = st.needles;
	info->last_heartbeat_ms = rt_now_ms();
}

/* The principals added at run time, from the directory that answered a
 * heartbeat with a version we lack. 0, or -1 (logged; the next heartbeat
 * tries again). */
static int
fetch_principals(struct store_service *svc, rpc_client *c)
{
	Hs__ListPrincipalsRequest q = HS__LIST_PRINCIPALS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	if (rpc_invoke(c, &hs__directory__descriptor, "ListPrincipals", &q.base,
		&m, 2000, 0, &e) != HS_OK) {
		rt_log_warn("cannot list the principals: %s", e.message);
		return -1;
	}
	const Hs__ListPrincipalsReply *r = (const Hs__ListPrincipalsReply *)m;
	struct rt_principal *ps = calloc(r->n_principals + 1, sizeof(*ps));
	size_t k = 0;
	for (size_t i = 0; ps != NULL && i < r->n_principals; i++) {
		const Hs__Principal *p = r->principals[i];
		if (p->public_key.len != RT_PUB_LEN ||
		    rt_role_parse(p->role, &ps[k].role) != 0 ||
		    !(ps[k].role & RT_ROLES_USER) ||
		    strlen(p->name) >= RT_NAME_MAX)
			continue;
		snprintf(ps[k].name, RT_NAME_MAX, "%s", p->name);
		memcpy(ps[k++].pub, p->public_key.data, RT_PUB_LEN);
	}
	if (ps != NULL)
		rt_ident_set_dynamic(svc->ident, ps, k, r->version);
	free(ps);
	protobuf_c_message_free_unpacked(m, NULL);
	return ps != NULL ? 0 : -1;
}

/* One heartbeat: 0 when the leader took it, 1 when it also showed a new
 * principal set (now applied), -1 when not delivered. */
static int
heartbeat_once(struct background *bg, int *warned)
{
	struct store_service *svc = bg->svc;
	Hs__StoreInfo info = HS__STORE_INFO__INIT;
	Hs__HeartbeatRequest req = HS__HEARTBEAT_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	char err[256] = "not registered in Redis";

	fill_info(svc, &info);
	req.store = &info;
	req.hint_lease_ms = svc->cfg.hint_lease_ms;
	req.principals_version = rt_ident_dynamic_version(svc->ident);
	req.epoch_floor = rpc_server_epoch(svc->rpc);
	if (bg->leader[0] == '\0' && svc->cfg.redis.addr[0] != '\0') {
		struct rt_leader_info li;
		if (rt_leader_lookup(&svc->cfg.redis, 500, &li, err,
			sizeof(err)) == 0)
			snprintf(bg->leader, sizeof(bg->leader), "%s", li.rpc);
	}
	rpc_client *c = bg->leader[0] ?
	    rpc_pool_get(svc->peers, bg->leader, RT_DIRECTORY_PRINCIPAL, err,
		sizeof(err)) :
	    bg->dirs;
	if (c == NULL)
		c = bg->dirs;
	if (c == NULL) {
		if (!*warned)
			rt_log_warn("no directory leader known yet (%s); "
				    "serving on",
			    err);
		*warned = 1;
		return -1;
	}
	int64_t timeout = svc->cfg.heartbeat_ms < 2000 ? svc->cfg.heartbeat_ms :
							 2000;
	/* Taken before sending: the lease for reads by hint runs from here
	 * (delete_follow.h). */
	int64_t sent = rt_mono_ms();
	hs_status st = rpc_invoke(c, &hs__directory__descriptor, "Heartbeat",
	    &req.base, &reply, timeout, 0, &e);
	if (st == HS_OK) {
		const Hs__HeartbeatReply *r = (const Hs__HeartbeatReply *)reply;
		rpc_server_observe_epoch(svc->rpc, r->epoch);
		delete_follow_heard(svc->follow, c, sent, r->applied_seq);
		if (*warned)
			rt_log_info("directory answers heartbeats again");
		*warned = 0;
		int changed = r->principals_version != req.principals_version &&
		    fetch_principals(svc, c) == 0;
		protobuf_c_message_free_unpacked(reply, NULL);
		return changed ? 1 : 0;
	}
	if (st == HS_FAILED_PRECONDITION && e.leader_hint[0]) {
		snprintf(bg->leader, sizeof(bg->leader), "%s", e.leader_hint);
		return -1;
	}
	bg->leader[0] = '\0'; /* the leader moved or died: ask everyone */
	if (!*warned)
		rt_log_warn("heartbeat not delivered (%s: %s); serving on",
		    hs_status_str(st), e.message);
	*warned = 1;
	return -1;
}

/* A heartbeat that was not delivered (no leader yet, a failover) is tried
 * again within a second, not a whole HEARTBEAT_INTERVAL later: with the
 * original system's 30 s, a store started before the leader would
 * otherwise wait 30 s to join. */
static void *
heartbeat_main(void *arg)
{
	struct background *bg = arg;
	int warned = 0;
	int64_t every = bg->svc->cfg.heartbeat_ms;
	int64_t again = every < 1000 ? every : 1000;
	int rc;
	/* After applying a new principal set, beat again at once: the
	 * leader answers a revocation when every store confirmed it. */
	do
		while ((rc = heartbeat_once(bg, &warned)) == 1)
			;
	while (!nap(bg, rc == 0 ? every : again));
	return NULL;
}

/* Bad needles found by one scrub step. The engine calls back with its own
 * locks held, so the callback only records; reporting (which needs the
 * cookie, hence another engine call) happens after the step returns. */
struct scrub_finds {
	uint64_t keys[64];
	uint32_t volumes[64];
	size_t n;
};

static void
scrub_bad(void *arg, uint32_t volume, uint64_t offset, uint64_t key, int err)
{
	struct scrub_finds *f = arg;
	rt_log_warn("scrub: needle %016llx at volume %u offset %llu is bad: %s",
	    (unsigned long long)key, volume, (unsigned long long)offset,
	    store_strerror(err));
	if (f->n < 64) {
		f->keys[f->n] = key;
		f->volumes[f->n++] = volume;
	}
}

static void
scrub(struct store_service *svc)
{
	struct scrub_finds f = { .n = 0 };
	store_engine_scrub_step(svc->engine, (size_t)svc->cfg.scrub_per_sec,
	    scrub_bad, &f);
	for (size_t i = 0; i < f.n; i++) {
		struct store_needle_info info;
		uint32_t cookie = 0;
		if (store_engine_stat(svc->engine, f.keys[i], &info) == 0)
			cookie = info.cookie;
		atomic_fetch_add(&svc->corrupt, 1);
		store_publish_needle(svc, "needle.corrupt", f.keys[i], cookie,
		    0, f.volumes[i]);
		store_report_corruption(svc, f.keys[i], cookie,
		    "CRC mismatch found by scrub");
	}
}

/* Follows the active replicator as it publishes itself in Redis, so
 * reports reach a standby that took over; --replicator is the fallback. */
static void
find_replicator(struct store_service *svc)
{
	struct rt_leader_info info;
	char why[256];
	const char *addr = svc->cfg.replicator;
	if (svc->cfg.redis.addr[0] != '\0' &&
	    rt_replicator_lookup(&svc->cfg.redis, 300, &info, why,
		sizeof(why)) == 0)
		addr = info.rpc;
	pthread_mutex_lock(&svc->repl_mu);
	snprintf(svc->repl_addr, sizeof(svc->repl_addr), "%s", addr);
	pthread_mutex_unlock(&svc->repl_mu);
}

static void *
maint_main(void *arg)
{
	struct background *bg = arg;
	struct store_service *svc = bg->svc;
	int64_t next_compact = rt_mono_ms() + 10000;
	int64_t next_report = rt_mono_ms() + svc->cfg.stats_report_ms;
	find_replicator(svc);
	while (!nap(bg, 1000)) {
		find_replicator(svc);
		if (svc->cfg.scrub_per_sec > 0)
			scrub(svc);
		int64_t now = rt_mono_ms();
		if (now >= next_compact) {
			struct store_stats before, after;
			store_engine_stats(svc->engine, &before);
			int n = store_engine_compact_due(svc->engine);
			if (n > 0) {
				store_engine_stats(svc->engine, &after);
				uint64_t freed = before.dead_bytes >
					after.dead_bytes ?
				    before.dead_bytes - after.dead_bytes :
				    0;
				rt_log_info("compacted %d volume(s), %llu "
					    "bytes reclaimed",
				    n, (unsigned long long)freed);
				store_publish_compacted(svc, 0, freed);
			}
			next_compact = now + 10000;
		}
		if (now >= next_report) {
			access_stats_report(svc->access, svc);
			next_report = now + svc->cfg.stats_report_ms;
		}
	}
	return NULL;
}

rpc_client *
store_dial_directories(struct store_service *svc, char *err, size_t errlen)
{
	char *copy = strdup(svc->cfg.directories), *save = NULL;
	const char *urls[16];
	size_t n = 0;
	rpc_client *c = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && n < 16;
	     t = strtok_r(NULL, ",", &save))
		urls[n++] = t;
	struct rpc_client_opts co = { .ident = svc->ident,
		.peer = RT_DIRECTORY_PRINCIPAL };
	if (n > 0 && rpc_client_open(&c, urls, n, &co, err, errlen) != 0)
		c = NULL;
	free(copy);
	return c;
}

struct background *
background_start(struct store_service *svc, char *err, size_t errlen)
{
	struct background *bg = calloc(1, sizeof(*bg));
	if (bg == NULL)
		return NULL;
	bg->svc = svc;
	pthread_mutex_init(&bg->mu, NULL);
	pthread_cond_init(&bg->cv, NULL);
	if (svc->cfg.directories[0] == '\0' && svc->cfg.redis.addr[0] == '\0') {
		snprintf(err, errlen,
		    "no way to find the directory: give "
		    "--directories or --redis");
		background_stop(bg);
		return NULL;
	}
	if (svc->cfg.directories[0] != '\0' &&
	    (bg->dirs = store_dial_directories(svc, err, errlen)) == NULL) {
		background_stop(bg);
		return NULL;
	}
	delete_follow_start(svc->follow);
	bg->hb_started = pthread_create(&bg->hb_thread, NULL, heartbeat_main,
			     bg) == 0;
	bg->maint_started = pthread_create(&bg->maint_thread, NULL, maint_main,
				bg) == 0;
	return bg;
}

void
background_stop(struct background *bg)
{
	if (bg == NULL)
		return;
	pthread_mutex_lock(&bg->mu);
	bg->stop = 1;
	pthread_cond_broadcast(&bg->cv);
	pthread_mutex_unlock(&bg->mu);
	if (bg->hb_started)
		pthread_join(bg->hb_thread, NULL);
	if (bg->maint_started)
		pthread_join(bg->maint_thread, NULL);
	/* The follower calls through the clients heartbeats handed it. */
	delete_follow_stop(bg->svc->follow);
	rpc_client_close(bg->dirs);
	pthread_mutex_destroy(&bg->mu);
	pthread_cond_destroy(&bg->cv);
	free(bg);
}
