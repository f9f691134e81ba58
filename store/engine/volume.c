/* Volume files: creation (superblock written and fsynced before the
 * directory entry is), opening, the pinned file handle readers hold across
 * a compaction swap, and the index hint file (append-only, never fsynced:
 * a lost or stale hint only costs a rescan at the next open). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_impl.h"
#include "vio.h"

struct vol_file *
vol_file_new(int fd, uint16_t version)
{
	struct vol_file *vf = malloc(sizeof(*vf));
	if (!vf)
		return NULL;
	vf->fd = fd;
	vf->ext = needle_ext_size(version);
	atomic_init(&vf->refs, 1);
	return vf;
}

void
vol_file_ref(struct vol_file *vf)
{
	atomic_fetch_add(&vf->refs, 1);
}

void
vol_file_unref(struct vol_file *vf)
{
	if (vf && atomic_fetch_sub(&vf->refs, 1) == 1) {
		close(vf->fd);
		free(vf);
	}
}

void
vol_path(const struct store_engine *se, uint32_t id, const char *ext, char *buf,
    size_t cap)
{
	snprintf(buf, cap, "%s/vol_%08u.%s", se->dir, id, ext);
}

struct vol *
vol_alloc(const struct superblock *sb)
{
	struct vol *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->sb = *sb;
	v->hint_fd = -1;
	vidx_init(&v->idx);
	atomic_init(&v->readonly, 0);
	atomic_init(&v->written_ms, (int64_t)(sb->created_ns / 1000000));
	pthread_mutex_init(&v->sync_mu, NULL);
	pthread_cond_init(&v->sync_cv, NULL);
	return v;
}

void
vol_free(struct vol *v)
{
	if (!v)
		return;
	vol_file_unref(v->vf);
	if (v->hint_fd >= 0)
		close(v->hint_fd);
	vidx_free(&v->idx);
	pthread_mutex_destroy(&v->sync_mu);
	pthread_cond_destroy(&v->sync_cv);
	free(v);
}

/* Creates vol_<id>.dat with its superblock durable, then its hint file. */
int
vol_create(struct store_engine *se, uint32_t id, struct vol **out)
{
	char path[4096];
	struct superblock sb = { STORE_FORMAT_VERSION, id, 0, rt_now_ns() };
	uint8_t buf[SB_SIZE];
	sb_encode(buf, &sb);
	vol_path(se, id, "dat", path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	struct iovec iov = { buf, SB_SIZE };
	int rc = vio_pwritev(fd, &iov, 1, 0);
	if (!rc)
		rc = vio_fdatasync(fd);
	if (!rc)
		rc = vio_fsync_dir(se->dir);
	struct vol *v = rc ? NULL : vol_alloc(&sb);
	if (!v) {
		close(fd);
		unlink(path);
		return rc ? rc : -ENOMEM;
	}
	v->vf = vol_file_new(fd, sb.version);
	if (!v->vf) {
		close(fd);
		vol_free(v);
		return -ENOMEM;
	}
	v->end = v->appended = v->synced = SB_SIZE;
	if (vol_hint_rewrite(se, v, NULL, 0) == 0)
		vol_hint_open_append(se, v);
	*out = v;
	return 0;
}

/* Opens an existing volume file and reads its superblock. */
int
vol_open_file(struct store_engine *se, uint32_t id, struct vol **out)
{
	char path[4096];
	uint8_t buf[SB_SIZE];
	struct superblock sb;
	vol_path(se, id, "dat", path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = vio_pread(fd, buf, SB_SIZE, 0);
	if (n < 0 || n != SB_SIZE || sb_decode(buf, &sb) || sb.vol_id != id) {
		close(fd);
		return n < 0 ? (int)n : STORE_E_CORRUPT;
	}
	struct vol *v = vol_alloc(&sb);
	struct vol_file *vf = v ? vol_file_new(fd, sb.version) : NULL;
	if (!vf) {
		close(fd);
		vol_free(v);
		return -ENOMEM;
	}
	v->vf = vf;
	/* The file's mtime: no needle in it was written later. Without it,
	 * now, which is later still; never the creation time, which would
	 * make old needles look older than they are. */
	struct stat st;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	const struct timespec *t = fstat(fd, &st) == 0 ? &st.st_mtim : &now;
	atomic_store(&v->written_ms,
	    (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000);
	*out = v;
	return 0;
}

int
vol_hint_open_append(struct store_engine *se, struct vol *v)
{
	char path[4096];
	vol_path(se, v->sb.vol_id, "idx", path, sizeof(path));
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	v->hint_fd = fd;
	return 0;
}

/* Best effort: a failed hint write turns hints off for this volume. */
void
vol_hint_append(struct vol *v, const struct hint_rec *r)
{
	uint8_t buf[HINT_REC_SIZE];
	if (v->hint_fd < 0)
		return;
	hint_rec_encode(buf, r);
	if (write(v->hint_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(v->hint_fd);
		v->hint_fd = -1;
	}
}

/* Empties the hint file and stops writing it: the next open rescans. Used
 * when the volume tail was rolled back and hint records may point past it. */
void
vol_hint_disable(struct store_engine *se, struct vol *v)
{
	if (v->hint_fd >= 0) {
		close(v->hint_fd);
		v->hint_fd = -1;
	}
	vol_hint_rewrite(se, v, NULL, 0);
}

int
vol_hint_drop(struct store_engine *se, struct vol *v, uint32_t id)
{
	char path[4096];
	if (v != NULL && v->hint_fd >= 0) {
		close(v->hint_fd);
		v->hint_fd = -1;
	}
	vol_path(se, id, "idx", path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return vio_fsync_dir(se->dir);
}

/* Writes a complete hint file via tmp + rename (not fsynced: a hint). */
int
vol_hint_rewrite(struct store_engine *se, const struct vol *v,
    const struct hint_rec *recs, size_t n)
{
	char path[4096], tmp[4200];
	vol_path(se, v->sb.vol_id, "idx", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	uint8_t buf[HINT_HDR_SIZE];
	hint_hdr_encode(buf, &v->sb);
	int ok = fwrite(buf, 1, HINT_HDR_SIZE, f) == HINT_HDR_SIZE;
	for (size_t i = 0; ok && i < n; i++) {
		uint8_t rb[HINT_REC_SIZE];
		hint_rec_encode(rb, &recs[i]);
		ok = fwrite(rb, 1, HINT_REC_SIZE, f) == HINT_REC_SIZE;
	}
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno ? -errno : -EIO;
		unlink(tmp);
		return e;
	}
	return 0;
}

/* Reads and decodes the header of the needle at off. */
int
vol_read_hdr(int fd, uint64_t off, struct needle_hdr *h)
{
	uint8_t buf[NEEDLE_HDR_SIZE];
	ssize_t n = vio_pread(fd, buf, sizeof(buf), (off_t)off);
	if (n < 0)
		return (int)n;
	if (n != NEEDLE_HDR_SIZE || needle_hdr_decode(buf, h))
		return STORE_E_DATA_LOSS;
	return 0;
}
