/* Write tokens: a genuine token passes for every store it names; a forged,
 * expired, misdirected or garbage one is PERMISSION_DENIED with a reason. */
#include <stdlib.h>

#include "check.h"
#include "clock.h"
#include "log.h"
#include "token.h"

static rt_key key;

static void
test_genuine_token_passes_for_each_named_store(void)
{
	uint32_t stores[] = { 3, 5, 9 };
	uint8_t *t;
	size_t n;
	char why[256] = "";
	CHECK_EQ(rt_token_make(&key, 42, 7, stores, 3, rt_now_ms() + 60000, &t,
		     &n),
	    0);
	for (int i = 0; i < 3; i++)
		CHECK_STATUS(rt_token_check(&key, t, n, 42, 7, stores[i],
				 rt_now_ms(), why, sizeof(why)),
		    HS_OK, why);
	CHECK_STATUS(rt_token_check(&key, t, n, 42, 7, 4, rt_now_ms(), why,
			 sizeof(why)),
	    HS_PERMISSION_DENIED, why);
	CHECK(strstr(why, "does not name store 4") != NULL);
	free(t);
}

static void
test_bad_tokens_are_denied_with_a_reason(void)
{
	uint32_t stores[] = { 1 };
	uint8_t *t;
	size_t n;
	char why[256];
	rt_key other;
	rt_key_from_string(&other, "another-cluster-key-entirely");
	CHECK_EQ(rt_token_make(&key, 42, 7, stores, 1, rt_now_ms() + 60000, &t,
		     &n),
	    0);
	CHECK_EQ(rt_token_check(&other, t, n, 42, 7, 1, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK(strstr(why, "bad MAC") != NULL);
	CHECK_EQ(rt_token_check(&key, t, n, 43, 7, 1, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK(strstr(why, "another photo") != NULL);
	CHECK_EQ(rt_token_check(&key, t, n, 42, 8, 1, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK_EQ(rt_token_check(&key, t, n, 42, 7, 1, rt_now_ms() + 120000, why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK(strstr(why, "expired") != NULL);
	t[n / 2] ^= 0x01; /* one flipped bit anywhere breaks it */
	CHECK_EQ(rt_token_check(&key, t, n, 42, 7, 1, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK_EQ(rt_token_check(&key, (const uint8_t *)"junk", 4, 42, 7, 1,
		     rt_now_ms(), why, sizeof(why)),
	    HS_PERMISSION_DENIED);
	CHECK_EQ(rt_token_check(&key, NULL, 0, 42, 7, 1, rt_now_ms(), why,
		     sizeof(why)),
	    HS_PERMISSION_DENIED);
	free(t);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "genuine token passes for each named store",
		    test_genuine_token_passes_for_each_named_store },
		{ "bad tokens are denied with a reason",
		    test_bad_tokens_are_denied_with_a_reason },
		{ NULL, NULL },
	};
	rt_key_from_string(&key, "token-test-key-0123456789");
	return check_run(cases, argc, argv);
}
