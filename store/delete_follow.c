/* Following the leader's deletes (see delete_follow.h).
 *
 * Why the lease runs from the heartbeat's SEND time: the leader measures
 * the same lease from when it answered, which is later, so the store's
 * lease always runs out first; the leader, waiting out lease + a margin
 * for a store that did not confirm a delete, knows the store stopped
 * serving reads by hint before the delete is acknowledged. Why the seq is
 * kept durably: after a restart the store must not serve by hint before it
 * has caught up, and knowing where it stopped saves a full re-check. */
#include "delete_follow.h"

#include "gone_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "directory.pb-c.h"
#include "log.h"

#define SEQ_FILE "delete-seq"
#define PAGE 1000 /* change-log entries or needles per call */
#define CALL_MS 10000

struct delete_follow {
	struct store_service *svc;
	char path[4096], tmp[4200];
	int64_t lease_ms;
	/* The send time of the newest answered heartbeat whose seq is
	 * applied here: reads by hint are served for a lease from it. */
	_Atomic int64_t ok_sent;
	_Atomic uint64_t leader_seq; /* the highest seq an answer named */
	_Atomic uint64_t applied;    /* tombstoned here up to this seq */
	pthread_mutex_t mu; /* guards the pending answer, dir, stop; cv */
	pthread_cond_t cv;
	int64_t pend_sent; /* the newest answer not applied yet: sent, seq */
	uint64_t pend_seq;
	rpc_client *dir; /* reached the leader last */
	int stop, started;
	pthread_t thr;
};

static int
read_seq(const char *path, uint64_t *seq, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	*seq = 0;
	if (f == NULL && errno == ENOENT)
		return 0;
	unsigned long long v = 0;
	int ok = f != NULL && fscanf(f, "%llu", &v) == 1;
	if (f != NULL)
		fclose(f);
	if (!ok) {
		snprintf(err, errlen,
		    "cannot read %s (%s); remove it to make the store re-check "
		    "its needles against the directory",
		    path, f ? "not a number" : strerror(errno));
		return -1;
	}
	*seq = v;
	return 0;
}

static void
raise_ok_sent(struct delete_follow *df, int64_t sent)
{
	int64_t seen = atomic_load(&df->ok_sent);
	while (sent > seen &&
	    !atomic_compare_exchange_weak(&df->ok_sent, &seen, sent))
		;
}

/* Writes seq durably: a temp file fsynced, renamed over the old one, the
 * folder fsynced. 0 or -1 logged. */
static int
save_seq(struct delete_follow *df, uint64_t seq)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", seq);
	int fd = open(df->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok = fd >= 0 && write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	ok = ok && rename(df->tmp, df->path) == 0;
	int dfd = open(df->svc->cfg.data_dir, O_RDONLY | O_DIRECTORY);
	ok = ok && dfd >= 0 && fsync(dfd) == 0;
	if (dfd >= 0)
		close(dfd);
	if (!ok) {
		rt_log_warn("cannot save the applied delete seq in %s: %s; "
			    "reads by hint wait until it can be saved",
		    df->path, strerror(errno));
		return -1;
	}
	atomic_store(&df->applied, seq);
	pthread_mutex_lock(&df->mu);
	if (df->pend_sent != 0 && df->pend_seq <= seq) {
		raise_ok_sent(df, df->pend_sent);
		df->pend_sent = 0;
	}
	pthread_mutex_unlock(&df->mu);
	return 0;
}

struct delete_follow *
delete_follow_open(struct store_service *svc, char *err, size_t errlen)
{
	struct delete_follow *df = calloc(1, sizeof(*df));
	uint64_t seq;
	if (df == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	df->svc = svc;
	df->lease_ms = svc->cfg.hint_lease_ms;
	snprintf(df->path, sizeof(df->path), "%s/" SEQ_FILE, svc->cfg.data_dir);
	snprintf(df->tmp, sizeof(df->tmp), "%s.tmp", df->path);
	if (read_seq(df->path, &seq, err, errlen) != 0) {
		free(df);
		return NULL;
	}
	atomic_store(&df->applied, seq);
	pthread_mutex_init(&df->mu, NULL);
	pthread_cond_init(&df->cv, NULL);
	return df;
}

void
delete_follow_close(struct delete_follow *df)
{
	if (df == NULL)
		return;
	delete_follow_stop(df);
	pthread_mutex_destroy(&df->mu);
	pthread_cond_destroy(&df->cv);
	free(df);
}

void
delete_follow_heard(struct delete_follow *df, rpc_client *c, int64_t sent_mono,
    uint64_t leader_seq)
{
	/* An answer whose seq is applied here extends the lease at once; a
	 * newer one waits until the follower has applied its seq, while the
	 * lease of the last applied answer still runs (docs/reliability.md:
	 * every answer the store holds is safe to serve on within its lease
	 * once its seq is applied). */
	uint64_t seen = atomic_load(&df->leader_seq);
	while (leader_seq > seen &&
	    !atomic_compare_exchange_weak(&df->leader_seq, &seen, leader_seq))
		;
	pthread_mutex_lock(&df->mu);
	df->dir = c;
	if (leader_seq <= atomic_load(&df->applied)) {
		raise_ok_sent(df, sent_mono);
	} else {
		df->pend_sent = sent_mono;
		df->pend_seq = leader_seq;
		pthread_cond_broadcast(&df->cv);
	}
	pthread_mutex_unlock(&df->mu);
}

int
delete_follow_may_serve(struct delete_follow *df, char *msg, size_t len)
{
	int64_t sent = atomic_load(&df->ok_sent);
	if (sent != 0 && rt_mono_ms() - sent < df->lease_ms)
		return 1;
	uint64_t want = atomic_load(&df->leader_seq);
	uint64_t have = atomic_load(&df->applied);
	if (have < want)
		snprintf(msg, len,
		    "catching up on deletes (applied seq %" PRIu64
		    ", the leader's %" PRIu64 ")",
		    have, want);
	else
		snprintf(msg, len,
		    "no heartbeat answered by the leader in the last %" PRId64
		    " ms, so deletes may be unseen",
		    df->lease_ms);
	return 0;
}

uint64_t
delete_follow_applied(struct delete_follow *df)
{
	return atomic_load(&df->applied);
}

int
store_delete_needle(struct store_service *svc, uint64_t key, uint32_t cookie,
    enum store_delete_kind kind)
{
	int rc = store_engine_delete_kind(svc->engine, key, kind);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&svc->deletes, 1);
	rt_log_info("deleted %016llx", (unsigned long long)key);
	store_publish_needle(svc, "needle.deleted", key, cookie, 0, 0);
	return 0;
}

void
store_note_gone(struct store_service *svc, uint64_t key, uint32_t cookie)
{
	struct store_needle_info info;
	gone_keys_add(svc->gone, key);
	/* After the add: a put that checked before it has landed by now. */
	if (store_engine_stat(svc->engine, key, &info) == 0 &&
	    info.cookie == cookie)
		store_delete_needle(svc, key, cookie, STORE_DEL_DELETE);
}

int
store_put_allowed(struct store_service *svc, uint64_t key, uint32_t cookie,
    int landed)
{
	if (!gone_keys_has(svc->gone, key))
		return 0;
	if (landed)
		store_delete_needle(svc, key, cookie, STORE_DEL_DELETE);
	rt_log_info("refused a copy of %016llx: the photo was deleted",
	    (unsigned long long)key);
	return STORE_E_DELETED;
}

/* Tombstones the photo rec names if it is held here live (its cookie), as
 * a delete: 0, or -1 when the tombstone could not be made durable. A photo
 * not held here is remembered as gone, so a late copy is refused. */
static int
tombstone_if_held(struct delete_follow *df, uint64_t key, uint32_t cookie)
{
	struct store_needle_info info;
	int rc = store_engine_stat(df->svc->engine, key, &info);
	if (rc == STORE_E_NOT_FOUND)
		store_note_gone(df->svc, key, cookie);
	if (rc != 0 || info.cookie != cookie)
		return 0; /* absent, deleted already, or another photo */
	rc = store_delete_needle(df->svc, key, cookie, STORE_DEL_DELETE);
	if (rc != 0 && rc != STORE_E_NOT_FOUND) {
		rt_log_warn("cannot tombstone deleted photo %016llx: %s; "
			    "reads by hint wait",
		    (unsigned long long)key, store_strerror(rc));
		return -1;
	}
	return 0;
}

/* The fallback when the log was trimmed past our seq (or we never
 * followed): every needle held here is looked up at `target` (deleted
 * ones come back with their record), and the deleted ones tombstoned.
 * Then the seq is target. 0 or -1. */
static int recheck_page(struct delete_follow *df, rpc_client *c,
    const struct store_needle_info *nf, size_t n, uint64_t target);

static int
recheck_all(struct delete_follow *df, rpc_client *c, uint64_t target)
{
	struct store_needle_info *nf = calloc(PAGE, sizeof(*nf));
	uint64_t after = 0;
	int first = 1, rc = 0;
	size_t n = PAGE, checked = 0;
	if (nf == NULL)
		return -1;
	while (rc == 0 && n == PAGE) {
		rc = store_engine_list(df->svc->engine, first ? NULL : &after,
			 nf, PAGE, &n) == 0 ?
		    0 :
		    -1;
		if (rc == 0 && n > 0) {
			rc = recheck_page(df, c, nf, n, target);
			after = nf[n - 1].key;
			checked += n;
		}
		first = 0;
	}
	free(nf);
	if (rc == 0) {
		rt_log_info("checked %zu needle(s) against the directory at "
			    "seq %" PRIu64,
		    checked, target);
		rc = save_seq(df, target);
	}
	return rc;
}

static int
recheck_page(struct delete_follow *df, rpc_client *c,
    const struct store_needle_info *nf, size_t n, uint64_t target)
{
	Hs__PhotoId *ids = calloc(n, sizeof(*ids));
	Hs__PhotoId **pids = calloc(n, sizeof(*pids));
	Hs__LookupRequest q = HS__LOOKUP_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	size_t k = 0;
	for (size_t i = 0; ids && pids && i < n; i++) {
		if (nf[i].flags & STORE_NF_DELETED)
			continue;
		hs__photo_id__init(&ids[k]);
		ids[k].key = nf[i].key;
		ids[k].cookie = nf[i].cookie;
		pids[k] = &ids[k];
		k++;
	}
	q.ids = pids;
	q.n_ids = k;
	q.min_seq = target;
	q.include_deleted = 1;
	hs_status st = ids && pids ? HS_OK : HS_RESOURCE_EXHAUSTED;
	if (st == HS_OK && k > 0)
		st = rpc_invoke(c, &hs__directory__descriptor, "Lookup",
		    &q.base, &m, CALL_MS, 0, &e);
	int rc = st == HS_OK ? 0 : -1;
	const Hs__LookupReply *r = (const Hs__LookupReply *)m;
	for (size_t i = 0; rc == 0 && r != NULL && i < r->n_results; i++) {
		const Hs__LookupResult *x = r->results[i];
		if (x->record != NULL && x->id != NULL &&
		    x->record->state == HS__PHOTO_STATE__PHOTO_DELETED)
			rc = tombstone_if_held(df, x->id->key, x->id->cookie);
	}
	if (st != HS_OK && st != HS_RESOURCE_EXHAUSTED)
		rt_log_warn("re-checking needles: Lookup: %s: %s",
		    hs_status_str(st), e.message);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	free(ids);
	free(pids);
	return rc;
}

/* One CatchUp page from our seq: tombstones its deletes, saves the seq.
 * 1 = progress, 0 = nothing new, 2 = the log was trimmed, -1 = failed. */
static int
catch_up_page(struct delete_follow *df, rpc_client *c)
{
	Hs__CatchUpRequest q = HS__CATCH_UP_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	q.from_seq = atomic_load(&df->applied);
	q.max = PAGE;
	hs_status st = rpc_invoke(c, &hs__directory__descriptor, "CatchUp",
	    &q.base, &m, CALL_MS, 0, &e);
	if (st != HS_OK) {
		rt_log_warn("following deletes: CatchUp from seq %" PRIu64
			    ": %s: %s",
		    q.from_seq, hs_status_str(st), e.message);
		return -1;
	}
	const Hs__CatchUpReply *r = (const Hs__CatchUpReply *)m;
	int rc = r->too_far_behind ? 2 : r->n_changes > 0 ? 1 : 0;
	for (size_t i = 0; rc == 1 && i < r->n_changes; i++) {
		const Hs__PhotoRecord *p = r->changes[i];
		if (p->id != NULL &&
		    p->state == HS__PHOTO_STATE__PHOTO_DELETED &&
		    tombstone_if_held(df, p->id->key, p->id->cookie) != 0)
			rc = -1;
	}
	if (rc == 1 && save_seq(df, r->changes[r->n_changes - 1]->seq) != 0)
		rc = -1;
	protobuf_c_message_free_unpacked(m, NULL);
	return rc;
}

/* Brings the applied seq up to at least target. 0 or -1 (try later). */
static int
catch_up(struct delete_follow *df, rpc_client *c, uint64_t target)
{
	if (atomic_load(&df->applied) == 0) /* never followed: re-check */
		return recheck_all(df, c, target);
	while (atomic_load(&df->applied) < target) {
		int rc = catch_up_page(df, c);
		if (rc == 2) {
			rt_log_warn("the change log no longer reaches back to "
				    "seq %" PRIu64 "; re-checking every needle",
			    atomic_load(&df->applied));
			return recheck_all(df, c, target);
		}
		if (rc <= 0)
			return -1;
	}
	return 0;
}

static void *
follow_main(void *arg)
{
	struct delete_follow *df = arg;
	int failed = 0;
	pthread_mutex_lock(&df->mu);
	while (!df->stop) {
		uint64_t target = atomic_load(&df->leader_seq);
		rpc_client *c = df->dir;
		if (c == NULL || target <= atomic_load(&df->applied) ||
		    failed) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&df->cv, &df->mu, &ts);
			failed = 0;
			continue;
		}
		pthread_mutex_unlock(&df->mu);
		failed = catch_up(df, c, target) != 0;
		if (!failed)
			rt_log_debug("deletes applied up to seq %" PRIu64,
			    atomic_load(&df->applied));
		pthread_mutex_lock(&df->mu);
	}
	pthread_mutex_unlock(&df->mu);
	return NULL;
}

int
delete_follow_start(struct delete_follow *df)
{
	df->started = pthread_create(&df->thr, NULL, follow_main, df) == 0;
	return df->started ? 0 : -1;
}

void
delete_follow_stop(struct delete_follow *df)
{
	if (df == NULL || !df->started)
		return;
	pthread_mutex_lock(&df->mu);
	df->stop = 1;
	pthread_cond_broadcast(&df->cv);
	pthread_mutex_unlock(&df->mu);
	pthread_join(df->thr, NULL);
	df->started = 0;
}
