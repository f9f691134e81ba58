/* A whole haystack-c cluster as real processes for end-to-end and fault
 * tests: Redis for metadata (AOF) and for the cache, directories, stores,
 * optionally the replicator and nginx, on free loopback ports in a temp
 * dir, with short timeouts so failovers take about a second. Writes a
 * cluster file the client library and `hs` read, from the template the
 * local cluster launcher fills too (testing/cluster.template). */
#ifndef HS_TEST_CLUSTER_H
#define HS_TEST_CLUSTER_H

#include <stdint.h>

#include "hosts.h"
#include "proc.h"
#include "redis_sentinel.h"
#include "redis_server.h"
#include "rpc_status.h"

#define TEST_CLUSTER_MAX_DIRS 3
#define TEST_CLUSTER_MAX_STORES 5

struct test_cluster_opts {
	int ndirs;	/* 0 = 3 */
	int nstores;	/* 0 = 5 */
	int replicator; /* start replicatord too */
	int nginx;	/* nginx: the directories' RPC balancer and the photo
		      cache (testing/nginx.conf.template) */
	const char *store_args; /* extra flags for every store, space-separated */
	const char *dir_args;	/* extra flags for every directory */
	const char *repl_args; /* extra flags for the replicator */
	int hosts;	/* every process on a host of its own (testing/hosts.h,
		      docs/hosts.md): needs root; no nginx */
	int env_timing; /* no short-timeout flags: the processes take
				  their timing from the environment (which
				  they inherit) or their defaults */
	int sentinel;	/* the metadata Redis as a primary, a replica and three
			 sentinels (testing/redis_sentinel.h); directories
			 WAIT for 1 replica */
};

struct test_cluster {
	char dir[512];
	char keyfile[600];
	char cluster_file[600];
	int ndirs, nstores;
	int p_lb, p_repl, p_replpub;
	int p_dir[TEST_CLUSTER_MAX_DIRS], p_dirpub[TEST_CLUSTER_MAX_DIRS];
	int p_store[TEST_CLUSTER_MAX_STORES],
	    p_storepub[TEST_CLUSTER_MAX_STORES];
	/* The web face: every process's HTTP port (127.0.0.1) and nginx's
	 * photo cache (p_web, with opts.nginx). */
	int p_web, p_replhttp;
	int p_dirhttp[TEST_CLUSTER_MAX_DIRS];
	int p_storehttp[TEST_CLUSTER_MAX_STORES];
	struct test_redis meta, cache;
	struct test_proc nginx, repl;
	struct test_proc dirs[TEST_CLUSTER_MAX_DIRS];
	struct test_proc stores[TEST_CLUSTER_MAX_STORES];
	int has_repl, has_nginx, env_timing;
	/* With opts.sentinel: meta is the primary's users and passwords
	 * with the sentinels' address, not a process of its own. */
	struct test_sentinel sentinel;
	int has_sentinel;
	/* Each process's address: 127.0.0.1, or its host's with opts.hosts
	 * (the Redis instances' are in meta.addr and cache.addr). */
	char ip_dir[TEST_CLUSTER_MAX_DIRS][16];
	char ip_store[TEST_CLUSTER_MAX_STORES][16];
	char ip_repl[16];
	/* With opts.hosts: the hosts, and each process's host in it (for
	 * test_hosts_cut and the rest). NULL otherwise. */
	struct test_hosts *hosts;
	int h_meta, h_cache, h_repl; /* h_meta with sentinel: the first
					primary's (sentinel.h_redis[0]) */
	int h_dir[TEST_CLUSTER_MAX_DIRS], h_store[TEST_CLUSTER_MAX_STORES];
};

/* Starts everything and waits until a leader is elected and every store is
 * UP. 0, or -1 after printing what failed (logs included). */
int test_cluster_start(struct test_cluster *c,
    const struct test_cluster_opts *o);

/* Waits until the leader lists `n` stores as UP (bounded). 1 if so. */
int test_cluster_wait_stores_up(struct test_cluster *c, int n, int timeout_ms);

/* Index of the directory that is the leader now, or -1. */
int test_cluster_leader(struct test_cluster *c);

/* One Read of photo (key, cookie) straight from store index s (no
 * directory, no cache), by hint or not; its status. */
hs_status test_cluster_read(struct test_cluster *c, int s, uint64_t key,
    uint32_t cookie, int by_hint);

/* Stops every process (SIGTERM, then SIGKILL) and frees. */
void test_cluster_stop(struct test_cluster *c);

/* Prints every process's log tail (call on failure). */
void test_cluster_dump_logs(struct test_cluster *c);

/* Writes path from testing/cluster.template, each @NAME@ replaced by the
 * value after NAME in vars ("NAME", "value", ..., NULL). 0 or -1. */
int test_cluster_file_write(const char *path, const char *const *vars);

#endif
