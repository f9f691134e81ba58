/* The system benchmark's parts (bench.c runs them): its options, its
 * phases, the workers that run a phase (bench_run.c) and the per-operation
 * costs read from the kernel (bench_cost.c). */
#ifndef HS_TOOLS_BENCH_H
#define HS_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "hs.h"

struct bench_opts {
	const char *cluster_file;
	int64_t duration_ms;
	int64_t clients;
	int64_t random_photos;
	int json;
};

enum bench_kind { UPLOAD, READ_REPEAT, READ_RANDOM };

/* Which set of clients a phase uses (see bench_open_clients). */
enum bench_clients { CACHED, STORES, LOOKUP_EACH, COLD, NCLIENT_SETS };

struct bench_phase {
	const char *key; /* stable name for scripts: upload_4k, random_4k */
	const char *name;
	size_t size;
	enum bench_kind kind;
	enum bench_clients clients;
};

/* Machine-wide counters and this process's RPC calls, at one instant. */
struct bench_costs {
	uint64_t busy_jiffies; /* /proc/stat: every CPU, all but idle, iowait */
	uint64_t out_segs;     /* /proc/net/snmp Tcp: OutSegs */
	uint64_t rpc_calls;    /* rpc_calls_started() */
};

struct bench_result {
	uint64_t n; /* operations that succeeded */
	double ops, p50_ms, p99_ms;
	long errors;
	double cpu_us_per_op, rpc_per_op, segs_per_op;
};

/* bench_cost.c */
void bench_costs_sample(struct bench_costs *c);
/* Fills r's per-operation costs from the change between a and b. */
void bench_costs_per_op(const struct bench_costs *a,
    const struct bench_costs *b, struct bench_result *r);

/* bench_run.c */
/* o->clients clients; without the cache (reads go to the stores) and/or
 * without the location memory. Exits on failure. */
hs_client **bench_open_clients(const struct bench_opts *o, int use_cache,
    int locations);
/* Closes each client with a bound (testing/hs_close.h). */
void bench_close_clients(const struct bench_opts *o, hs_client **cl);
/* Uploads n distinct photos of size bytes over the clients in parallel,
 * saying how far it got on stderr every second when progress is set.
 * Exits on failure. */
hs_photo_id *bench_seed(const struct bench_opts *o, hs_client **cl, size_t size,
    size_t n, int progress);
/* Runs ph for o->duration_ms on o->clients threads (READ_RANDOM: until
 * each of ids has been read once, or the duration). */
struct bench_result bench_run_phase(const struct bench_opts *o, hs_client **cl,
    const struct bench_phase *ph, const hs_photo_id *ids, size_t nids);

#endif
