/* CatchUp on the reader thread (see catchup.h). One thread, one Redis
 * link: CatchUp is for repair and tools, not a hot path. */
#include "catchup.h"

#include <stdlib.h>

#include "changelog.h"
#include "log.h"
#include "redis.h"

struct job {
	struct dir *d;
	rpc_call *call;
	const Hs__CatchUpRequest *req;
};

int
dir_catchup_open(struct dir *d)
{
	return dir_lane_open(d, &d->reader, "dir-reader", "catch-up reader");
}

void
dir_catchup_close(struct dir *d)
{
	dir_lane_close(&d->reader);
}

static void
run(void *arg)
{
	struct job *j = arg;
	rt_redis *link = j->d->reader.link;
	Hs__PhotoRecord **recs;
	size_t n;
	int trimmed;
	uint64_t head = 0;
	char err[256];
	size_t max = j->req->max ? j->req->max : 1000;
	if (dir_log_read(link, j->req->from_seq, max, &recs, &n, &trimmed, err,
		sizeof(err)) != 0 ||
	    dir_log_head(link, &head, err, sizeof(err)) != 0) {
		rpc_fail(j->call, HS_UNAVAILABLE,
		    "cannot read the change log: "
		    "%s",
		    err);
		free(j);
		return;
	}
	Hs__CatchUpReply r = HS__CATCH_UP_REPLY__INIT;
	r.changes = recs;
	r.n_changes = n;
	r.head_seq = head;
	r.too_far_behind = trimmed && n == 0;
	rpc_reply(j->call, &r.base);
	dir_log_free(recs, n);
	free(j);
}

void
dir_catchup_queue(struct dir *d, rpc_call *call, const Hs__CatchUpRequest *req)
{
	struct job *j = malloc(sizeof(*j));
	if (j == NULL) {
		rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*j = (struct job){ .d = d, .call = call, .req = req };
	if (rt_workq_push(d->reader.q, run, j) != 0) {
		free(j);
		rpc_fail(call, HS_UNAVAILABLE, "directory is shutting down");
	}
}
