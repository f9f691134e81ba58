/* The harness behind check.h. */
#include "check.h"

int check_failures;

int64_t
check_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
check_run(const struct check_case *cases, int argc, char **argv)
{
	int run = 0, failed = 0;
	for (const struct check_case *c = cases; c->name != NULL; c++) {
		if (argc > 1 && strstr(c->name, argv[1]) == NULL)
			continue;
		int before = check_failures;
		int64_t t0 = check_mono_ms();
		c->fn();
		int ok = check_failures == before;
		printf("%s %s (%lld ms)\n", ok ? "PASS" : "FAIL", c->name,
		    (long long)(check_mono_ms() - t0));
		fflush(stdout);
		run++;
		failed += !ok;
	}
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed ? 1 : 0;
}

void
test_fill_bytes(void *buf, size_t len, uint64_t state)
{
	uint8_t *p = buf;
	uint64_t x = state;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

uint8_t *
test_bytes(size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len ? len : 1);
	if (b == NULL) {
		fprintf(stderr, "out of memory for %zu bytes of test data\n",
		    len);
		exit(1);
	}
	test_fill_bytes(b, len, seed * 0x9e3779b97f4a7c15ULL + 1);
	return b;
}
