/* The write-group table on its own: a group is found by its set of stores
 * in any order, a store's groups of one size are counted (and copied up
 * to a bound), a group is replaced by its id, and a full table refuses a
 * new group. */
#include "check.h"
#include "groups.h"

static struct dir_group
group(uint32_t id, uint32_t a, uint32_t b, uint32_t c)
{
	struct dir_group e = { .id = id, .n = 3, .stores = { a, b, c } };
	return e;
}

static void
found_by_set_in_any_order(void)
{
	dir_groups *g;
	CHECK(dir_groups_open(&g) == 0);
	struct dir_group e = group(7, 1, 2, 3), got;
	CHECK_EQ(dir_groups_put(g, &e), 0);
	uint32_t same[] = { 3, 1, 2 }, other[] = { 1, 2, 4 };
	CHECK_EQ(dir_groups_find(g, same, 3), 7);
	CHECK_EQ(dir_groups_find(g, other, 3), 0);
	CHECK_EQ(dir_groups_find(g, same, 2), 0);
	e = group(7, 4, 5, 6);
	CHECK_EQ(dir_groups_put(g, &e), 0); /* replaced, not added */
	CHECK_EQ(dir_groups_get(g, 7, &got), 0);
	CHECK_EQ(got.stores[0], 4);
	CHECK_EQ(dir_groups_get(g, 8, &got), -1);
	dir_groups_close(g);
}

static void
holding_counts_and_copies(void)
{
	dir_groups *g;
	CHECK(dir_groups_open(&g) == 0);
	for (uint32_t i = 1; i <= 5; i++) {
		struct dir_group e = group(i, 1, i + 1, i + 10);
		CHECK_EQ(dir_groups_put(g, &e), 0);
	}
	struct dir_group pair = { .id = 6, .n = 2, .stores = { 1, 2 } };
	CHECK_EQ(dir_groups_put(g, &pair), 0);
	struct dir_group out[2];
	CHECK_EQ(dir_groups_holding(g, 1, 3, out, 2), 5);
	CHECK_EQ(out[0].id, 1);
	CHECK_EQ(out[1].id, 2);
	CHECK_EQ(dir_groups_holding(g, 1, 2, out, 2), 1);
	CHECK_EQ(dir_groups_holding(g, 3, 3, out, 2), 1);
	CHECK_EQ(dir_groups_holding(g, 99, 3, out, 2), 0);
	dir_groups_close(g);
}

static void
full_table_refuses(void)
{
	dir_groups *g;
	CHECK(dir_groups_open(&g) == 0);
	for (uint32_t i = 1; i <= DIR_MAX_GROUPS; i++) {
		struct dir_group e = group(i, i, i + 1, i + 2);
		CHECK_EQ(dir_groups_put(g, &e), 0);
	}
	struct dir_group e = group(DIR_MAX_GROUPS + 1, 1, 2, 3);
	CHECK_EQ(dir_groups_put(g, &e), -1);
	e = group(1, 9, 8, 7);
	CHECK_EQ(dir_groups_put(g, &e), 0); /* a known id still updates */
	dir_groups_close(g);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "found by set in any order", found_by_set_in_any_order },
		{ "holding counts and copies", holding_counts_and_copies },
		{ "full table refuses", full_table_refuses },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
