/* The bare nng echo ceiling (see echo_ceiling.c). */
#ifndef HS_ECHO_CEILING_H
#define HS_ECHO_CEILING_H

#include <stddef.h>
#include <stdint.h>

/* Echo calls/s over loopback TCP: 64-byte requests, `reply`-byte replies,
 * n_inflight calls in flight, measured for ms milliseconds. Returns within
 * ms plus about 25 s whatever nng does: -1 (after saying why on stderr) if
 * the sockets could not be opened or a close overran its bound. */
double echo_ceiling_bare(int n_inflight, size_t reply, int64_t ms);

#endif
