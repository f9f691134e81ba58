/* The cluster commands of hs: stats, health, check (the full report with a
 * verdict), audit, and tap (the event feed as JSON lines until
 * interrupted). Wire replies are printed with json_pb under --json, so new
 * fields of the contract show up without changes here. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "stop.h"

/* Everything `check` looks at; each part may be missing. */
struct report {
	Hs__HealthReply *health;
	Hs__DirectoryStatsReply *stats;
	Hs__QueueReply *queue;
	hs_status queue_st;
	hs_error queue_err;
	struct hs_cache_stats cache;
};

static void
report_free(struct report *r)
{
	if (r->health != NULL)
		hs__health_reply__free_unpacked(r->health, NULL);
	if (r->stats != NULL)
		hs__directory_stats_reply__free_unpacked(r->stats, NULL);
	if (r->queue != NULL)
		hs__queue_reply__free_unpacked(r->queue, NULL);
}

static const char *
store_state_name(Hs__StoreState s)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&hs__store_state__descriptor,
		(int)s);
	return v != NULL && strncmp(v->name, "STORE_", 6) == 0 ? v->name + 6 :
								 "UNKNOWN";
}

static void
cache_json(struct json *j, const struct hs_cache_stats *k)
{
	json_key(j, "cache");
	json_obj_begin(j);
	json_kbool(j, "configured", k->configured);
	json_kbool(j, "reachable", k->reachable);
	json_kuint(j, "hits", k->hits);
	json_kuint(j, "misses", k->misses);
	json_key(j, "hit_rate");
	if (k->hits + k->misses > 0)
		json_double(j, (double)k->hits / (double)(k->hits + k->misses));
	else
		json_null(j);
	json_kuint(j, "keys", k->keys);
	json_kuint(j, "used_bytes", k->used_bytes);
	json_kuint(j, "max_bytes", k->max_bytes);
	json_kuint(j, "client_hits", k->client_hits);
	json_kuint(j, "client_misses", k->client_misses);
	json_obj_end(j);
}

static void
stats_text(const Hs__DirectoryStatsReply *s, const struct hs_cache_stats *k)
{
	char a[32], b[32], u[32];
	uint64_t used = s->capacity_bytes - s->free_bytes;
	printf("photos    %llu active, %llu deleted\n",
	    (unsigned long long)s->photos, (unsigned long long)s->deleted);
	printf("bytes     %s\n", cli_bytes(s->bytes, a, sizeof(a)));
	printf("stores    %u up of %u\n", s->stores_up, s->stores_total);
	printf("volumes   %u\n", s->volumes);
	printf("capacity  %s used of %s", cli_bytes(used, u, sizeof(u)),
	    cli_bytes(s->capacity_bytes, b, sizeof(b)));
	if (s->capacity_bytes > 0)
		printf(" (%.1f%%)",
		    100.0 * (double)used / (double)s->capacity_bytes);
	printf("\n");
	if (!k->configured)
		printf("cache     not configured\n");
	else if (!k->reachable)
		printf("cache     unreachable\n");
	else if (k->hits + k->misses == 0)
		printf("cache     no lookups yet, %llu keys, %s used\n",
		    (unsigned long long)k->keys,
		    cli_bytes(k->used_bytes, a, sizeof(a)));
	else
		printf("cache     hit rate %.1f%% (%llu hits, %llu misses), %llu "
		       "keys, %s used\n",
		    100.0 * (double)k->hits / (double)(k->hits + k->misses),
		    (unsigned long long)k->hits, (unsigned long long)k->misses,
		    (unsigned long long)k->keys,
		    cli_bytes(k->used_bytes, a, sizeof(a)));
	printf("seq       %llu applied, %llu lookups, %llu registrations\n",
	    (unsigned long long)s->applied_seq, (unsigned long long)s->lookups,
	    (unsigned long long)s->registrations);
}

int
cli_stats(struct cli *c, int argc, char **argv)
{
	Hs__DirectoryStatsReply *s;
	struct hs_cache_stats k;
	hs_error e;
	(void)argv;
	if (argc != 1)
		return cli_usage(c, "stats takes no arguments");
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	hs_status st = hs_stats(c->client, c->timeout_ms, &s, &e);
	if (st != HS_OK)
		return cli_fail(c, st, NULL, e.message);
	hs_cache_stats(c->client, c->timeout_ms, &k, NULL);
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		json_key(&j, "directory");
		json_pb(&j, &s->base);
		cache_json(&j, &k);
		cli_json_end(&j);
	} else {
		stats_text(s, &k);
	}
	hs__directory_stats_reply__free_unpacked(s, NULL);
	return CLI_OK;
}

static void
health_text(const Hs__HealthReply *h)
{
	printf("leader      %s", h->leader_id[0] ? h->leader_id : "NONE");
	if (h->leader_addr[0])
		printf(" at %s", h->leader_addr);
	printf(" (epoch %llu, asked %s)\n", (unsigned long long)h->epoch,
	    h->self_id);
	printf("redis       %s\n", h->redis_ok ? "ok" : "NOT OK");
	printf("directories\n");
	for (size_t i = 0; i < h->n_directories; i++) {
		const Hs__DirectoryNode *d = h->directories[i];
		printf("  %-14s %-8s seq %-8llu lag %-6llu %s\n", d->id,
		    d->leader ? "leader" : "follower",
		    (unsigned long long)d->applied_seq,
		    (unsigned long long)d->lag, d->rpc_addr);
	}
	printf("stores\n");
	for (size_t i = 0; i < h->n_stores; i++) {
		const Hs__StoreInfo *s = h->stores[i];
		char f[32], t[32];
		printf("  store %-4u %-8s %-10s %s free of %s, %llu needles  %s\n",
		    s->id, store_state_name(s->state),
		    s->zone[0] ? s->zone : "-",
		    cli_bytes(s->free_bytes, f, sizeof(f)),
		    cli_bytes(s->capacity_bytes, t, sizeof(t)),
		    (unsigned long long)s->needles, s->rpc_addr);
	}
}

static void
queue_text(const struct report *r, int configured)
{
	if (!configured) {
		printf("replicator  not configured in the cluster file\n");
		return;
	}
	if (r->queue == NULL) {
		printf("replicator  UNREACHABLE: %s\n", r->queue_err.message);
		return;
	}
	const Hs__QueueReply *q = r->queue;
	printf("replicator  %s, queue", q->active ? "active" : "STANDBY ONLY");
	for (size_t i = 0; i < q->n_depth; i++)
		printf("%s%llu", i ? "/" : " ",
		    (unsigned long long)q->depth[i]);
	printf(" (urgent/high/normal/low), %llu in flight, %llu done, %llu "
	       "failed\n",
	    (unsigned long long)q->in_flight, (unsigned long long)q->done,
	    (unsigned long long)q->failed);
}

/* Health, and the replicator's queue when one is configured. */
static int
gather(struct cli *c, struct report *r, int with_stats)
{
	hs_error e;
	hs_status st = hs_health(c->client, c->timeout_ms, &r->health, &e);
	if (st == HS_OK && with_stats)
		st = hs_stats(c->client, c->timeout_ms, &r->stats, &e);
	if (st != HS_OK)
		return cli_fail(c, st, NULL, e.message);
	if (with_stats)
		hs_cache_stats(c->client, c->timeout_ms, &r->cache, NULL);
	r->queue_st = hs_queue(c->client, c->timeout_ms, &r->queue,
	    &r->queue_err);
	return 0;
}

static void
report_json(struct json *j, const struct report *r)
{
	json_key(j, "health");
	json_pb(j, &r->health->base);
	if (r->stats != NULL) {
		json_key(j, "stats");
		json_pb(j, &r->stats->base);
		cache_json(j, &r->cache);
	}
	json_key(j, "replicator");
	if (r->queue != NULL) {
		json_pb(j, &r->queue->base);
	} else {
		json_obj_begin(j);
		json_kbool(j, "configured",
		    r->queue_st != HS_FAILED_PRECONDITION);
		json_kstr(j, "error", r->queue_err.message);
		json_obj_end(j);
	}
}

int
cli_health(struct cli *c, int argc, char **argv)
{
	struct report r = { .health = NULL };
	(void)argv;
	if (argc != 1)
		return cli_usage(c, "health takes no arguments");
	int rc = cli_open(c);
	if (rc != 0 || (rc = gather(c, &r, 0)) != 0)
		return rc;
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		report_json(&j, &r);
		cli_json_end(&j);
	} else {
		health_text(r.health);
		queue_text(&r, r.queue_st != HS_FAILED_PRECONDITION);
	}
	report_free(&r);
	return CLI_OK;
}

/* Appends the problems `check` finds to list (one sentence each). */
static int
problems(const struct report *r, char list[][160], int max)
{
	int n = 0;
	const Hs__HealthReply *h = r->health;
	if (h->leader_id[0] == '\0' && n < max)
		snprintf(list[n++], 160,
		    "no directory leader (an election "
		    "may be in progress)");
	if (!h->redis_ok && n < max)
		snprintf(list[n++], 160, "the directory cannot reach Redis");
	for (size_t i = 0; i < h->n_stores && n < max; i++)
		if (h->stores[i]->state != HS__STORE_STATE__STORE_UP)
			snprintf(list[n++], 160, "store %u is %s",
			    h->stores[i]->id,
			    store_state_name(h->stores[i]->state));
	if (r->queue_st != HS_OK && r->queue_st != HS_FAILED_PRECONDITION &&
	    n < max)
		snprintf(list[n++], 160, "the replicator does not answer");
	else if (r->queue != NULL && !r->queue->active && n < max)
		snprintf(list[n++], 160, "no active replicator");
	if (r->cache.configured && !r->cache.reachable && n < max)
		snprintf(list[n++], 160, "the cache Redis does not answer");
	return n;
}

int
cli_check(struct cli *c, int argc, char **argv)
{
	struct report r = { .health = NULL };
	char list[32][160];
	(void)argv;
	if (argc != 1)
		return cli_usage(c, "check takes no arguments");
	int rc = cli_open(c);
	if (rc != 0 || (rc = gather(c, &r, 1)) != 0) {
		report_free(&r);
		return rc;
	}
	int n = problems(&r, list, 32);
	if (c->json) {
		struct json j;
		cli_json_begin(&j, n == 0);
		json_kbool(&j, "healthy", n == 0);
		json_key(&j, "problems");
		json_arr_begin(&j);
		for (int i = 0; i < n; i++)
			json_str(&j, list[i]);
		json_arr_end(&j);
		report_json(&j, &r);
		cli_json_end(&j);
	} else {
		health_text(r.health);
		queue_text(&r, r.queue_st != HS_FAILED_PRECONDITION);
		printf("\n");
		stats_text(r.stats, &r.cache);
		printf("\n%s\n", n == 0 ? "healthy" : "NOT HEALTHY:");
		for (int i = 0; i < n; i++)
			printf("  - %s\n", list[i]);
	}
	report_free(&r);
	return n == 0 ? CLI_OK : CLI_FAIL;
}

int
cli_audit(struct cli *c, int argc, char **argv)
{
	int wait = 0;
	Hs__AuditReply *a;
	hs_error e;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			wait = 1;
		else
			return cli_usage(c, "unknown argument '%s'", argv[i]);
	}
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	hs_status st = hs_audit(c->client, wait, c->timeout_ms, &a, &e);
	if (st != HS_OK)
		return cli_fail(c, st, NULL, e.message);
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		json_pb_fields(&j, &a->base);
		cli_json_end(&j);
	} else if (!wait) {
		printf("audit %s\n",
		    a->started ? "started" : "already running");
	} else {
		printf("audit done: %llu photos checked, %llu missing replicas, "
		       "%llu orphans deleted, %llu leftovers tombstoned\n",
		    (unsigned long long)a->photos_checked,
		    (unsigned long long)a->missing_replicas,
		    (unsigned long long)a->orphans_deleted,
		    (unsigned long long)a->leftovers_tombstoned);
		if (a->copies_adopted > 0)
			printf("adopted %llu copies found on stores that came "
			       "back\n",
			    (unsigned long long)a->copies_adopted);
		for (size_t i = 0; i < a->n_halted_stores; i++)
			printf("HALTED on store %u: too many needles look like "
			       "orphans (%llu held, none deleted); check the "
			       "metadata Redis, then `hs rebuild` or `hs "
			       "restore` (docs/reliability.md)\n",
			    a->halted_stores[i],
			    (unsigned long long)a->orphans_held);
	}
	hs__audit_reply__free_unpacked(a, NULL);
	return CLI_OK;
}

int
cli_tap(struct cli *c, int argc, char **argv)
{
	const char *topics[32];
	size_t nt = 0;
	hs_events *ev;
	hs_error e;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--topic=", 8) == 0)
			v = argv[i] + 8;
		else
			return cli_usage(c, "unknown argument '%s'", argv[i]);
		if (nt == 32)
			return cli_usage(c, "at most 32 --topic prefixes");
		topics[nt++] = v;
	}
	/* Before the client starts its threads, so they inherit the mask
	 * and an interrupt ends the loop below, not the process. */
	rt_stop_block();
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	hs_status st = hs_events_open(c->client, topics, nt, &ev, &e);
	if (st != HS_OK)
		return cli_fail(c, st, NULL, e.message);
	while (rt_stop_wait(0) == 0) {
		Hs__Event *x;
		uint64_t missed;
		st = hs_events_next(ev, 200, &x, &missed, &e);
		if (st == HS_DEADLINE_EXCEEDED)
			continue;
		if (st != HS_OK) {
			hs_events_close(ev);
			return cli_fail(c, st, NULL, e.message);
		}
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_pb_fields(&j, &x->base);
		if (missed > 0)
			json_kuint(&j, "missed", missed);
		cli_json_end(&j);
		hs__event__free_unpacked(x, NULL);
		if (ferror(stdout))
			break; /* the reader went away */
	}
	hs_events_close(ev);
	return CLI_OK;
}
