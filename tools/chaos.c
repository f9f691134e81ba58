/* chaos: the fault-injection soak against a local cluster of its own.
 *   bazel run //tools:chaos -- [--duration 5m] [--seed N] [--faults LIST]
 *                              [--hosts]
 * See chaos.h and docs/reliability.md ("The chaos soak"). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cfg.h"
#include "chaos.h"

int
main(int argc, char **argv)
{
	struct chaos_opts o = { 0 };
	const char *faults = "";
	const struct rt_cfg_opt opts[] = {
		{ NULL, "duration", RT_CFG_MS, &o.duration_ms, 1000,
		    24 * 3600 * 1000LL, "60s", "how long faults are injected" },
		{ NULL, "settle", RT_CFG_MS, &o.settle_ms, 10000, 3600 * 1000LL,
		    "120s", "bound on the settle before the final check" },
		{ NULL, "seed", RT_CFG_INT, &o.seed, 0, INT64_MAX, "0",
		    "fault and workload sequence (0: from the clock, printed)" },
		{ NULL, "faults", RT_CFG_STRING, &faults, 0, 0, "",
		    "comma list of kill,pause,diskfull,bitflip,partition,"
		    "redisfail (empty: all)" },
		{ NULL, "hosts", RT_CFG_BOOL, &o.hosts, 0, 0, "false",
		    "every process in a network namespace of its own, the "
		    "metadata Redis under Sentinel, with partition and Redis "
		    "failover faults (root; docs/hosts.md)" },
		{ NULL, "quiet", RT_CFG_BOOL, &o.quiet, 0, 0, "false",
		    "no line per fault" },
		{ NULL, "zones-advisory", RT_CFG_BOOL, &o.zones_advisory, 0, 0,
		    "false",
		    "two copies in one zone are reported, not a failure" },
	};
	char err[256];
	int rc = rt_cfg_parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
	    err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "chaos: %s\n", err);
		return rc < 0 ? 64 : 0;
	}
	if (o.seed == 0)
		o.seed = (int64_t)time(NULL);
	o.faults = faults;
	printf("chaos: seed %lld (run again with --seed %lld)\n",
	    (long long)o.seed, (long long)o.seed);
	return chaos_run(&o);
}
