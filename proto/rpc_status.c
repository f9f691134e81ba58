/* String table for hs_status and the mapping from nng's errors. */
#include "rpc_status.h"

#include <nng/nng.h>

static const char *const status_names[] = {
	[HS_OK] = "OK",
	[HS_CANCELLED] = "CANCELLED",
	[HS_UNKNOWN] = "UNKNOWN",
	[HS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
	[HS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
	[HS_NOT_FOUND] = "NOT_FOUND",
	[HS_ALREADY_EXISTS] = "ALREADY_EXISTS",
	[HS_PERMISSION_DENIED] = "PERMISSION_DENIED",
	[HS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
	[HS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[HS_ABORTED] = "ABORTED",
	[HS_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[HS_UNIMPLEMENTED] = "UNIMPLEMENTED",
	[HS_INTERNAL] = "INTERNAL",
	[HS_UNAVAILABLE] = "UNAVAILABLE",
	[HS_DATA_LOSS] = "DATA_LOSS",
	[HS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *
hs_status_str(int code)
{
	if (code < 0 || code > HS_STATUS_MAX)
		return "UNKNOWN";
	return status_names[code];
}

hs_status
rpc_status_from_nng(int nng_err)
{
	switch (nng_err) {
	case 0:
		return HS_OK;
	case NNG_ETIMEDOUT:
		return HS_DEADLINE_EXCEEDED;
	case NNG_ECANCELED:
		return HS_CANCELLED;
	case NNG_ECLOSED:
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_EADDRINVAL:
	case NNG_EUNREACHABLE:
	case NNG_ESTATE:
		return HS_UNAVAILABLE;
	case NNG_EMSGSIZE:
	case NNG_EINVAL:
		return HS_INVALID_ARGUMENT;
	case NNG_ENOMEM:
		return HS_RESOURCE_EXHAUSTED;
	case NNG_ENOTSUP:
		return HS_UNIMPLEMENTED;
	default:
		return HS_INTERNAL;
	}
}
