/* Inside the commit path (writer.h): the steps every commit job shares.
 * writer.c runs the queue (d->writer) and the shared steps;
 * commit_register.c, commit_change.c and takeover.c are the jobs. All of
 * it runs on the writer thread, which alone uses d->writer.link and
 * d->writer_dirty, so none of it locks. */
#ifndef DIR_WRITER_IMPL_H
#define DIR_WRITER_IMPL_H

#include "writer.h"

struct dir_job;
typedef void (*dir_job_fn)(struct dir_job *j);

/* One queued write. Ownership: the job borrows call's request until it
 * answers the call; the job itself is freed by dir_writer_run. */
struct dir_job {
	struct dir *d;
	rpc_call *call; /* NULL for takeover */
	const ProtobufCMessage *req;
	dir_job_fn fn;
};

/* Queues fn; on a failure call (if any) is answered here. */
void dir_writer_push(struct dir *d, rpc_call *call, const ProtobufCMessage *req,
    dir_job_fn fn);

/* The queue's job function (a struct dir_job *), for rt_workq_take_more. */
void dir_writer_run(void *arg);

/* Catches memory up with Redis if a previous commit left it unsure. 0, or
 * -1 with err. */
int dir_writer_ensure_synced(struct dir *d, char *err, size_t errlen);

/* Leadership for this job (lease copied out), or the call answered
 * (forwarded) and 0. */
int dir_writer_lead_or_forward(struct dir_job *j, char *lease, size_t leaselen);

/* Applies a record this thread just committed at seq, publishes it under
 * topic and wakes parked lookups. */
void dir_writer_applied(struct dir *d, Hs__PhotoRecord *rec, uint64_t seq,
    const char *topic);

/* Answers j's call if its script run failed (rep NULL: err says why;
 * FENCED: step down); returns 1 then, 0 if rep is a good {how, seq}. */
int dir_writer_script_failed(struct dir_job *j, redisReply *rep,
    const char *err);

/* As dir_writer_script_failed, for a commit that answers no call of its
 * own (one photo of a batch): 1 with *code and msg when it failed. */
int dir_writer_script_check(struct dir *d, redisReply *rep, const char *err,
    hs_status *code, char *msg, size_t len);

/* Applies q's add, remove and target to v's record (commit_change.c);
 * 1 if it changed, 0 if not (a resend), -1 if too many replicas. */
int dir_edit_locations(struct dir_rec_view *v,
    const Hs__UpdateLocationsRequest *q);

/* The Redis key "hs:photo:<16 hex>" of a photo key. */
void dir_photo_key(uint64_t key, char out[32]);

/* Starts args afresh with the keys the update and restore scripts both
 * begin with (scripts.c): leader, seq, the photo's key (written into
 * pkey, which must outlive args), log, tombstones. */
void dir_photo_script_keys(struct rt_redis_args *args, uint64_t key,
    char pkey[32]);

#endif
