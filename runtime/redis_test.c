/* The one Redis address grammar: every process takes the same HS_REDIS,
 * "host:port" or "unix:/path", and refuses anything else with a message
 * that says what an address looks like. */
#include "check.h"
#include "redis.h"

static void
test_good_addresses_are_taken(void)
{
	static const char *good[] = { "127.0.0.1:6379", "localhost:1",
		"redis.example:65535", "unix:/tmp/redis.sock" };
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
		CHECK_MSG(strstr(err, "HOST:PORT or unix:/PATH") != NULL,
		    "'%s': %s", bad[i], err);
	}
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
		{ "unreachable Redis names the address",
		    test_unreachable_redis_names_the_address },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
