/* The engine's I/O seam: every write, read, sync and truncate of a volume
 * goes through here so tests can make the Nth call fail (a failed fsync, a
 * short write) without a broken disk. All calls return 0 / a byte count or
 * -errno; they retry EINTR and short transfers themselves. */
#ifndef STORE_VIO_H
#define STORE_VIO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

enum vio_op { VIO_WRITE, VIO_SYNC, VIO_TRUNCATE, VIO_NOPS };

/* Writes all of iov at off; -EIO on a short write that makes no progress. */
int vio_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off);
/* Reads up to len bytes at off; returns bytes read (< len only at EOF). */
ssize_t vio_pread(int fd, void *buf, size_t len, off_t off);
int vio_fdatasync(int fd);
int vio_ftruncate(int fd, off_t len);
/* fsync of a directory, making renames and creations in it durable. */
int vio_fsync_dir(const char *dir);

/* Test hook: the `nth` next call of `op` (1 = the very next) fails with
 * -err; 0 disarms. Process-global, meant for single-store unit tests. */
void vio_fault_arm(enum vio_op op, int nth, int err);
/* Test hook: fn runs at the start of every fdatasync (it may block, to
 * hold a sync in flight); a non-zero return fails that sync with it (a
 * -errno). NULL disarms. Process-global, like vio_fault_arm. */
void vio_sync_hook(int (*fn)(void *arg), void *arg);
/* fdatasync calls made so far (process-wide), to observe group commit. */
long vio_sync_count(void);

#endif
