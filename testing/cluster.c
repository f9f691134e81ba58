/* The test cluster (see cluster.h). */
#include "cluster.h"

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "directory.pb-c.h"
#include "env.h"
#include "leader_info.h"
#include "rpc.h"
#include "store.pb-c.h"
#include "template.h"

/* Starts p from a fixed head, its Redis flags (test_redis_flags) and a
 * space-separated extra string. */
/* The namespace of host h (NULL: loopback, no hosts). */
static const char *
netns(const struct test_cluster *c, int h)
{
	return c->hosts != NULL ? c->hosts->h[h].name : NULL;
}

static int
run(struct test_proc *p, const char *name, const char *dir, char **head,
    const char *redis, const char *extra, const char *ns)
{
	char *argv[TEST_PROC_MAX_ARGS], *save = NULL, *copy = NULL;
	/* owned; argv points into it */
	if (asprintf(&copy, "%s %s", redis, extra ? extra : "") < 0)
		return -1;
	int n = 0;
	while (head[n] != NULL && n < 40) {
		argv[n] = head[n];
		n++;
	}
	for (char *t = strtok_r(copy, " ", &save);
	     t && n < TEST_PROC_MAX_ARGS - 1; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	struct test_proc_opts o = { .netns = ns };
	int rc = test_proc_start_opts(p, name, dir, argv, &o);
	free(copy);
	return rc;
}

/* Appends tcp://IP:PORT for each address to out, comma-separated. */
static void
urls(char *out, size_t len, const char (*ips)[16], const int *ports, int n)
{
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%stcp://%s:%d",
		    used ? "," : "", ips[i], ports[i]);
	}
}

static int
start_dir(struct test_cluster *c, int i, const char *extra)
{
	char bin[512], id[32], listen[64], pub[64], http[64], key[640],
	    purge[64] = "--web-purge=", redis[4096] = "";
	test_runfile(bin, sizeof(bin), "directory/directoryd");
	test_redis_flags(&c->meta, "redis", "directory", redis, sizeof(redis));
	if (c->has_sentinel)
		snprintf(redis + strlen(redis), sizeof(redis) - strlen(redis),
		    " --redis-wait-replicas=1");
	test_redis_flags(&c->cache, "cache-redis", "directory", redis,
	    sizeof(redis));
	snprintf(id, sizeof(id), "--id=directory-%d", i + 1);
	const char *ip = c->ip_dir[i];
	snprintf(listen, sizeof(listen), "--listen=tcp://%s:%d", ip,
	    c->p_dir[i]);
	snprintf(pub, sizeof(pub), "--pub=tcp://%s:%d", ip, c->p_dirpub[i]);
	snprintf(http, sizeof(http), "--http=%s:%d", ip, c->p_dirhttp[i]);
	/* A delete purges nginx's photo cache (directory/web_purge.c). */
	if (c->has_nginx)
		snprintf(purge, sizeof(purge),
		    "--web-purge=http://127.0.0.1:%d", c->p_web);
	snprintf(key, sizeof(key), "--key-file=");
	test_identity(key + 11, sizeof(key) - 11, c->keyfile,
	    RT_DIRECTORY_PRINCIPAL);
	char *head[] = { bin, id, listen, pub, http, key, purge,
		"--leader-timeout=1s", "--leader-heartbeat-interval=200ms",
		"--follower-sync-interval=100ms", "--heartbeat-interval=200ms",
		NULL };
	if (c->env_timing)
		head[7] = NULL;
	return run(&c->dirs[i], id + 5, c->dir, head, redis, extra,
	    netns(c, c->h_dir[i]));
}

static int
start_store(struct test_cluster *c, int i, const char *extra)
{
	char bin[512], id[32], listen[64], pub[64], http[64], key[640],
	    redis[4096] = "";
	char data[600], datadir[620], dirs[256] = "", dflag[300], zone[32],
				      repl[64], name[32];
	test_runfile(bin, sizeof(bin), "store/stored");
	test_redis_flags(&c->meta, "redis", "store", redis, sizeof(redis));
	test_redis_flags(&c->cache, "cache-redis", "store", redis,
	    sizeof(redis));
	snprintf(id, sizeof(id), "--id=%d", i + 1);
	snprintf(zone, sizeof(zone), "--zone=zone-%c", 'a' + i % 3);
	const char *ip = c->ip_store[i];
	snprintf(listen, sizeof(listen), "--listen=tcp://%s:%d", ip,
	    c->p_store[i]);
	snprintf(pub, sizeof(pub), "--pub=tcp://%s:%d", ip, c->p_storepub[i]);
	snprintf(http, sizeof(http), "--http=%s:%d", ip, c->p_storehttp[i]);
	snprintf(repl, sizeof(repl), "--replicator=tcp://%s:%d", c->ip_repl,
	    c->p_repl);
	snprintf(key, sizeof(key), "--key-file=");
	test_store_identity(key + 11, sizeof(key) - 11, c->keyfile, i + 1);
	snprintf(data, sizeof(data), "%s/store-%d", c->dir, i + 1);
	mkdir(data, 0755);
	snprintf(datadir, sizeof(datadir), "--data-dir=%s", data);
	urls(dirs, sizeof(dirs), c->ip_dir, c->p_dir, c->ndirs);
	snprintf(dflag, sizeof(dflag), "--directories=%s", dirs);
	char *head[] = { bin, id, zone, listen, pub, http, repl, key, datadir,
		dflag, "--max-volume-size=64MiB", "--heartbeat-interval=200ms",
		NULL };
	if (c->env_timing)
		head[11] = NULL;
	snprintf(name, sizeof(name), "store-%d", i + 1);
	return run(&c->stores[i], name, c->dir, head, redis, extra,
	    netns(c, c->h_store[i]));
}

static int
start_replicator(struct test_cluster *c, const char *extra)
{
	char bin[512], listen[64], pub[64], http[64], key[640],
	    dirs[256] = "", dflag[300], redis[2048] = "";
	test_runfile(bin, sizeof(bin), "replicator/replicatord");
	test_redis_flags(&c->meta, "redis", "replicator", redis, sizeof(redis));
	if (c->has_sentinel)
		snprintf(redis + strlen(redis), sizeof(redis) - strlen(redis),
		    " --redis-wait-replicas=1");
	const char *ip = c->ip_repl;
	snprintf(listen, sizeof(listen), "--listen=tcp://%s:%d", ip, c->p_repl);
	snprintf(pub, sizeof(pub), "--pub=tcp://%s:%d", ip, c->p_replpub);
	snprintf(http, sizeof(http), "--http=%s:%d", ip, c->p_replhttp);
	snprintf(key, sizeof(key), "--key-file=");
	test_identity(key + 11, sizeof(key) - 11, c->keyfile, "replicator");
	urls(dirs, sizeof(dirs), c->ip_dir, c->p_dir, c->ndirs);
	snprintf(dflag, sizeof(dflag), "--directories=%s", dirs);
	char *head[] = { bin, listen, pub, http, key, dflag, NULL };
	c->has_repl = 1;
	return run(&c->repl, "replicator", c->dir, head, redis, extra,
	    netns(c, c->h_repl));
}

int
test_cluster_file_write(const char *path, const char *const *vars)
{
	return test_template_fill("testing/cluster.template", path, vars);
}

/* One "server 127.0.0.1:PORT ...;" line per port: an upstream's members. */
static void
servers(char *out, size_t len, const int *ports, int n)
{
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used,
		    "    server 127.0.0.1:%d max_fails=1 fail_timeout=1s;\n",
		    ports[i]);
	}
}

/* nginx from testing/nginx.conf.template, as the launcher fills it: the
 * directories' RPC balanced on p_lb, the photo cache on p_web. */
static int
start_nginx(struct test_cluster *c)
{
	char conf[640], prefix[600], tmp[620], log[640], lb[16], web[16],
	    rpc[512] = "", http[512] = "";
	snprintf(prefix, sizeof(prefix), "%s/nginx", c->dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp", prefix);
	mkdir(prefix, 0755);
	mkdir(tmp, 0755);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", prefix);
	snprintf(log, sizeof(log), "%s/error.log", prefix);
	snprintf(lb, sizeof(lb), "%d", c->p_lb);
	snprintf(web, sizeof(web), "%d", c->p_web);
	servers(rpc, sizeof(rpc), c->p_dir, c->ndirs);
	struct passwd *pw = getpwuid(geteuid());
	servers(http, sizeof(http), c->p_dirhttp, c->ndirs);
	const char *vars[] = { "WRITER", "the test harness", "DIR", prefix,
		"ERROR_LOG", log, "DIR_RPC", rpc, "P_LB", lb, "DIR_HTTP", http,
		"P_WEB", web, "CACHE_TTL", "1h", "CACHE_SIZE", "256m",
		"DIR_SCHEME", "http", "PROXY_TLS", "", "WEB_SSL", "", "WEB_TLS",
		"", "USER", pw != NULL ? pw->pw_name : "nobody", NULL };
	if (test_template_fill("testing/nginx.conf.template", conf, vars) != 0)
		return -1;
	char *argv[] = { "nginx", "-p", prefix, "-c", conf, NULL };
	c->has_nginx = 1;
	return test_proc_start(&c->nginx, "nginx", c->dir, argv);
}

static int
write_cluster_file(struct test_cluster *c)
{
	char dirs[512] = "", pubs[1024] = "", repl[64] = "", web[64];
	static const char lo[1][16] = { "127.0.0.1" };
	if (c->has_nginx)
		urls(dirs, sizeof(dirs), lo, &c->p_lb, 1);
	urls(dirs, sizeof(dirs), c->ip_dir, c->p_dir, c->ndirs);
	urls(pubs, sizeof(pubs), c->ip_dir, c->p_dirpub, c->ndirs);
	urls(pubs, sizeof(pubs), c->ip_store, c->p_storepub, c->nstores);
	if (c->has_repl)
		urls(pubs, sizeof(pubs), &c->ip_repl, &c->p_replpub, 1);
	urls(repl, sizeof(repl), &c->ip_repl, &c->p_repl, 1);
	snprintf(web, sizeof(web), "http://127.0.0.1:%d", c->p_web);
	struct rt_redis_ep client = test_redis_ep(&c->cache, "client");
	char roster[600];
	test_identity(roster, sizeof(roster), c->keyfile, "roster");
	roster[strlen(roster) - 4] = '\0'; /* the roster has no ".key" */
	const char *vars[] = { "WRITER", "the test harness", "DIRECTORIES",
		dirs, "CACHE", c->cache.addr, "CACHE_USER", "client",
		"CACHE_PASSWORD_FILE", client.password_file, "KEY_FILE",
		c->keyfile, "ROSTER", roster, "PUBS", pubs, "REPLICATOR", repl,
		"WEB", web, NULL };
	snprintf(c->cluster_file, sizeof(c->cluster_file), "%s/cluster",
	    c->dir);
	return test_cluster_file_write(c->cluster_file, vars);
}

int
test_cluster_leader(struct test_cluster *c)
{
	struct rt_leader_info li;
	char why[256];
	struct rt_redis_ep ep = test_redis_ep(&c->meta, "admin");
	if (rt_leader_lookup(&ep, 500, &li, why, sizeof(why)) != 0)
		return -1;
	for (int i = 0; i < c->ndirs; i++) {
		char url[64];
		snprintf(url, sizeof(url), "tcp://%s:%d", c->ip_dir[i],
		    c->p_dir[i]);
		if (strcmp(li.rpc, url) == 0 && test_proc_alive(&c->dirs[i]))
			return i;
	}
	return -1;
}

/* How many stores directory i lists UP; -1 when it does not answer. */
static int
stores_up_at(struct test_cluster *c, int i)
{
	Hs__ListStoresRequest req = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *reply;
	int up = -1;
	char url[64];
	snprintf(url, sizeof(url), "tcp://%s:%d", c->ip_dir[i], c->p_dir[i]);
	if (test_rpc_call_url(url, c->keyfile, &hs__directory__descriptor,
		"ListStores", &req.base, &reply, 1000, NULL) == HS_OK) {
		Hs__ListStoresReply *r = (Hs__ListStoresReply *)reply;
		up = 0;
		for (size_t k = 0; k < r->n_stores; k++)
			up += r->stores[k]->state == HS__STORE_STATE__STORE_UP;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	return up;
}

/* A leader, and every live directory agreeing that want stores are UP:
 * clients reach any replica through the load balancer, and a follower
 * learns the store table a moment after the leader. */
static int
stores_up(struct test_cluster *c, int want)
{
	if (test_cluster_leader(c) < 0)
		return 0;
	for (int i = 0; i < c->ndirs; i++)
		if (test_proc_alive(&c->dirs[i]) && stores_up_at(c, i) != want)
			return 0;
	return 1;
}

int
test_cluster_wait_stores_up(struct test_cluster *c, int n, int timeout_ms)
{
	return CHECK_WAIT_UNTIL(stores_up(c, n), timeout_ms);
}

/* Puts every process on a host of its own (with hosts), the stores in
 * zones a, b and c as their --zone says; or every address on loopback. */
static int
place(struct test_cluster *c, int hosts)
{
	struct test_hosts *hs = NULL;
	char role[32], zone[16];
	if (hosts &&
	    ((hs = c->hosts = calloc(1, sizeof(*hs))) == NULL ||
		test_hosts_init(hs) != 0))
		return -1;
	/* With sentinel the metadata Redis takes five hosts of its own. */
	int rc = (c->h_meta = c->has_sentinel ?
			 0 :
			 test_hosts_place(hs, "redis-meta", NULL, NULL)) |
	    (c->h_cache = test_hosts_place(hs, "redis-cache", NULL, NULL)) |
	    (c->h_repl = test_hosts_place(hs, "replicator", NULL, c->ip_repl));
	for (int i = 0; i < c->ndirs; i++) {
		snprintf(role, sizeof(role), "directory-%d", i + 1);
		rc |= c->h_dir[i] = test_hosts_place(hs, role, NULL,
		    c->ip_dir[i]);
	}
	for (int i = 0; i < c->nstores; i++) {
		snprintf(role, sizeof(role), "store-%d", i + 1);
		snprintf(zone, sizeof(zone), "zone-%c", 'a' + i % 3);
		rc |= c->h_store[i] = test_hosts_place(hs, role, zone,
		    c->ip_store[i]);
	}
	return rc < 0 ? -1 : 0;
}

/* Every port first: none is handed out twice, so none collides. */
static void
pick_ports(struct test_cluster *c)
{
	c->p_lb = test_free_port();
	c->p_web = test_free_port();
	c->p_repl = test_free_port();
	c->p_replpub = test_free_port();
	c->p_replhttp = test_free_port();
	for (int i = 0; i < c->ndirs; i++) {
		c->p_dir[i] = test_free_port();
		c->p_dirpub[i] = test_free_port();
		c->p_dirhttp[i] = test_free_port();
	}
	for (int i = 0; i < c->nstores; i++) {
		c->p_store[i] = test_free_port();
		c->p_storepub[i] = test_free_port();
		c->p_storehttp[i] = test_free_port();
	}
}

static int
start_redis(struct test_cluster *c)
{
	char meta[600], cache[600];
	snprintf(meta, sizeof(meta), "%s/redis-meta", c->dir);
	snprintf(cache, sizeof(cache), "%s/redis-cache", c->dir);
	mkdir(meta, 0755);
	mkdir(cache, 0755);
	const char *mip = c->hosts ? c->hosts->h[c->h_meta].ip : NULL;
	const char *cip = c->hosts ? c->hosts->h[c->h_cache].ip : NULL;
	if (c->has_sentinel) {
		if (test_sentinel_start_on(&c->sentinel, c->dir, c->hosts) != 0)
			return -1;
		c->meta = c->sentinel.redis[0];
		c->h_meta = c->sentinel.h_redis[0];
		memset(&c->meta.proc, 0, sizeof(c->meta.proc));
		snprintf(c->meta.addr, sizeof(c->meta.addr), "%s",
		    c->sentinel.addr);
	} else if (test_redis_start_in(&c->meta, TEST_REDIS_META, meta, 0, mip,
		       netns(c, c->h_meta)) != 0)
		return -1;
	return test_redis_start_in(&c->cache, TEST_REDIS_CACHE, cache, 0, cip,
	    netns(c, c->h_cache));
}

int
test_cluster_start(struct test_cluster *c, const struct test_cluster_opts *o)
{
	int rc = 0;
	memset(c, 0, sizeof(*c));
	c->ndirs = o->ndirs ? o->ndirs : 3;
	c->nstores = o->nstores ? o->nstores : 5;
	c->env_timing = o->env_timing;
	c->has_nginx = o->nginx; /* the directories purge it */
	c->has_sentinel = o->sentinel;
	if (test_temp_dir(c->dir, sizeof(c->dir), "cluster") != 0 ||
	    test_key_file(c->keyfile, sizeof(c->keyfile), c->dir) != 0)
		return -1;
	pick_ports(c);
	if (o->hosts && o->nginx) {
		fprintf(stderr,
		    "test cluster: nginx does not run on hosts yet "
		    "(testing/nginx.conf.template listens on "
		    "127.0.0.1); leave one of them out\n");
		return -1;
	}
	if (place(c, o->hosts) != 0 || start_redis(c) != 0)
		return -1;
	for (int i = 0; i < c->ndirs; i++)
		rc |= start_dir(c, i, o->dir_args);
	for (int i = 0; i < c->nstores; i++)
		rc |= start_store(c, i, o->store_args);
	if (o->replicator)
		rc |= start_replicator(c, o->repl_args);
	if (o->nginx)
		rc |= start_nginx(c);
	if (rc != 0 || write_cluster_file(c) != 0)
		return -1;
	if (!test_cluster_wait_stores_up(c, c->nstores, 20000)) {
		fprintf(stderr, "test cluster: not every store came UP\n");
		test_cluster_dump_logs(c);
		return -1;
	}
	return 0;
}

static void
each_proc(struct test_cluster *c, void (*fn)(struct test_proc *))
{
	if (c->has_nginx)
		fn(&c->nginx);
	if (c->has_repl)
		fn(&c->repl);
	for (int i = 0; i < c->nstores; i++)
		fn(&c->stores[i]);
	for (int i = 0; i < c->ndirs; i++)
		fn(&c->dirs[i]);
	fn(&c->cache.proc);
	fn(&c->meta.proc);
	if (c->has_sentinel)
		test_sentinel_each(&c->sentinel, fn);
}

static void
stop_one(struct test_proc *p)
{
	test_proc_kill(p, SIGTERM);
	test_proc_free(p);
}

void
test_cluster_stop(struct test_cluster *c)
{
	each_proc(c, stop_one);
	if (c->hosts != NULL) {
		test_hosts_down(c->hosts);
		free(c->hosts);
		c->hosts = NULL;
	}
}

static void
dump_one(struct test_proc *p)
{
	if (p->argc > 0)
		test_proc_dump_log(p);
}

void
test_cluster_dump_logs(struct test_cluster *c)
{
	each_proc(c, dump_one);
}

hs_status
test_cluster_read(struct test_cluster *c, int s, uint64_t key, uint32_t cookie,
    int by_hint)
{
	Hs__ReadRequest req = HS__READ_REQUEST__INIT;
	Hs__PhotoId pid = HS__PHOTO_ID__INIT;
	pid.key = key;
	pid.cookie = cookie;
	req.id = &pid;
	req.by_hint = by_hint;
	ProtobufCMessage *reply = NULL;
	char url[64];
	snprintf(url, sizeof(url), "tcp://%s:%d", c->ip_store[s],
	    c->p_store[s]);
	hs_status st = test_rpc_call_url(url, c->keyfile,
	    &hs__store__descriptor, "Read", &req.base, &reply, 2000, NULL);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return st;
}
