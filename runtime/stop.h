/* An orderly stop on SIGINT or SIGTERM, the same in every process: the two
 * signals are blocked in every thread and taken by one thread that waits
 * for them, so there is no handler and no flag in a static. */
#ifndef RT_STOP_H
#define RT_STOP_H

#include <stdint.h>

/* Blocks SIGINT and SIGTERM in the calling thread; call it before any
 * thread starts so that every thread inherits the mask. Also ignores
 * SIGPIPE: a peer that hangs up is an error return, not our death. */
void rt_stop_block(void);

/* Waits up to timeout_ms (< 0: for ever) for SIGINT or SIGTERM. Returns
 * the signal, or 0 when the time passed first. */
int rt_stop_wait(int64_t timeout_ms);

#endif
