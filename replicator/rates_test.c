/* Access rates: a steady stream reads as its rate per minute, a photo that
 * stops being read cools below the threshold, hot photos are found when
 * they cool, and the table stays within its cap by evicting cold photos. */
#include <math.h>

#include "check.h"
#include "rates.h"

static void
steady_stream_reads_as_its_rate(void)
{
	repl_rates *r = repl_rates_open(100, 10000);
	double rate = 0;
	/* 50 reads every second = 3000/min, for 20 half-lives. */
	for (int64_t t = 0; t <= 200000; t += 1000)
		rate = repl_rates_add(r, 42, 1, 50, t);
	CHECK(fabs(rate - 3000) < 3000 * 0.05);
	CHECK(fabs(repl_rates_get(r, 42, 200000) - rate) < 1e-9);
	CHECK_EQ(repl_rates_get(r, 43, 200000), 0);
	repl_rates_close(r);
}

static void
stopped_photo_cools_down(void)
{
	repl_rates *r = repl_rates_open(100, 1000);
	for (int64_t t = 0; t <= 10000; t += 100)
		repl_rates_add(r, 7, 1, 10, t); /* 6000/min */
	CHECK(repl_rates_get(r, 7, 10000) > 5000);
	CHECK(
	    repl_rates_get(r, 7, 11000) < 3300); /* one half-life: about half */
	CHECK(repl_rates_get(r, 7, 20000) < 10);
	repl_rates_close(r);
}

static void
hot_photos_are_listed_once_cool(void)
{
	repl_rates *r = repl_rates_open(100, 1000);
	repl_rates_add(r, 1, 11, 1000, 0);
	repl_rates_add(r, 2, 22, 1000, 0);
	repl_rates_set_hot(r, 1, 11, 1);
	struct repl_rate_photo out[4];
	CHECK_EQ(repl_rates_cooled(r, 100, 0, out, 4), 0);
	CHECK_EQ(repl_rates_cooled(r, 100, 60000, out, 4), 1);
	CHECK_EQ(out[0].key, 1);
	CHECK_EQ(out[0].cookie, 11);
	repl_rates_set_hot(r, 1, 11, 0);
	CHECK_EQ(repl_rates_cooled(r, 100, 60000, out, 4), 0);
	repl_rates_close(r);
}

static void
table_is_bounded_and_evicts_cold_photos(void)
{
	repl_rates *r = repl_rates_open(1000, 1000);
	repl_rates_add(r, 999999, 1, 100000, 100000);
	repl_rates_set_hot(r, 999999, 1, 1);
	for (uint64_t k = 1; k <= 5000; k++)
		repl_rates_add(r, k, 1, 1, (int64_t)k);
	size_t count;
	uint64_t evicted;
	repl_rates_size(r, &count, &evicted);
	CHECK(count <= 1000);
	CHECK(evicted > 0);
	CHECK(repl_rates_get(r, 999999, 100000) > 1000); /* hot kept */
	CHECK(repl_rates_get(r, 5000, 5000) > 0);	 /* newest kept */
	repl_rates_close(r);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "steady stream reads as its rate",
		    steady_stream_reads_as_its_rate },
		{ "stopped photo cools down", stopped_photo_cools_down },
		{ "hot photos are listed once cool",
		    hot_photos_are_listed_once_cool },
		{ "table is bounded and evicts cold photos",
		    table_is_bounded_and_evicts_cold_photos },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
