/* What the fuzz targets and their seed maker (fuzz/seeds.c) agree on, so a
 * seed frame is one the target's server would admit as it stands. */
#ifndef HS_FUZZ_H
#define HS_FUZZ_H

#include "directory.pb-c.h"
#include "echo.pb-c.h"
#include "replicator.pb-c.h"
#include "store.pb-c.h"

/* The RPC server's clock in rpc_dispatch_fuzz.c, and the seeds' time. */
#define FUZZ_NOW_MS 1800000000000LL
/* The key the fuzzed server checks MACs under (never a cluster's). */
#define FUZZ_KEY "the fuzzer's key, not a cluster's"

/* Every service a server of the tree serves. */
static const ProtobufCServiceDescriptor *const fuzz_services[] = {
	&hs__store__descriptor,
	&hs__directory__descriptor,
	&hs__replicator__descriptor,
	&hs__echo__descriptor,
};
#define FUZZ_NSERVICES (sizeof(fuzz_services) / sizeof(fuzz_services[0]))

#endif
