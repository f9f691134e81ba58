/* Bounded hs_close (see hs_close.h). */
#include "hs_close.h"

#include "rpc.h"

static void
close_now(void *c)
{
	hs_close(c);
}

void
test_hs_close(hs_client *c)
{
	if (c != NULL)
		test_close_bounded(close_now, c, "hs_close");
}
