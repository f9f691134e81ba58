/* The one Redis address grammar: every process takes the same HS_REDIS,
 * "host:port", "unix:/path" or "sentinel:host:port,.../name", and refuses
 * anything else with a message that says what an address looks like. */
#include "check.h"
#include "redis.h"

static void
test_good_addresses_are_taken(void)
{
	static const char *good[] = { "127.0.0.1:6379", "localhost:1",
		"redis.example:65535", "unix:/tmp/redis.sock",
		"sentinel:127.0.0.1:26379/meta",
		"sentinel:a:1,b.example:26380,10.0.0.3:26381/hs-meta_1" };
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_MSG(rt_redis_check_addr(good[i], err, sizeof(err)) == 0,
		    "%s: %s", good[i], err);
}

static void
test_bad_addresses_say_what_to_use(void)
{
	static const char *bad[] = { "", "localhost", ":6379", "host:0",
		"host:65536", "host:12ab", "host:", "unix:" };
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(rt_redis_check_addr(bad[i], err, sizeof(err)) != 0,
		    "'%s' was taken", bad[i]);
		CHECK_MSG(strstr(err, "HOST:PORT, unix:/PATH or sentinel:") !=
			NULL,
		    "'%s': %s", bad[i], err);
	}
}

static void
test_bad_sentinel_addresses_say_what_to_use(void)
{
	static const char *bad[] = { "sentinel:", "sentinel:a:1",
		"sentinel:a:1/", "sentinel:/meta", "sentinel:a/meta",
		"sentinel:a:1,,/meta", "sentinel:unix:/x/meta",
		"sentinel:a:1/me ta",
		"sentinel:a:1,a:2,a:3,a:4,a:5,a:6,a:7,"
		"a:8,a:9/meta" };
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(rt_redis_check_addr(bad[i], err, sizeof(err)) != 0,
		    "'%s' was taken", bad[i]);
		CHECK_MSG(strstr(err,
			      "sentinel:HOST:PORT,HOST:PORT,.../NAME") != NULL,
		    "'%s': %s", bad[i], err);
	}
}

static void
test_unreachable_sentinels_name_the_address(void)
{
	char err[256];
	struct rt_redis_ep ep = { .addr = "sentinel:127.0.0.1:1/meta" };
	redisContext *c = rt_redis_connect(&ep, 200, err, sizeof(err));
	CHECK(c == NULL);
	CHECK_MSG(strncmp(err, "cannot connect", 14) == 0 &&
		strstr(err, "sentinel:127.0.0.1:1/meta") != NULL,
	    "%s", err);
}

static void
test_unreachable_redis_names_the_address(void)
{
	char err[256];
	struct rt_redis_ep ep = { .addr = "unix:/nonexistent/redis.sock" };
	redisContext *c = rt_redis_connect(&ep, 200, err, sizeof(err));
	CHECK(c == NULL);
	CHECK_MSG(strstr(err, "unix:/nonexistent/redis.sock") != NULL, "%s",
	    err);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "good addresses are taken", test_good_addresses_are_taken },
		{ "bad addresses say what to use",
		    test_bad_addresses_say_what_to_use },
		{ "bad sentinel addresses say what to use",
		    test_bad_sentinel_addresses_say_what_to_use },
		{ "unreachable sentinels name the address",
		    test_unreachable_sentinels_name_the_address },
		{ "unreachable Redis names the address",
		    test_unreachable_redis_names_the_address },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
