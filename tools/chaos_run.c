/* The soak from start to summary (chaos.h): a cluster with short timeouts
 * and a small disk under its last store, the workload and fault threads
 * for the duration, the settle, the check, and one summary line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "chaos_impl.h"
#include "clock.h"
#include "hs_close.h"
#include "log.h"
#include "rpc.h"

/* The orphan grace stays well above the workload's upload deadline: an
 * upload still retrying its RegisterPhoto is not an orphan (issue 10,
 * defect 7, is about registrations older than that). */
#define REPL_ARGS                                                              \
	"--store-down-grace=2s --orphan-grace=60s --rate-half-life=1s "        \
	"--access-rate-threshold=600 --tick=100ms --lease-timeout=1200ms "     \
	"--retry-base=100ms --nightly-audit-hour=-1 --max-replica-count=4 "    \
	"--rpc-timeout=3s --workers=2"
#define STORE_ARGS "--stats-report-interval=200ms"

static const char *const names[CF_N] = { "kill", "pause", "diskfull", "bitflip",
	"partition", "redisfail" };

const char *
chaos_fault_name(int kind)
{
	return kind >= 0 && kind < CF_N ? names[kind] : "?";
}

/* x->enabled from the comma list; -1 on a name that is not a fault. */
static int
parse_faults(struct chaos *x, const char *list)
{
	for (int k = 0; k < CF_N; k++)
		x->enabled[k] = list == NULL || list[0] == '\0';
	char copy[256], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", list ? list : "");
	for (char *w = strtok_r(copy, ",", &save); w;
	     w = strtok_r(NULL, ",", &save)) {
		int k = 0;
		while (k < CF_N && strcmp(w, names[k]) != 0)
			k++;
		if (k == CF_N) {
			fprintf(stderr,
			    "chaos: no fault named \"%s\"; the faults are "
			    "kill, pause, diskfull, bitflip, partition, "
			    "redisfail\n",
			    w);
			return -1;
		}
		x->enabled[k] = 1;
	}
	return 0;
}

/* A libhs client on the cluster file; no_cache and a location TTL. */
static hs_client *
client(struct chaos *x, int no_cache, int64_t location_ttl_ms)
{
	struct hs_cluster cfg;
	hs_error err;
	hs_client *c = NULL;
	if (hs_cluster_load(x->c.cluster_file, &cfg, &err) != HS_OK) {
		fprintf(stderr, "chaos: %s\n", err.message);
		return NULL;
	}
	if (no_cache)
		cfg.cache[0] = '\0';
	cfg.location_ttl_ms = location_ttl_ms;
	if (hs_open(&c, &cfg, &err) != HS_OK)
		fprintf(stderr, "chaos: %s\n", err.message);
	return c;
}

static rpc_client *
open_at(struct chaos *x, const char *ip, int port)
{
	char url[64];
	const char *u = url;
	snprintf(url, sizeof(url), "tcp://%s:%d", ip, port);
	return test_rpc_open(&u, 1, x->c.keyfile, 0);
}

static int
up(struct chaos *x)
{
	struct test_cluster_opts co = { .ndirs = 3,
		.nstores = 5,
		.replicator = 1,
		.nginx = !x->o.hosts, /* not on hosts yet (docs/hosts.md) */
		.hosts = x->o.hosts,
		/* Redis failovers, as the launcher's hosts mode runs it. */
		.sentinel = x->o.hosts,
		.store_args = STORE_ARGS,
		.repl_args = REPL_ARGS };
	/* Ports are picked before they are bound: a clash fails the start;
	 * try again on fresh ones. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (test_cluster_start(&x->c, &co) == 0)
			break;
		test_cluster_stop(&x->c);
		if (attempt == 2)
			return -1;
	}
	chaos_targets_init(x);
	chaos_small_disk_setup(x);
	if (x->small_store < 0 && x->enabled[CF_DISKFULL])
		printf("chaos: %s\n", x->small_why);
	for (int i = 0; i < x->c.ndirs; i++)
		x->dirs[i] = open_at(x, x->c.ip_dir[i], x->c.p_dir[i]);
	for (int i = 0; i < x->c.nstores; i++)
		x->stores[i] = open_at(x, x->c.ip_store[i], x->c.p_store[i]);
	x->work = client(x, 0, 0);
	x->hot = client(x, 1, 0);
	x->mem = client(x, 1, 24 * 3600 * 1000LL);
	if (!test_cluster_wait_stores_up(&x->c, x->c.nstores, 20000) ||
	    !x->work || !x->hot || !x->mem)
		return -1;
	return 0;
}

static void
down(struct chaos *x)
{
	test_hs_close(x->work);
	test_hs_close(x->hot);
	test_hs_close(x->mem);
	for (int i = 0; i < x->c.ndirs; i++)
		test_rpc_close(x->dirs[i]);
	for (int i = 0; i < x->c.nstores; i++)
		test_rpc_close(x->stores[i]);
	test_cluster_stop(&x->c);
	chaos_small_disk_teardown(x);
	free(x->ph);
}

/* The one summary line; 0 when it holds no failure. */
static int
summary(struct chaos *x, const struct chaos_tally *t)
{
	printf("chaos: seed %lld, %llds: faults kill %d pause %d diskfull %d "
	       "bitflip %d partition %d redisfail %d; uploads acknowledged %llu (failed %llu), deletes "
	       "acknowledged %llu (failed %llu), reads %llu (failed %llu); "
	       "live %d, deleted %d: lost %d, resurrected %d, "
	       "under-replicated %d, zone-spread %d, over %d, odd %d, "
	       "wrong bytes served %llu, unexpected deaths %d; hot photos "
	       "peaked at %zu copies; web reads %llu (failed %llu), served "
	       "after delete %llu, web lost %d%s\n",
	    (long long)x->o.seed, (long long)(x->o.duration_ms / 1000),
	    x->faults[CF_KILL], x->faults[CF_PAUSE], x->faults[CF_DISKFULL],
	    x->faults[CF_BITFLIP], x->faults[CF_PARTITION],
	    x->faults[CF_REDISFAIL], (unsigned long long)x->up_ok,
	    (unsigned long long)x->up_fail, (unsigned long long)x->del_ok,
	    (unsigned long long)x->del_fail, (unsigned long long)x->rd_ok,
	    (unsigned long long)x->rd_fail, t->live, t->deleted, t->lost,
	    t->resurrected, t->under, t->spread, t->over, t->odd,
	    (unsigned long long)x->bad_reads, x->deaths, x->hot_peak,
	    (unsigned long long)x->web_ok, (unsigned long long)x->web_fail,
	    (unsigned long long)x->web_late, t->web_lost,
	    x->redis_settled ? "" : "; the metadata Redis did not settle");
	int spread = x->o.zones_advisory ? 0 : t->spread;
	return t->lost + t->resurrected + t->under + spread + t->odd +
	    (int)x->bad_reads + x->deaths + (int)x->web_late + t->web_lost +
	    !x->redis_settled >
	    0;
}

int
chaos_run(const struct chaos_opts *o)
{
	struct chaos *x = calloc(1, sizeof(*x));
	x->small_store = -1;
	chaos_private_mounts(x); /* first: no thread may exist yet */
	x->o = *o;
	x->frng = (uint64_t)o->seed * 2 + 1;
	x->wrng = (uint64_t)o->seed * 2 + 2;
	pthread_mutex_init(&x->mu, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
	rt_log_init("chaos", 'C');
	rt_log_set_level(RT_LOG_ERROR);
	if (parse_faults(x, o->faults) != 0 || up(x) != 0) {
		fprintf(stderr, "chaos: the cluster did not start\n");
		test_cluster_dump_logs(&x->c);
		down(x);
		return 2;
	}
	pthread_t work, hot, fault, web;
	x->start_ms = rt_mono_ms();
	pthread_create(&work, NULL, chaos_work_main, x);
	pthread_create(&hot, NULL, chaos_hot_main, x);
	pthread_create(&web, NULL, chaos_web_main, x);
	pthread_create(&fault, NULL, chaos_fault_main, x);
	rt_sleep_ms(o->duration_ms);
	atomic_store(&x->stop, 1);
	pthread_join(fault, NULL);
	pthread_join(work, NULL);
	pthread_join(hot, NULL);
	pthread_join(web, NULL);
	/* The settle's checks ask the web paths too. */
	x->web_handle = curl_easy_init();
	chaos_settle(x);
	chaos_restore_all(x); /* deaths during the settle count too */
	struct chaos_tally t;
	chaos_check(x, 1, &t);
	curl_easy_cleanup(x->web_handle);
	int bad = summary(x, &t);
	if (bad)
		test_cluster_dump_logs(&x->c);
	down(x);
	free(x);
	return bad;
}
