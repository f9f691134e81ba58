/* libhs clients in tests, closed with a bound like every other holder of
 * nng sockets (see testing/rpc.h). */
#ifndef HS_TEST_HS_CLOSE_H
#define HS_TEST_HS_CLOSE_H

#include "hs.h"

/* hs_close, given 10 s; past that the client is left behind. */
void test_hs_close(hs_client *c);

#endif
