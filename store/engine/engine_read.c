/* The read path: one positional read of the whole needle (header, photo,
 * v2 extension, footer), its offset and length taken from the in-memory
 * index, and the CRC checked before any byte is handed out. The header
 * read in the same pread still proves the key, cookie and flags (a needle
 * over 1 MiB has its header read first: see SE_HEADER_FIRST). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "engine_impl.h"
#include "vio.h"

/* Checks the needle read whole into p[0..n) (the index's length) for key
 * and cookie; on success points r at its photo and extension. A header
 * that disagrees with the index (key, length) is damage, like a bad CRC. */
static int
se_check_needle(const uint8_t *p, size_t n, uint32_t ext, uint64_t key,
    uint32_t cookie, struct store_read *r)
{
	struct needle_hdr h;
	uint32_t crc;
	if (n < NEEDLE_HDR_SIZE || needle_hdr_decode(p, &h) || h.key != key ||
	    h.size < ext || needle_total_size(h.size) != n)
		return STORE_E_DATA_LOSS;
	if (h.cookie != cookie ||
	    (h.flags & (NEEDLE_F_DELETED | NEEDLE_F_DELREC)))
		return STORE_E_NOT_FOUND;
	/* One CRC over photo and extension: they are contiguous on disk. */
	if (needle_ftr_decode(p + NEEDLE_HDR_SIZE + h.size, &crc) ||
	    crc32c(0, p + NEEDLE_HDR_SIZE, h.size) != crc)
		return STORE_E_DATA_LOSS;
	r->data = p + NEEDLE_HDR_SIZE;
	r->len = h.size - ext;
	if (ext) {
		struct needle_ext ne;
		needle_ext_decode(r->data + r->len, &ne);
		r->written_ms = ne.written_ms;
		memcpy(r->sha256, ne.sha256, sizeof(r->sha256));
		r->has_sha256 = 1;
	}
	return 0;
}

/* Needles longer than this have their header read first: a request with a
 * wrong cookie (an id guessed from a known key) then costs a few bytes,
 * not a read and an allocation of the whole photo. Shorter ones stay at
 * one read. */
#define SE_HEADER_FIRST (1u << 20)

/* For a long needle: its header, read alone, names key and cookie and is
 * live. 0, or the error the whole read would give. */
static int
se_check_header(const struct se_loc *l, uint64_t key, uint32_t cookie)
{
	uint8_t p[NEEDLE_HDR_SIZE];
	struct needle_hdr h;
	ssize_t got = vio_pread(l->vf->fd, p, sizeof(p), (off_t)l->off);
	if (got < 0)
		return (int)got;
	if ((size_t)got < sizeof(p) || needle_hdr_decode(p, &h) || h.key != key)
		return STORE_E_DATA_LOSS;
	if (h.cookie != cookie ||
	    (h.flags & (NEEDLE_F_DELETED | NEEDLE_F_DELREC)))
		return STORE_E_NOT_FOUND;
	return 0;
}

/* Reads the needle at l whole into one buffer (r->buf) and checks it. */
static int
se_read_whole(const struct se_loc *l, uint64_t key, uint32_t cookie,
    struct store_read *r)
{
	size_t n = (size_t)l->len8 * NEEDLE_ALIGN;
	if (n < NEEDLE_HDR_SIZE + NEEDLE_FTR_SIZE)
		return STORE_E_DATA_LOSS; /* no length: cannot happen */
	int rc = n > SE_HEADER_FIRST ? se_check_header(l, key, cookie) : 0;
	if (rc != 0)
		return rc;
	r->buf = malloc(n);
	if (!r->buf)
		return -ENOMEM;
	ssize_t got = vio_pread(l->vf->fd, r->buf, n, (off_t)l->off);
	if (got < 0)
		return (int)got;
	/* Short only when the file ends early: a torn or cut needle. */
	return se_check_needle(r->buf, (size_t)got, l->vf->ext, key, cookie, r);
}

void
store_read_free(struct store_read *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int
store_engine_read(struct store_engine *se, uint64_t key, uint32_t cookie,
    struct store_read *r)
{
	struct se_loc l;
	memset(r, 0, sizeof(*r));
	int rc = se_pin(se, key, &l);
	if (!rc && (l.val & VIDX_DELETED))
		rc = STORE_E_NOT_FOUND;
	if (!rc)
		rc = se_read_whole(&l, key, cookie, r);
	vol_file_unref(l.vf);
	if (rc == STORE_E_DATA_LOSS) {
		pthread_rwlock_wrlock(&se->idx_lock);
		se_bad_add(se, l.vol_id, (uint32_t)(l.off / NEEDLE_ALIGN));
		pthread_rwlock_unlock(&se->idx_lock);
	}
	if (rc)
		store_read_free(r); /* never hand out bytes that failed */
	return rc;
}

int
store_engine_get(struct store_engine *se, uint64_t key, uint32_t cookie,
    void *buf, size_t cap, size_t *len)
{
	struct store_read r;
	int rc = store_engine_read(se, key, cookie, &r);
	if (rc == STORE_E_DATA_LOSS && buf)
		memset(buf, 0, cap);
	if (rc)
		return rc;
	*len = r.len;
	if (r.len > cap)
		rc = STORE_E_TOO_SMALL;
	else if (r.len)
		memcpy(buf, r.data, r.len);
	store_read_free(&r);
	return rc;
}
