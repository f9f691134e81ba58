/* Test seams of the engine that are not part of the service API. Only
 * unit tests and benchmarks include this. */
#ifndef STORE_ENGINE_TESTING_H
#define STORE_ENGINE_TESTING_H

/* Called by compaction after the new file is written and fsynced and just
 * before the swap, with no engine lock held: a test can run deletes, puts
 * and reads in the window where they race the swap. NULL disarms.
 * Process-global. */
void store_engine_testing_compact_hook(void (*fn)(void *arg), void *arg);

#endif
