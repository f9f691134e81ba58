/* The fault-injection soak (`bazel run //tools:chaos`): a local cluster of
 * real processes under a workload of uploads, downloads, deletes and hot
 * reads through libhs while processes are killed, paused, a store's disk
 * fills, volume bytes flip and (with hosts) the network partitions and
 * the metadata Redis fails over; then the cluster settles and every
 * acknowledged upload and delete is checked on every path. The fault
 * sequence is drawn from the seed, so a failure is reproduced by running
 * the same seed again (docs/reliability.md, "The chaos soak"). */
#ifndef HS_TOOLS_CHAOS_H
#define HS_TOOLS_CHAOS_H

#include <stdint.h>

/* Fault kinds; --faults names them. */
enum chaos_fault {
	CF_KILL,      /* SIGKILL a process, restart it after a moment */
	CF_PAUSE,     /* SIGSTOP a process, SIGCONT it after a moment */
	CF_DISKFULL,  /* fill the small data dir of the last store */
	CF_BITFLIP,   /* flip a byte inside one copy of a photo's data */
	CF_PARTITION, /* with hosts: cut a link, a host or a zone off, then
			 heal (testing/hosts.h) */
	CF_REDISFAIL, /* with hosts: SIGKILL or SIGSTOP the metadata primary
			 the sentinels name, then bring it back as a
			 replica (testing/redis_sentinel.h) */
	CF_N
};

struct chaos_opts {
	int64_t duration_ms; /* of the fault phase */
	int64_t settle_ms;   /* bound on the settle phase */
	int64_t seed;
	const char *faults; /* comma list of fault names; "" or NULL = all */
	int quiet;	    /* 1: no line per fault */
	int zones_advisory; /* 1: two copies in one zone are reported but
			       do not fail the run (see chaos_test.c) */
	int hosts; /* every process a host of its own (docs/hosts.md; root),
		      the metadata Redis under Sentinel: partitions and Redis
		      failovers become possible; no nginx, no web reader */
};

/* Runs the soak. 0 when nothing was lost, resurrected, left short of its
 * replicas or died unexpectedly; 1 otherwise; 2 when the cluster could not
 * start. Prints one summary line starting "chaos:". */
int chaos_run(const struct chaos_opts *o);

/* The name of a fault kind ("kill", "pause", "diskfull", "bitflip"). */
const char *chaos_fault_name(int kind);

#endif
