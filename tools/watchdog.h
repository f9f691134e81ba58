/* A whole-program bound for the benchmarks: each phase is armed with how
 * long it may take, and a phase that overruns ends the process with a
 * message naming it, so a benchmark finishes or fails, never hangs (nng
 * 1.5.2 can hang in close; a cluster can stop answering). */
#ifndef HS_TOOLS_WATCHDOG_H
#define HS_TOOLS_WATCHDOG_H

#include <stdint.h>

struct watchdog;

/* Starts the watching thread; prog names the program in the message. */
struct watchdog *watchdog_start(const char *prog);

/* Phase `what` starts now and must end within bound_ms (the next call to
 * watchdog_phase or watchdog_stop ends it). On overrun the process exits
 * with status 70 after saying which phase hung and for how long. */
void watchdog_phase(struct watchdog *w, const char *what, int64_t bound_ms);

/* Ends the last phase and the thread. */
void watchdog_stop(struct watchdog *w);

#endif
