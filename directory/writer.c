/* The commit path's queue and the steps its jobs share (see writer.h and
 * writer_impl.h). Every job re-checks leadership when it runs: the check
 * at the handler may be stale by then. A commit whose Redis answer was
 * lost may or may not have happened; the writer then marks itself dirty
 * and catches up from the log before the next commit, and the caller
 * resends (every write is idempotent). */
#include "writer_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog.h"
#include "dir_forward.h"
#include "log.h"
#include "redis_keys.h"
#include "waiters.h"

int
dir_writer_open(struct dir *d)
{
	return dir_lane_open(d, &d->writer, "dir-writer", "writer");
}

void
dir_writer_close(struct dir *d)
{
	dir_lane_close(&d->writer);
}

void
dir_writer_run(void *arg)
{
	struct dir_job *j = arg;
	j->fn(j);
	free(j);
}

void
dir_writer_push(struct dir *d, rpc_call *call, const ProtobufCMessage *req,
    dir_job_fn fn)
{
	struct dir_job *j = malloc(sizeof(*j));
	if (j == NULL) {
		if (call != NULL)
			rpc_fail(call, HS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*j = (struct dir_job){ .d = d, .call = call, .req = req, .fn = fn };
	if (rt_workq_push(d->writer.q, dir_writer_run, j) != 0) {
		if (call != NULL)
			rpc_fail(call, HS_UNAVAILABLE,
			    "directory is shutting "
			    "down; retry at another");
		free(j);
	}
}

int
dir_writer_ensure_synced(struct dir *d, char *err, size_t errlen)
{
	if (!d->writer_dirty)
		return 0;
	if (dir_log_sync(d->writer.link, d->recs, NULL, err, errlen) != 0)
		return -1;
	d->writer_dirty = 0;
	return 0;
}

int
dir_writer_lead_or_forward(struct dir_job *j, char *lease, size_t leaselen)
{
	if (dir_is_leader(j->d, lease, leaselen, NULL))
		return 1;
	dir_forward(j->d, j->call, j->req);
	return 0;
}

void
dir_writer_applied(struct dir *d, Hs__PhotoRecord *rec, uint64_t seq,
    const char *topic)
{
	rec->seq = seq;
	dir_records_apply(d->recs, rec);
	if (dir_records_applied(d->recs) + 1 == seq) {
		dir_records_set_applied(d->recs, seq);
	} else {
		/* Someone else's commit in between: impossible while the
		 * lease holds, so re-read the log rather than trust memory. */
		char err[256];
		d->writer_dirty = 1;
		if (dir_writer_ensure_synced(d, err, sizeof(err)) != 0)
			rt_log_warn("writer: catch-up after seq %" PRIu64
				    ": %s",
			    seq, err);
	}
	Hs__Event ev = HS__EVENT__INIT;
	ev.topic = (char *)topic;
	ev.body_case = HS__EVENT__BODY_PHOTO;
	ev.photo = rec;
	dir_publish(d, &ev);
	dir_waiters_poll(d);
}

int
dir_writer_script_check(struct dir *d, redisReply *rep, const char *err,
    hs_status *code, char *msg, size_t len)
{
	*code = rep == NULL ? HS_UNAVAILABLE : HS_INTERNAL;
	if (rep == NULL) {
		d->writer_dirty = 1;
		snprintf(msg, len,
		    "commit outcome unknown (%s); resend: the write "
		    "is idempotent",
		    err);
	} else if (rep->type == REDIS_REPLY_ERROR &&
	    strstr(rep->str, "FENCED") != NULL) {
		dir_step_down(d,
		    "a commit was fenced: another directory holds "
		    "the lease");
		*code = HS_UNAVAILABLE;
		snprintf(msg, len,
		    "%s lost the lead while committing; nothing was "
		    "written; retry",
		    d->cfg.id);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		d->writer_dirty = 1;
		snprintf(msg, len, "commit script failed: %s", rep->str);
	} else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		d->writer_dirty = 1;
		snprintf(msg, len, "commit script: odd reply");
	} else {
		return 0;
	}
	return 1;
}

int
dir_writer_script_failed(struct dir_job *j, redisReply *rep, const char *err)
{
	hs_status code;
	char msg[512];
	if (!dir_writer_script_check(j->d, rep, err, &code, msg, sizeof(msg)))
		return 0;
	rpc_fail(j->call, code, "%s", msg);
	return 1;
}

void
dir_photo_key(uint64_t key, char out[32])
{
	snprintf(out, 32, RK_PHOTO_PREFIX "%016" PRIx64, key);
}

void
dir_photo_script_keys(struct rt_redis_args *args, uint64_t key, char pkey[32])
{
	args->argc = 0;
	dir_photo_key(key, pkey);
	rt_redis_argz(args, RK_LEADER);
	rt_redis_argz(args, RK_SEQ);
	rt_redis_argz(args, pkey);
	rt_redis_argz(args, RK_LOG);
	rt_redis_argz(args, RK_TOMBSTONES);
}
