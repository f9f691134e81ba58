/* The status codes every haystack-c call returns, numbered as hs.Code in
 * common.proto (gRPC's numbers), with one string table beside them. */
#ifndef HS_RPC_STATUS_H
#define HS_RPC_STATUS_H

typedef enum hs_status {
	HS_OK = 0,
	HS_CANCELLED = 1,
	HS_UNKNOWN = 2,
	HS_INVALID_ARGUMENT = 3,
	HS_DEADLINE_EXCEEDED = 4,
	HS_NOT_FOUND = 5,
	HS_ALREADY_EXISTS = 6,
	HS_PERMISSION_DENIED = 7,
	HS_RESOURCE_EXHAUSTED = 8,
	HS_FAILED_PRECONDITION = 9,
	HS_ABORTED = 10,
	HS_OUT_OF_RANGE = 11,
	HS_UNIMPLEMENTED = 12,
	HS_INTERNAL = 13,
	HS_UNAVAILABLE = 14,
	HS_DATA_LOSS = 15,
	HS_UNAUTHENTICATED = 16,
} hs_status;

#define HS_STATUS_MAX HS_UNAUTHENTICATED

/* "NOT_FOUND" etc.; "UNKNOWN" for a value outside the enum. Static string. */
const char *hs_status_str(int code);

/* Maps an nng error (NNG_ETIMEDOUT, NNG_ECLOSED, ...) to the status a caller
 * should see. */
hs_status rpc_status_from_nng(int nng_err);

#endif
