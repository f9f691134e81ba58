/* Recovery of one volume file at open. The volume is the truth; the hint
 * file only saves a scan. Steps:
 *   1. Load hint records; reject the whole file if its header names another
 *      volume generation, any record fails its CRC, points past the end or
 *      backwards, or a sampled needle header disagrees. The last
 *      VOL_LOAD_VERIFY_TAIL hinted needles are verified in full (CRC), since
 *      hints can reach disk before the data they describe.
 *   2. Scan the volume past the last trusted needle, verifying header,
 *      footer and CRC of each.
 *   3. A needle that fails and is followed by no valid needle is a torn,
 *      unacknowledged tail: truncate there. One followed by valid needles is
 *      damage inside acknowledged data: keep scanning past it (a CRC-only
 *      failure is kept and marked bad), never truncate it away. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "engine_impl.h"
#include "le.h"
#include "vio.h"

#define VOL_LOAD_VERIFY_TAIL 256
#define VOL_LOAD_SAMPLES 1024
/* The fuzz build (tools/fuzz.sh) sets a smaller window, so that its small
 * inputs cross window boundaries as real volumes do. */
#ifndef VOL_SCAN_WINDOW
#define VOL_SCAN_WINDOW (1u << 20)
#endif

/* Pointer to len bytes at off, or NULL when they are not all in the file. */
const uint8_t *
vol_scan_get(struct vol_scan *s, uint64_t off, size_t len)
{
	if (off + len > s->fsz)
		return NULL;
	if (off >= s->boff && off + len <= s->boff + s->blen)
		return s->buf + (off - s->boff);
	size_t want = len > VOL_SCAN_WINDOW ? len : VOL_SCAN_WINDOW;
	if (want > s->cap) {
		uint8_t *nb = realloc(s->buf, want);
		if (!nb) {
			s->err = -ENOMEM;
			return NULL;
		}
		s->buf = nb;
		s->cap = want;
	}
	size_t n = s->fsz - off < s->cap ? (size_t)(s->fsz - off) : s->cap;
	ssize_t got = vio_pread(s->fd, s->buf, n, (off_t)off);
	if (got < (ssize_t)len) {
		s->blen = 0;
		if (!s->err)
			/* A short read: shorter than fstat said. */
			s->err = got < 0 ? (int)got : -EIO;
		return NULL;
	}
	s->boff = off;
	s->blen = (size_t)got;
	return s->buf;
}

enum nv_result
needle_verify(const uint8_t *p, uint64_t avail, struct needle_hdr *h)
{
	uint32_t crc;
	if (avail < NEEDLE_HDR_SIZE || needle_hdr_decode(p, h))
		return NV_BAD;
	if (needle_total_size(h->size) > avail)
		return NV_BAD;
	if ((h->flags & NEEDLE_F_DELREC) && h->size != DELREC_DATA_SIZE &&
	    h->size != DELREC_DATA_SIZE + NEEDLE_EXT_SIZE) /* v1, v2 */
		return NV_BAD;
	if (needle_ftr_decode(p + NEEDLE_HDR_SIZE + h->size, &crc))
		return NV_BAD;
	return crc32c(0, p + NEEDLE_HDR_SIZE, h->size) == crc ? NV_OK :
								NV_BADCRC;
}

enum nv_result
vol_scan_needle(struct vol_scan *s, uint64_t off, struct needle_hdr *h)
{
	const uint8_t *p = vol_scan_get(s, off, NEEDLE_HDR_SIZE);
	if (!p || needle_hdr_decode(p, h))
		return NV_BAD;
	uint64_t total = needle_total_size(h->size);
	if (off + total > s->fsz || !(p = vol_scan_get(s, off, (size_t)total)))
		return NV_BAD;
	return needle_verify(p, total, h);
}

/* First offset >= from holding a fully valid needle, or 0. */
uint64_t
vol_scan_next_valid(struct vol_scan *s, uint64_t from)
{
	struct needle_hdr h;
	for (uint64_t off = from;
	     off + NEEDLE_HDR_SIZE + NEEDLE_FTR_SIZE <= s->fsz;
	     off += NEEDLE_ALIGN) {
		const uint8_t *p = vol_scan_get(s, off, 4);
		if (s->err)
			return 0;
		if (p && le_get32(p) == NEEDLE_HDR_MAGIC &&
		    vol_scan_needle(s, off, &h) == NV_OK)
			return off;
	}
	return 0;
}

static int
recs_push(struct vol_load *l, size_t *cap, const struct hint_rec *r)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		struct hint_rec *nr = realloc(l->recs, nc * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->recs = nr;
		*cap = nc;
	}
	l->recs[l->n++] = *r;
	return 0;
}

/* Reads the whole hint file; NULL when missing or unreadable. */
static uint8_t *
hint_read(struct store_engine *se, const struct vol *v, size_t *len)
{
	char path[4096];
	struct stat st;
	vol_path(se, v->sb.vol_id, "idx", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) == 0 && st.st_size >= HINT_HDR_SIZE &&
	    (buf = malloc((size_t)st.st_size))) {
		if (vio_pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)st.st_size;
	}
	close(fd);
	return buf;
}

/* Does the needle on disk at r agree with the hint record? full: CRC too. */
static int
hint_matches(struct vol_scan *s, const struct hint_rec *r, int full)
{
	struct needle_hdr h;
	uint64_t off = (uint64_t)r->off8 * NEEDLE_ALIGN;
	if (full) {
		if (vol_scan_needle(s, off, &h) != NV_OK)
			return 0;
	} else if (vol_read_hdr(s->fd, off, &h)) {
		return 0;
	}
	return h.key == r->key && h.size == r->size &&
	    (h.flags & NEEDLE_F_DELREC) == (r->flags & NEEDLE_F_DELREC);
}

/* Step 1. Fills l->recs from the hints; 0 when trusted, -1 otherwise. */
static int
hint_load(struct store_engine *se, struct vol *v, struct vol_scan *s,
    struct vol_load *l, size_t *cap)
{
	size_t len = 0;
	uint8_t *buf = hint_read(se, v, &len);
	if (!buf || hint_hdr_check(buf, &v->sb)) {
		free(buf);
		return -1;
	}
	/* Rounding down drops a torn last record. */
	size_t n = (len - HINT_HDR_SIZE) / HINT_REC_SIZE;
	uint64_t prev_end = SB_SIZE;
	int ok = 1;
	for (size_t i = 0; ok && i < n; i++) {
		struct hint_rec r;
		ok = hint_rec_decode(buf + HINT_HDR_SIZE + i * HINT_REC_SIZE,
			 &r) == 0;
		uint64_t off = (uint64_t)r.off8 * NEEDLE_ALIGN;
		ok = ok && off >= prev_end && !(r.flags & ~NEEDLE_F_KNOWN) &&
		    off + needle_total_size(r.size) <= s->fsz;
		if (ok) {
			prev_end = off + needle_total_size(r.size);
			ok = recs_push(l, cap, &r) == 0;
		}
	}
	free(buf);
	size_t stride = n / VOL_LOAD_SAMPLES + 1;
	for (size_t i = 0; ok && i < n; i++) {
		int tail = i + VOL_LOAD_VERIFY_TAIL >= n;
		if (tail || i % stride == 0)
			ok = hint_matches(s, &l->recs[i], tail);
	}
	if (!ok)
		l->n = 0;
	return ok ? 0 : -1;
}

/* Steps 2 and 3, from off to the end of the file. */
static int
vol_scan(struct vol *v, struct vol_scan *s, uint64_t off, struct vol_load *l,
    size_t *cap)
{
	struct needle_hdr h = { 0, 0, 0, 0 };
	while (off < s->fsz) {
		enum nv_result r = vol_scan_needle(s, off, &h);
		uint64_t total = needle_total_size(h.size);
		/* A CRC failure at the very end is a torn write. */
		if (r == NV_BADCRC && !vol_scan_next_valid(s, off + total))
			r = NV_BAD;
		if (r == NV_BAD) {
			uint64_t next = vol_scan_next_valid(s,
			    off + NEEDLE_ALIGN);
			if (next) { /* damage inside acknowledged data */
				off = next;
				continue;
			}
			if (s->err) /* an I/O error, not a torn tail */
				return s->err;
			l->truncated = s->fsz - off;
			int rc = vio_ftruncate(v->vf->fd, (off_t)off);
			if (!rc)
				rc = vio_fdatasync(v->vf->fd);
			if (rc)
				return rc;
			s->fsz = off;
			break;
		}
		struct hint_rec rec = {
			h.key, (uint32_t)(off / NEEDLE_ALIGN), h.size,
			(uint16_t)(h.flags | (r == NV_BADCRC ? VOL_REC_BAD : 0))
		};
		if (recs_push(l, cap, &rec))
			return -ENOMEM;
		l->scanned++;
		off += total;
	}
	return 0;
}

static int
vol_hint_refresh(struct store_engine *se, struct vol *v,
    const struct vol_load *l)
{
	struct hint_rec *clean = malloc((l->n ? l->n : 1) * sizeof(*clean));
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		clean[i] = l->recs[i];
		clean[i].flags &= NEEDLE_F_KNOWN;
	}
	int rc = vol_hint_rewrite(se, v, clean, l->n);
	free(clean);
	return rc;
}

int
vol_load(struct store_engine *se, struct vol *v, struct vol_load *out)
{
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (fstat(v->vf->fd, &st))
		return -errno;
	struct vol_scan s = { v->vf->fd, (uint64_t)st.st_size, NULL, 0, 0, 0,
		0 };
	size_t cap = 0;
	uint64_t off = SB_SIZE;
	out->hints_trusted = hint_load(se, v, &s, out, &cap) == 0;
	if (out->n) {
		const struct hint_rec *last = &out->recs[out->n - 1];
		off = (uint64_t)last->off8 * NEEDLE_ALIGN +
		    needle_total_size(last->size);
	}
	int rc = vol_scan(v, &s, off, out, &cap);
	free(s.buf);
	if (rc) {
		vol_load_free(out);
		return rc;
	}
	v->end = v->appended = v->synced = s.fsz;
	if (!out->hints_trusted || out->scanned || out->truncated)
		vol_hint_refresh(se, v, out);
	return 0;
}

void
vol_load_free(struct vol_load *l)
{
	free(l->recs);
	memset(l, 0, sizeof(*l));
}
