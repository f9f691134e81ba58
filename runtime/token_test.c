/* Write tokens: a genuine token passes for every store it names; a forged,
 * expired, misdirected or garbage one is PERMISSION_DENIED with a reason. */
#include <stdlib.h>

#include "check.h"
#include "clock.h"
#include "grant.h"
#include "log.h"
#include "token.h"

static rt_key key;
static char why[256]; /* the last check's reason */

/* rt_token_check of token t (n bytes) under key at time `at` (ms), for
 * photo (k, c) on store, as principal (NULL: a store forwarding). */
static hs_status
check_at(const uint8_t *t, size_t n, uint64_t k, uint32_t c, uint32_t store,
    const char *principal, int64_t at)
{
	why[0] = '\0';
	return rt_token_check(&key, t, n, k, c, store, principal, at, why,
	    sizeof(why));
}

static hs_status
check_now(const uint8_t *t, size_t n, uint64_t k, uint32_t c, uint32_t store,
    const char *principal)
{
	return check_at(t, n, k, c, store, principal, rt_now_ms());
}

static void
test_genuine_token_passes_for_each_named_store(void)
{
	uint32_t stores[] = { 3, 5, 9 };
	uint8_t *t;
	size_t n;
	CHECK_EQ(rt_token_make(&key, 42, 7, stores, 3, rt_now_ms() + 60000, &t,
		     &n),
	    0);
	for (int i = 0; i < 3; i++)
		CHECK_STATUS(check_now(t, n, 42, 7, stores[i], NULL), HS_OK,
		    why);
	CHECK_STATUS(check_now(t, n, 42, 7, 4, NULL), HS_PERMISSION_DENIED,
	    why);
	CHECK(strstr(why, "does not name store 4") != NULL);
	free(t);
}

static void
test_bad_tokens_are_denied_with_a_reason(void)
{
	uint32_t stores[] = { 1 };
	uint8_t *t;
	size_t n;
	rt_key other;
	rt_key_from_string(&other, "another-cluster-key-entirely");
	CHECK_EQ(rt_token_make(&key, 42, 7, stores, 1, rt_now_ms() + 60000, &t,
		     &n),
	    0);
	CHECK_EQ(rt_token_check(&other, t, n, 42, 7, 1, NULL, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK(strstr(why, "bad MAC") != NULL);
	CHECK_EQ(check_now(t, n, 43, 7, 1, NULL), HS_PERMISSION_DENIED);
	CHECK(strstr(why, "another photo") != NULL);
	CHECK_EQ(check_now(t, n, 42, 8, 1, NULL), HS_PERMISSION_DENIED);
	CHECK_EQ(check_at(t, n, 42, 7, 1, NULL, rt_now_ms() + 120000),
	    HS_PERMISSION_DENIED);
	CHECK(strstr(why, "expired") != NULL);
	t[n / 2] ^= 0x01; /* one flipped bit anywhere breaks it */
	CHECK_EQ(check_now(t, n, 42, 7, 1, NULL), HS_PERMISSION_DENIED);
	CHECK_EQ(check_now((const uint8_t *)"junk", 4, 42, 7, 1, NULL),
	    HS_PERMISSION_DENIED);
	CHECK_EQ(check_now(NULL, 0, 42, 7, 1, NULL), HS_PERMISSION_DENIED);
	free(t);
}

/* A grant's token covers exactly its own ids, each with its own cookie. */
static void
test_grant_token_covers_exactly_its_ids(void)
{
	uint32_t stores[] = { 2, 4, 6 };
	uint8_t *t;
	size_t n;
	CHECK_EQ(rt_token_make_grant(&key, 7, 1000, 16, "app", stores, 3,
		     rt_now_ms() + 60000, &t, &n),
	    0);
	for (uint64_t seq = 1000; seq < 1016; seq++) {
		uint64_t k = rt_grant_key(&key, 7, seq);
		uint32_t c = rt_grant_cookie(&key, k);
		CHECK_STATUS(check_now(t, n, k, c, 4, "app"), HS_OK, why);
		/* a grant is its principal's alone */
		CHECK_EQ(check_now(t, n, k, c, 4, "thief"),
		    HS_PERMISSION_DENIED);
		CHECK_EQ(check_now(t, n, k, c ^ 1, 4, NULL),
		    HS_PERMISSION_DENIED);
	}
	uint64_t outside[] = { rt_grant_key(&key, 7, 999),
		rt_grant_key(&key, 7, 1016), rt_grant_key(&key, 8, 1000) };
	for (int i = 0; i < 3; i++) {
		uint64_t k = outside[i];
		CHECK_EQ(check_now(t, n, k, rt_grant_cookie(&key, k), 4, NULL),
		    HS_PERMISSION_DENIED);
		CHECK(strstr(why, "another photo") != NULL);
	}
	free(t);
}

/* Grant keys: a permutation (no two sequence numbers share a key, and
 * the inverse gives the number back), the group readable in clear, and
 * neighbours not adjacent. */
static void
test_grant_keys_are_distinct_and_invertible(void)
{
	enum { N = 4096 };
	uint64_t *keys = malloc(N * sizeof(*keys));
	CHECK(keys != NULL);
	size_t adjacent = 0;
	for (uint64_t seq = 0; seq < N; seq++) {
		keys[seq] = rt_grant_key(&key, 513, seq);
		CHECK_EQ(rt_grant_group_of(keys[seq]), 513);
		CHECK_EQ(rt_grant_seq_of(&key, keys[seq]), seq);
		if (seq > 0 &&
		    (keys[seq] - keys[seq - 1] == 1 ||
			keys[seq - 1] - keys[seq] == 1))
			adjacent++;
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++)
			CHECK(keys[i] != keys[j]);
	CHECK(adjacent < 4);
	CHECK_EQ(rt_grant_seq_of(&key, rt_grant_key(&key, 1, RT_GRANT_SEQ_MAX)),
	    RT_GRANT_SEQ_MAX);
	rt_key other;
	rt_key_from_string(&other, "another-cluster-key-entirely");
	CHECK(rt_grant_key(&other, 513, 5) != keys[5]);
	free(keys);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "genuine token passes for each named store",
		    test_genuine_token_passes_for_each_named_store },
		{ "bad tokens are denied with a reason",
		    test_bad_tokens_are_denied_with_a_reason },
		{ "grant token covers exactly its ids",
		    test_grant_token_covers_exactly_its_ids },
		{ "grant keys are distinct and invertible",
		    test_grant_keys_are_distinct_and_invertible },
		{ NULL, NULL },
	};
	rt_key_from_string(&key, "token-test-key-0123456789");
	return check_run(cases, argc, argv);
}
