/* A test cluster (testing/cluster.h) as libhs sees it: the main of a test
 * binary whose cases share one cluster (started once, a client on it for
 * the cases, and on the way out the processes' logs when a case failed,
 * the client closed with a bound and every process stopped), clients of a
 * case's own, and downloads checked against the bytes uploaded. */
#ifndef HS_TEST_CLUSTER_RUN_H
#define HS_TEST_CLUSTER_RUN_H

#include "check.h"
#include "cluster.h"
#include "hs.h"

/* Starts tc with o and, when cl is not NULL, opens *cl on its cluster
 * file. 0, or -1 after printing what failed (the cluster stopped). */
int test_cluster_up(struct test_cluster *tc, const struct test_cluster_opts *o,
    hs_client **cl);

/* Runs the cases (check_run), prints every process's log when one
 * failed, closes cl (NULL is fine) and stops tc. The exit code. */
int test_cluster_run(struct test_cluster *tc, hs_client *cl,
    const struct check_case *cases, int argc, char **argv);

/* What a case's own client leaves out of the cluster file's setup. */
enum {
	TEST_CL_NO_CACHE = 1,	  /* no photo cache: reads reach the stores */
	TEST_CL_NO_LOCATIONS = 2, /* no location memory: a Lookup a download */
	TEST_CL_NO_BALANCER = 4,  /* the first directory, not nginx before it */
};

/* A libhs client of its own on tc's cluster file, as the identity file key
 * (NULL: the file's), without what flags name. NULL with e filled. */
hs_client *test_cluster_client(const struct test_cluster *tc, int flags,
    const char *key, hs_error *e);

/* Uploads len bytes of test data from seed (test_bytes) through c with
 * replicas copies (0: the default) into *id: the bytes, the caller's to
 * free; NULL after saying why. */
uint8_t *test_upload_bytes(hs_client *c, size_t len, uint64_t seed,
    uint32_t replicas, hs_photo_id *id);

/* hs_download of id through c: HS_DATA_LOSS when the bytes are not the
 * len bytes of want. e may be NULL. */
hs_status test_download_equals(hs_client *c, hs_photo_id id, const void *want,
    size_t len, hs_error *e);

/* Evaluates read, an hs_status expression, into last until it gives
 * HS_NOT_FOUND or timeout_ms pass: 1 if it gave HS_OK meanwhile (a
 * deleted photo served). */
#define TEST_SERVED_UNTIL_NOT_FOUND(read, last, timeout_ms)                    \
	({                                                                     \
		int64_t _until = check_mono_ms() + (timeout_ms);               \
		int _served = 0;                                               \
		do {                                                           \
			(last) = (read);                                       \
			_served |= (last) == HS_OK;                            \
		} while ((last) != HS_NOT_FOUND && check_mono_ms() < _until);  \
		_served;                                                       \
	})

#endif
