/* What the Store service's handlers share (see rpc_util.h). */
#include "rpc_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

hs_status
store_status_from_engine(int err, char *msg, size_t msglen)
{
	hs_status st;
	switch (err) {
	case 0:
		st = HS_OK;
		break;
	case STORE_E_NOT_FOUND:
		st = HS_NOT_FOUND;
		break;
	case STORE_E_DATA_LOSS:
		st = HS_DATA_LOSS;
		break;
	case STORE_E_EXISTS:
		st = HS_ALREADY_EXISTS;
		break;
	case STORE_E_DELETED:
		st = HS_FAILED_PRECONDITION;
		break;
	case STORE_E_READONLY:
		st = HS_UNAVAILABLE;
		break;
	case STORE_E_TOO_BIG:
	case STORE_E_INVALID:
		st = HS_INVALID_ARGUMENT;
		break;
	default:
		st = err == -ENOSPC ? HS_RESOURCE_EXHAUSTED : HS_INTERNAL;
	}
	snprintf(msg, msglen, "%s", store_strerror(err));
	return st;
}

void
store_queue_or_fail(struct store_service *svc, rt_workq *q, rpc_call *call,
    const ProtobufCMessage *req, rt_job_fn fn)
{
	struct call_job *j = malloc(sizeof(*j));
	if (j == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*j = (struct call_job){ .svc = svc, .call = call, .req = req };
	if (rt_workq_push(q, fn, j) != 0) {
		free(j);
		rpc_fail(call, HS_UNAVAILABLE, "%s is shutting down",
		    svc->name);
	}
}

int
store_check_photo_id(rpc_call *call, const Hs__PhotoId *id)
{
	if (id == NULL || id->key == 0) {
		rpc_fail(call, HS_INVALID_ARGUMENT, "missing photo id");
		return -1;
	}
	return 0;
}

/* The replicator's fence: a Replicate or Delete from a replicator whose
 * epoch is below the highest seen is refused, so one that was paused
 * mid-batch and lost its lease cannot act on a stale plan beside its
 * successor. Kept in memory: after a restart the first call sets it again,
 * and the directories fence the commits as well. 0 = not from the
 * replicator (a store's forward, the directory's tombstones). */
int
store_check_repl_epoch(struct store_service *svc, rpc_call *call,
    uint64_t epoch)
{
	uint64_t seen = atomic_load(&svc->repl_epoch);
	while (epoch > seen &&
	    !atomic_compare_exchange_weak(&svc->repl_epoch, &seen, epoch))
		;
	if (epoch == 0 || epoch >= seen)
		return 0;
	rpc_fail(call, HS_FAILED_PRECONDITION,
	    "stale replicator epoch %llu: epoch %llu has taken over; this "
	    "replicator lost its lease and must stop acting",
	    (unsigned long long)epoch, (unsigned long long)seen);
	return -1;
}
