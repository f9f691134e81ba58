/* The original system's configuration block, exactly as it wrote it (bare
 * numbers are seconds: LEADER_TIMEOUT=10, FOLLOWER_SYNC_INTERVAL=0.5,
 * CACHE_TTL=3600), in the environment of every process and with none of
 * the harness's short-timeout flags, starts a working cluster: a leader is
 * elected, every store comes UP, and a photo goes up and comes back. Before
 * bare numbers were seconds, LEADER_TIMEOUT=10 stopped every directory at
 * start ("allowed 300 to 600000 ms"). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster_run.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"

static const char *const seed[][2] = {
	{ "MAX_VOLUME_SIZE", "4294967296" },
	{ "COMPACTION_EFFICIENCY_THRESHOLD", "0.60" },
	{ "HEARTBEAT_INTERVAL", "30" },
	{ "STATS_REPORT_INTERVAL", "60" },
	{ "LEADER_TIMEOUT", "10" },
	{ "LEADER_HEARTBEAT_INTERVAL", "3" },
	{ "FOLLOWER_SYNC_INTERVAL", "0.5" },
	{ "DEFAULT_REPLICA_COUNT", "3" },
	{ "MIN_REPLICA_COUNT", "2" },
	{ "MAX_REPLICA_COUNT", "5" },
	{ "ACCESS_RATE_THRESHOLD", "200" },
	{ "NIGHTLY_AUDIT_HOUR", "2" },
	{ "CACHE_TTL", "3600" },
};

static struct test_cluster tc;

static void
test_seed_block_serves_a_photo(void)
{
	hs_client *c;
	hs_error e;
	hs_photo_id id;
	uint8_t photo[20000];
	void *back = NULL;
	size_t len = 0;
	for (size_t i = 0; i < sizeof(photo); i++)
		photo[i] = (uint8_t)(i * 7 + 3);
	CHECK_STATUS(hs_open_file(&c, tc.cluster_file, &e), HS_OK, e.message);
	hs_status up = hs_upload(c, photo, sizeof(photo), 0, 30000, &id, &e);
	hs_status down = up == HS_OK ?
	    hs_download(c, id, 30000, &back, &len, &e) :
	    up;
	test_hs_close(c);
	int same = back != NULL && len == sizeof(photo) &&
	    memcmp(back, photo, len) == 0;
	free(back);
	CHECK_STATUS(up, HS_OK, e.message);
	CHECK_STATUS(down, HS_OK, e.message);
	CHECK_MSG(same, "downloaded %zu bytes, not the %zu uploaded", len,
	    sizeof(photo));
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "seed block serves a photo", test_seed_block_serves_a_photo },
		{ NULL, NULL },
	};
	rt_log_init("seed_config_test", 'T');
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++)
		setenv(seed[i][0], seed[i][1], 1);
	struct test_cluster_opts o = { .ndirs = 3,
		.nstores = 3,
		.env_timing = 1 };
	if (test_cluster_start(&tc, &o) != 0) {
		fprintf(stderr, "the seed's block did not start a cluster\n");
		return 1;
	}
	return test_cluster_run(&tc, NULL, cases, argc, argv);
}
