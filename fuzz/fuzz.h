/* What the fuzz targets and their seed maker (fuzz/seeds.c) agree on, so a
 * seed frame is one the target's server would admit as it stands. */
#ifndef HS_FUZZ_H
#define HS_FUZZ_H

#include "directory.pb-c.h"
#include "echo.pb-c.h"
#include "ident.h"
#include "replicator.pb-c.h"
#include "store.pb-c.h"

/* The RPC server's clock in rpc_dispatch_fuzz.c, and the seeds' time. */
#define FUZZ_NOW_MS 1800000000000LL

/* The fixed principals of fuzz_ident.c's roster: the RPC server and the
 * event subscriber are the directory (whose role every method admits, and
 * which consumes every server's feed); the events' seeds are sealed by the
 * directory, the replicator and a store, each for the bodies its role may
 * publish; the backup's client is an admin. Fixed, not fresh, so the seeds
 * fuzz/seeds.c signs and seals authenticate in the targets. */
#define FUZZ_REPLICATOR "replicator"
#define FUZZ_ADMIN "admin"
#define FUZZ_STORE "store-1"

/* Every service a server of the tree serves. */
static const ProtobufCServiceDescriptor *const fuzz_services[] = {
	&hs__store__descriptor,
	&hs__directory__descriptor,
	&hs__replicator__descriptor,
	&hs__echo__descriptor,
};
#define FUZZ_NSERVICES (sizeof(fuzz_services) / sizeof(fuzz_services[0]))

/* The identity of name (one of the principals above), with the fixed
 * roster; aborts when it cannot be made. */
rt_ident *fuzz_ident(const char *name);

/* Writes dir/NAME.key (mode 0600) and dir/roster for name, as
 * rt_ident_load reads them; aborts on failure. */
void fuzz_ident_files(const char *dir, const char *name);

#endif
