/* directoryd: one directory replica. Parses and checks its options,
 * opens the RPC server and the event feed, loads every record, then runs
 * the election, sync and housekeeping threads until SIGINT/SIGTERM. Prints
 * "ready <rpc> <pub>" on stdout once it serves (tests wait for it).
 *
 * Shutdown order: stop the threads (the election thread releases the
 * lease, so a successor need not wait LEADER_TIMEOUT), drain the writer
 * and reader queues (they answer their calls), fail parked lookups, then
 * close the RPC server, the feed, and free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_evict.h"
#include "catchup.h"
#include "cfg.h"
#include "delete_ack.h"
#include "dir.h"
#include "dir_http.h"
#include "log.h"
#include "principals.h"
#include "recent.h"
#include "scripts.h"
#include "stop.h"
#include "waiters.h"
#include "web_purge.h"
#include "writer.h"

static int
load_key(struct dir *d)
{
	char err[256];
	if (rt_ident_load_server(&d->ident, d->cfg.key_file,
		RT_DIRECTORY_PRINCIPAL, RT_ROLE_DIRECTORY, &d->key, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "directoryd: %s\n", err);
		return -1;
	}
	return 0;
}

/* Everything but the threads; -1 with the reason logged. */
static int
open_parts(struct dir *d)
{
	char bound[256];
	struct rpc_server_opts so = { .name = d->cfg.id,
		.ident = d->ident,
		.max_msg = 4u << 20 };
	/* Forwarding must fail fast when the leader just died, so the
	 * caller's resend finds the next leader; 1 s (the default) would
	 * add a second to every failover. */
	struct rpc_client_opts co = { .ident = d->ident,
		.connect_wait_ms = 150 };
	if (dir_records_open(&d->recs) != 0 ||
	    dir_stores_open(&d->stores, d->cfg.heartbeat_ms,
		(size_t)d->cfg.max_stores) != 0 ||
	    dir_groups_open(&d->groups) != 0 ||
	    rpc_pool_open(&d->pool, &co) != 0 ||
	    (d->acks = dir_acks_open()) == NULL ||
	    (d->recent = dir_recent_open()) == NULL ||
	    (d->cache = dir_cache_open(&d->cfg.cache_redis, d->cfg.cache_ttl_ms,
		 d->cfg.redis_timeout_ms)) == NULL ||
	    (d->purge = dir_purge_open(d->cfg.web_purge, d->cfg.tls_ca,
		 d->cfg.web_purge_wait_ms, d->cfg.cache_ttl_ms)) == NULL) {
		rt_log_error("out of memory");
		return -1;
	}
	if (rpc_server_open(&d->rpc, &so) != 0 || dir_rpc_add(d) != 0 ||
	    rpc_server_listen(d->rpc, d->cfg.listen, bound, sizeof(bound)) !=
		0) {
		rt_log_error("cannot serve RPC on %s", d->cfg.listen);
		return -1;
	}
	if (rt_pub_open(&d->pub, d->cfg.pub, d->cfg.id, d->ident) != 0) {
		rt_log_error("cannot publish events on %s", d->cfg.pub);
		return -1;
	}
	if (dir_writer_open(d) != 0 || dir_catchup_open(d) != 0)
		return -1;
	return dir_http_start(d);
}

static void
close_parts(struct dir *d)
{
	/* The lanes stop taking jobs first, so a call that arrives while the
	 * server is still open is answered UNAVAILABLE instead of pushed onto
	 * a freed queue; the server goes before the lanes are freed. */
	dir_http_stop(d);
	dir_lane_drain(&d->writer);
	dir_lane_drain(&d->reader);
	dir_waiters_close(d);
	dir_acks_drain(d->acks); /* deletes waiting for stores */
	dir_principals_close(d); /* credential changes waiting for stores */
	rpc_server_close(d->rpc);
	dir_writer_close(d);
	dir_catchup_close(d);
	dir_acks_close(d->acks); /* its Deletes use the pool */
	/* After the server: forwarded calls in flight answer into it. */
	rpc_pool_close(d->pool);
	rt_pub_close(d->pub);
	dir_cache_close(d->cache);
	dir_purge_close(d->purge);
	dir_stores_close(d->stores);
	dir_groups_close(d->groups);
	dir_records_close(d->recs);
	dir_recent_close(d->recent);
	pthread_mutex_destroy(&d->mu);
}

int
main(int argc, char **argv)
{
	static struct dir d;
	char err[512];
	rt_log_init("directory", 'F');
	int rc = dir_config_load(&d.cfg, argc, argv, err, sizeof(err));
	if (rc != 0)
		return rt_cfg_exit("directoryd", rc, err);
	if (d.cfg.test_drop_pub_every > 0)
		rt_log_warn("TEST HOOK ON: dropping every %lld-th photo event",
		    (long long)d.cfg.test_drop_pub_every);
	if (load_key(&d) != 0)
		return 64;
	dir_scripts_init();
	pthread_mutex_init(&d.mu, NULL);
	rt_stop_block();
	if (open_parts(&d) != 0) {
		close_parts(&d);
		return 1;
	}
	pthread_create(&d.sync_thr, NULL, dir_sync_main, &d);
	pthread_create(&d.election_thr, NULL, dir_election_main, &d);
	pthread_create(&d.house_thr, NULL, dir_house_main, &d);
	rpc_server_start(d.rpc);
	printf("ready %s %s\n", d.cfg.advertise, d.cfg.pub);
	fflush(stdout);
	rt_log_info("serving on %s, events on %s, Redis %s", d.cfg.listen,
	    d.cfg.pub, d.cfg.redis.addr);
	rt_stop_wait(-1);
	rt_log_info("shutting down");
	atomic_store(&d.stop, 1);
	pthread_join(d.election_thr, NULL);
	pthread_join(d.sync_thr, NULL);
	pthread_join(d.house_thr, NULL);
	close_parts(&d);
	return 0;
}
