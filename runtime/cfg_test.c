/* Table-driven configuration: flags beat the environment, which beats the
 * default; bad values are refused with the option's name and range. */
#include <stdlib.h>

#include "cfg.h"
#include "check.h"

static int64_t timeout_ms, max_size, replicas;
static double threshold;
static const char *addr;
static int verbose;

static const struct rt_cfg_opt opts[] = {
	{ "LEADER_TIMEOUT", "leader-timeout", RT_CFG_MS, &timeout_ms, 100,
	    600000, "10s", "lease length" },
	{ "MAX_VOLUME_SIZE", "max-volume-size", RT_CFG_BYTES, &max_size, 4096,
	    1e12, "32GiB", "volume roll-over size" },
	{ "DEFAULT_REPLICA_COUNT", "replicas", RT_CFG_INT, &replicas, 1, 10,
	    "3", "replicas" },
	{ "COMPACTION_EFFICIENCY_THRESHOLD", "compaction-threshold",
	    RT_CFG_DOUBLE, &threshold, 0, 1, "0.5", "live fraction" },
	{ NULL, "listen", RT_CFG_STRING, &addr, 0, 0, "tcp://127.0.0.1:0",
	    "address" },
	{ NULL, "verbose", RT_CFG_BOOL, &verbose, 0, 0, "false", "chatty" },
};

static int
parse(int argc, char **argv, char *err)
{
	return rt_cfg_parse(opts, 6, argc, argv, err, 256);
}

static void
test_defaults(void)
{
	char err[256];
	char *argv[] = { "prog" };
	unsetenv("LEADER_TIMEOUT");
	CHECK_EQ(parse(1, argv, err), 0);
	CHECK_EQ(timeout_ms, 10000);
	CHECK_EQ(max_size, 32LL << 30);
	CHECK_EQ(replicas, 3);
	CHECK(threshold == 0.5);
	CHECK(strcmp(addr, "tcp://127.0.0.1:0") == 0);
	CHECK_EQ(verbose, 0);
}

static void
test_flag_beats_env_beats_default(void)
{
	char err[256];
	char *argv[] = { "prog", "--replicas=5", "--listen", "ipc:///x",
		"--verbose" };
	setenv("LEADER_TIMEOUT", "1500ms", 1);
	setenv("DEFAULT_REPLICA_COUNT", "2", 1);
	CHECK_EQ(parse(5, argv, err), 0);
	CHECK_EQ(timeout_ms, 1500);
	CHECK_EQ(replicas, 5);
	CHECK(strcmp(addr, "ipc:///x") == 0);
	CHECK_EQ(verbose, 1);
	unsetenv("LEADER_TIMEOUT");
	unsetenv("DEFAULT_REPLICA_COUNT");
}

static void
test_bad_values_name_the_option(void)
{
	char err[256];
	char *a1[] = { "prog", "--replicas=11" };
	CHECK_EQ(parse(2, a1, err), -1);
	CHECK(strstr(err, "DEFAULT_REPLICA_COUNT=11 is out of range") != NULL);
	char *a2[] = { "prog", "--leader-timeout=soon" };
	CHECK_EQ(parse(2, a2, err), -1);
	CHECK(
	    strstr(err, "LEADER_TIMEOUT=soon is not a valid duration") != NULL);
	char *a3[] = { "prog", "--max-volume-size=12XB" };
	CHECK_EQ(parse(2, a3, err), -1);
	CHECK(strstr(err, "MAX_VOLUME_SIZE") != NULL);
	char *a4[] = { "prog", "--no-such-flag=1" };
	CHECK_EQ(parse(2, a4, err), -1);
	CHECK(strstr(err, "unknown flag '--no-such-flag'") != NULL);
	setenv("COMPACTION_EFFICIENCY_THRESHOLD", "1.5", 1);
	char *a5[] = { "prog" };
	CHECK_EQ(parse(1, a5, err), -1);
	CHECK(strstr(err, "COMPACTION_EFFICIENCY_THRESHOLD=1.5") != NULL);
	unsetenv("COMPACTION_EFFICIENCY_THRESHOLD");
}

/* The original system's variables, as its block writes them: bare
 * durations are seconds, and a range error says so in seconds. */
static void
test_seed_values_are_seconds(void)
{
	char err[256];
	char *argv[] = { "prog" };
	setenv("LEADER_TIMEOUT", "10", 1);
	setenv("MAX_VOLUME_SIZE", "4294967296", 1);
	setenv("COMPACTION_EFFICIENCY_THRESHOLD", "0.60", 1);
	int rc = parse(1, argv, err);
	unsetenv("MAX_VOLUME_SIZE");
	unsetenv("COMPACTION_EFFICIENCY_THRESHOLD");
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_EQ(timeout_ms, 10000);
	CHECK_EQ(max_size, 4294967296LL);
	setenv("LEADER_TIMEOUT", "900", 1);
	rc = parse(1, argv, err);
	unsetenv("LEADER_TIMEOUT");
	CHECK_EQ(rc, -1);
	CHECK_MSG(strstr(err, "allowed 0.1s to 600s") != NULL, "%s", err);
}

static void
test_units(void)
{
	int64_t v;
	CHECK(rt_parse_ms("2s", &v) == 0 && v == 2000);
	CHECK(rt_parse_ms("1m", &v) == 0 && v == 60000);
	/* A bare number is seconds, as the original system's variables
	 * are (LEADER_TIMEOUT=10, FOLLOWER_SYNC_INTERVAL=0.5). */
	CHECK(rt_parse_ms("10", &v) == 0 && v == 10000);
	CHECK(rt_parse_ms("0.5", &v) == 0 && v == 500);
	CHECK(rt_parse_ms("3600", &v) == 0 && v == 3600000);
	CHECK(rt_parse_ms("0", &v) == 0 && v == 0);
	CHECK(rt_parse_ms("250ms", &v) == 0 && v == 250);
	CHECK(rt_parse_bytes("64MiB", &v) == 0 && v == 64LL << 20);
	CHECK(rt_parse_bytes("1.5k", &v) == 0 && v == 1536);
	CHECK(rt_parse_bytes("-1", &v) != 0);
	CHECK(rt_parse_ms("3 days", &v) != 0);
}

/* The directory and the replicator hold replica counts to one rule. */
static void
test_replica_counts_in_order(void)
{
	char err[256];
	CHECK(rt_cfg_check_replicas(2, 3, 5, err, sizeof(err)) == 0);
	CHECK(rt_cfg_check_replicas(1, 1, 1, err, sizeof(err)) == 0);
	CHECK(rt_cfg_check_replicas(4, 3, 5, err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "MIN_REPLICA_COUNT (4)") != NULL, "%s", err);
	CHECK(rt_cfg_check_replicas(2, 6, 5, err, sizeof(err)) != 0);
	CHECK(rt_cfg_check_replicas(0, 3, 5, err, sizeof(err)) != 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "defaults", test_defaults },
		{ "flag beats env beats default",
		    test_flag_beats_env_beats_default },
		{ "bad values name the option",
		    test_bad_values_name_the_option },
		{ "units", test_units },
		{ "seed values are seconds", test_seed_values_are_seconds },
		{ "replica counts in order", test_replica_counts_in_order },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
