/* The task queue: priority order, one task per photo (a new one upgrades),
 * retries held back by backoff, the cap dropping the lowest priority, and
 * news arriving while a photo is in flight running it once more. */
#include "check.h"
#include "queue.h"

static struct repl_task
task(uint64_t key, int prio)
{
	struct repl_task t = { .key = key, .cookie = 7, .prio = prio };
	return t;
}

static void
pops_highest_priority_first(void)
{
	repl_queue *q = repl_queue_open(100);
	struct repl_task t = task(1, REPL_LOW), out[4];
	repl_queue_push(q, &t);
	t = task(2, REPL_NORMAL);
	repl_queue_push(q, &t);
	t = task(3, REPL_URGENT);
	repl_queue_push(q, &t);
	t = task(4, REPL_HIGH);
	repl_queue_push(q, &t);
	size_t n = repl_queue_pop(q, out, 4, 0, 0);
	CHECK_EQ(n, 4);
	CHECK_EQ(out[0].key, 3);
	CHECK_EQ(out[1].key, 4);
	CHECK_EQ(out[2].key, 2);
	CHECK_EQ(out[3].key, 1);
	for (size_t i = 0; i < n; i++)
		repl_queue_finish(q, &out[i], 1, 0, 10, 3);
	struct repl_queue_stats s;
	repl_queue_stats(q, &s);
	CHECK_EQ(s.done, 4);
	CHECK_EQ(s.in_flight, 0);
	repl_queue_close(q);
}

static void
duplicate_upgrades_and_merges_bad_stores(void)
{
	repl_queue *q = repl_queue_open(100);
	struct repl_task t = task(9, REPL_LOW), out[4];
	t.bad[t.nbad++] = 3;
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_NEW);
	t = task(9, REPL_URGENT);
	t.bad[t.nbad++] = 5;
	t.bad[t.nbad++] = 3;
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_MERGED);
	t = task(9, REPL_NORMAL); /* a lower one changes nothing */
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_MERGED);
	struct repl_queue_stats s;
	repl_queue_stats(q, &s);
	CHECK_EQ(s.depth[REPL_URGENT], 1);
	CHECK_EQ(s.depth[REPL_LOW], 0);
	CHECK_EQ(s.upgraded, 1);
	CHECK_EQ(repl_queue_pop(q, out, 4, 0, 0), 1);
	CHECK_EQ(out[0].prio, REPL_URGENT);
	CHECK_EQ(out[0].nbad, 2);
	repl_queue_finish(q, &out[0], 1, 0, 10, 3);
	repl_queue_close(q);
}

static void
failure_retries_with_exponential_backoff(void)
{
	repl_queue *q = repl_queue_open(100);
	struct repl_task t = task(1, REPL_HIGH), out[1];
	repl_queue_push(q, &t);
	CHECK_EQ(repl_queue_pop(q, out, 1, 1000, 0), 1);
	CHECK_EQ(repl_queue_finish(q, &out[0], 0, 1000, 100, 3), 1);
	CHECK_EQ(repl_queue_pop(q, out, 1, 1099, 0), 0); /* backing off */
	CHECK_EQ(repl_queue_pop(q, out, 1, 1100, 0), 1);
	CHECK_EQ(out[0].attempt, 1);
	CHECK_EQ(repl_queue_finish(q, &out[0], 0, 2000, 100, 3), 1);
	CHECK_EQ(repl_queue_pop(q, out, 1, 2199, 0), 0); /* 100 << 1 */
	CHECK_EQ(repl_queue_pop(q, out, 1, 2200, 0), 1);
	CHECK_EQ(repl_queue_finish(q, &out[0], 0, 3000, 100, 3), 0);
	struct repl_queue_stats s;
	repl_queue_stats(q, &s);
	CHECK_EQ(s.failed, 1);
	CHECK_EQ(s.depth[REPL_HIGH], 0);
	repl_queue_close(q);
}

static void
backoff_does_not_block_ready_work(void)
{
	repl_queue *q = repl_queue_open(100);
	struct repl_task t = task(1, REPL_URGENT), out[2];
	repl_queue_push(q, &t);
	CHECK_EQ(repl_queue_pop(q, out, 1, 0, 0), 1);
	repl_queue_finish(q, &out[0], 0, 0, 1000, 5);
	t = task(2, REPL_URGENT);
	repl_queue_push(q, &t);
	CHECK_EQ(repl_queue_pop(q, out, 2, 10, 0), 1);
	CHECK_EQ(out[0].key, 2);
	repl_queue_finish(q, &out[0], 1, 10, 1000, 5);
	repl_queue_close(q);
}

static void
full_queue_drops_lowest_priority_and_counts(void)
{
	repl_queue *q = repl_queue_open(3);
	struct repl_task t;
	for (uint64_t k = 1; k <= 3; k++) {
		t = task(k, REPL_LOW);
		CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_NEW);
	}
	t = task(10, REPL_LOW); /* same rank: the newcomer goes */
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_DROPPED);
	t = task(11, REPL_URGENT); /* outranks: a LOW one goes */
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_NEW);
	struct repl_queue_stats s;
	repl_queue_stats(q, &s);
	CHECK_EQ(s.dropped, 2);
	CHECK_EQ(s.depth[REPL_LOW], 2);
	CHECK_EQ(s.depth[REPL_URGENT], 1);
	repl_queue_close(q);
}

static void
news_during_a_run_runs_it_again(void)
{
	repl_queue *q = repl_queue_open(10);
	struct repl_task t = task(5, REPL_LOW), out[1];
	repl_queue_push(q, &t);
	CHECK_EQ(repl_queue_pop(q, out, 1, 0, 0), 1);
	t = task(5, REPL_HIGH);
	t.bad[t.nbad++] = 2;
	CHECK_EQ(repl_queue_push(q, &t), REPL_PUSH_MERGED);
	CHECK_EQ(repl_queue_pop(q, out + 0, 1, 0, 0), 0); /* still one task */
	struct repl_task first = { .key = 5, .prio = REPL_LOW };
	CHECK_EQ(repl_queue_finish(q, &first, 1, 0, 10, 3), 1);
	CHECK_EQ(repl_queue_pop(q, out, 1, 0, 0), 1);
	CHECK_EQ(out[0].prio, REPL_HIGH);
	CHECK_EQ(out[0].nbad, 1);
	repl_queue_finish(q, &out[0], 1, 0, 10, 3);
	repl_queue_clear(q);
	repl_queue_close(q);
}

static void
many_tasks_stay_unique(void)
{
	repl_queue *q = repl_queue_open(100000);
	for (int round = 0; round < 2; round++)
		for (uint64_t k = 1; k <= 20000; k++) {
			struct repl_task t = task(k, (int)(k % 4));
			repl_queue_push(q, &t);
		}
	struct repl_queue_stats s;
	repl_queue_stats(q, &s);
	CHECK_EQ(s.depth[0] + s.depth[1] + s.depth[2] + s.depth[3], 20000);
	repl_queue_clear(q);
	repl_queue_stats(q, &s);
	CHECK_EQ(s.depth[0] + s.depth[1] + s.depth[2] + s.depth[3], 0);
	repl_queue_close(q);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "pops highest priority first", pops_highest_priority_first },
		{ "duplicate upgrades and merges bad stores",
		    duplicate_upgrades_and_merges_bad_stores },
		{ "failure retries with exponential backoff",
		    failure_retries_with_exponential_backoff },
		{ "backoff does not block ready work",
		    backoff_does_not_block_ready_work },
		{ "full queue drops lowest priority and counts",
		    full_queue_drops_lowest_priority_and_counts },
		{ "news during a run runs it again",
		    news_during_a_run_runs_it_again },
		{ "many tasks stay unique", many_tasks_stay_unique },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
