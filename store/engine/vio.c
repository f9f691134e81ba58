/* POSIX implementation of the I/O seam (vio.h) plus its fault injector.
 * The injector is a per-op countdown in atomics: cheap enough to stay in
 * production builds, so the code under test is the code that ships. */
#include "vio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int vio_countdown[VIO_NOPS];
static atomic_int vio_err[VIO_NOPS];
static atomic_long vio_syncs;
static int (*_Atomic vio_hook)(void *arg);
static void *_Atomic vio_hook_arg;

void
vio_sync_hook(int (*fn)(void *arg), void *arg)
{
	atomic_store(&vio_hook_arg, arg);
	atomic_store(&vio_hook, fn);
}

long
vio_sync_count(void)
{
	return atomic_load(&vio_syncs);
}

void
vio_fault_arm(enum vio_op op, int nth, int err)
{
	atomic_store(&vio_err[op], err);
	atomic_store(&vio_countdown[op], nth);
}

/* Returns the injected -errno when this call is the armed one, else 0. */
static int
vio_fault_hit(enum vio_op op)
{
	int n = atomic_load(&vio_countdown[op]);
	while (n > 0) {
		if (atomic_compare_exchange_weak(&vio_countdown[op], &n, n - 1))
			return n == 1 ? -atomic_load(&vio_err[op]) : 0;
	}
	return 0;
}

int
vio_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	int f = vio_fault_hit(VIO_WRITE);
	if (f)
		return f;
	struct iovec local[8];
	if (iovcnt > 8)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		local[i] = iov[i];
	struct iovec *cur = local;
	while (iovcnt > 0) {
		ssize_t n = pwritev(fd, cur, iovcnt, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += n;
		while (iovcnt > 0 && (size_t)n >= cur->iov_len) {
			n -= (ssize_t)cur->iov_len;
			cur++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			cur->iov_base = (char *)cur->iov_base + n;
			cur->iov_len -= (size_t)n;
		}
	}
	return 0;
}

ssize_t
vio_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
		    off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
vio_fdatasync(int fd)
{
	int f = vio_fault_hit(VIO_SYNC);
	int (*hook)(void *) = atomic_load(&vio_hook);
	if (!f && hook)
		f = hook(atomic_load(&vio_hook_arg));
	atomic_fetch_add(&vio_syncs, 1);
	if (f)
		return f;
	return fdatasync(fd) == 0 ? 0 : -errno;
}

int
vio_ftruncate(int fd, off_t len)
{
	int f = vio_fault_hit(VIO_TRUNCATE);
	if (f)
		return f;
	while (ftruncate(fd, len) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int
vio_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}
