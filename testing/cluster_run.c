/* A test cluster as libhs sees it (see cluster_run.h). */
#include "cluster_run.h"

#include <stdlib.h>
#include <string.h>

#include "hs_close.h"

int
test_cluster_up(struct test_cluster *tc, const struct test_cluster_opts *o,
    hs_client **cl)
{
	hs_error e;
	if (test_cluster_start(tc, o) != 0)
		return -1;
	if (cl != NULL && hs_open_file(cl, tc->cluster_file, &e) != HS_OK) {
		fprintf(stderr, "hs_open_file %s: %s\n", tc->cluster_file,
		    e.message);
		test_cluster_stop(tc);
		return -1;
	}
	return 0;
}

int
test_cluster_run(struct test_cluster *tc, hs_client *cl,
    const struct check_case *cases, int argc, char **argv)
{
	int rc = check_run(cases, argc, argv);
	if (rc != 0)
		test_cluster_dump_logs(tc);
	test_hs_close(cl);
	test_cluster_stop(tc);
	return rc;
}

hs_client *
test_cluster_client(const struct test_cluster *tc, int flags, const char *key,
    hs_error *e)
{
	struct hs_cluster cfg;
	hs_client *c = NULL;
	if (hs_cluster_load(tc->cluster_file, &cfg, e) != HS_OK)
		return NULL;
	if (key != NULL)
		snprintf(cfg.key_file, sizeof(cfg.key_file), "%s", key);
	if (flags & TEST_CL_NO_CACHE)
		cfg.cache[0] = '\0';
	if (flags & TEST_CL_NO_LOCATIONS)
		cfg.location_ttl_ms = -1;
	/* With nginx, directories[0] is its balancer; the rest, the
	 * directories themselves. */
	if ((flags & TEST_CL_NO_BALANCER) && cfg.ndirectories > 1) {
		memmove(cfg.directories[0], cfg.directories[1],
		    sizeof(cfg.directories[0]));
		cfg.ndirectories = 1;
	}
	return hs_open(&c, &cfg, e) == HS_OK ? c : NULL;
}

uint8_t *
test_upload_bytes(hs_client *c, size_t len, uint64_t seed, uint32_t replicas,
    hs_photo_id *id)
{
	uint8_t *b = test_bytes(len, seed);
	hs_error e;
	hs_status st = hs_upload(c, b, len, replicas, 30000, id, &e);
	if (st == HS_OK)
		return b;
	fprintf(stderr, "upload of %zu bytes: %s: %s\n", len, hs_status_str(st),
	    e.message);
	free(b);
	return NULL;
}

hs_status
test_download_equals(hs_client *c, hs_photo_id id, const void *want, size_t len,
    hs_error *e)
{
	void *data = NULL;
	size_t got = 0;
	hs_error ignored;
	hs_status st = hs_download(c, id, 10000, &data, &got,
	    e != NULL ? e : &ignored);
	if (st == HS_OK && (got != len || (len && memcmp(data, want, len))))
		st = HS_DATA_LOSS;
	free(data);
	return st;
}
