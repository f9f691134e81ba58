/* How the soak's final check judges one read path of a deleted photo
 * (chaos_impl.h): shared by the RPC paths (chaos_check.c) and the web
 * paths (chaos_web.c). */
#include <stdio.h>

#include "chaos_impl.h"

void
chaos_deleted_path(struct chaos_tally *t, int verbose, const char *hex,
    const char *path, int r, const char *why)
{
	if (r == CHAOS_R_NOT_FOUND)
		return;
	if (r == CHAOS_R_GOOD || r == CHAOS_R_WRONG)
		t->resurrected++;
	else
		t->odd++;
	if (verbose && t->resurrected + t->odd <= 50)
		printf("chaos: deleted %s %s at %s %s\n", hex,
		    r == CHAOS_R_ERROR ? "answers an error" : "RESURRECTED",
		    path, why);
}
