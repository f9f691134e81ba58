/* The chaos soak, short and seeded, as a test: 30 s of faults on a whole
 * cluster, then every acknowledged upload reads back byte-identical, every
 * acknowledged delete stays NOT_FOUND on every path, every photo is at its
 * target over the zones and nothing died that the soak did not kill.
 * Seeded, so a red run is reproduced with `bazel run //tools:chaos --
 * --duration 30s --seed 1`. */
#include "chaos.h"
#include "check.h"

static void
short_soak(void)
{
	struct chaos_opts o = { .duration_ms = 30000,
		.settle_ms = 60000,
		.seed = 1,
		.faults = "",
		.quiet = 0,
		/* Photos uploaded while a zone's only store is out get two
		 * copies in one zone; the replicator respreads them once the
		 * zone is back, and the check holds it to that. */
		.zones_advisory = 0 };
	CHECK_MSG(chaos_run(&o) == 0,
	    "the soak found a loss, a resurrection, a photo short of its "
	    "replicas or an unexpected death (above)");
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "short_soak", short_soak },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
