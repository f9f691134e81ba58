/* Encoders and decoders for the on-disk layouts declared in needle.h
 * (versions 1 and 2). Every field is written with le.h so the format does not depend
 * on the host; every decoder checks magic (and CRC where there is one). */
#include "needle.h"

#include <string.h>

#include "crc32c.h"
#include "le.h"

/* The layout a superblock and a hint file's header share: magic, format
 * version, volume id, generation and creation time, zero padding, and the
 * CRC-32C of the size - 4 bytes before it in the last four. */
static void
volume_header_encode(uint8_t *out, size_t size, uint32_t magic,
    const struct superblock *sb)
{
	memset(out, 0, size);
	le_put32(out + 0, magic);
	le_put16(out + 4, sb->version);
	le_put32(out + 8, sb->vol_id);
	le_put32(out + 12, sb->gen);
	le_put64(out + 16, sb->created_ns);
	le_put32(out + size - 4, crc32c(0, out, size - 4));
}

void
sb_encode(uint8_t out[SB_SIZE], const struct superblock *sb)
{
	volume_header_encode(out, SB_SIZE, SB_MAGIC, sb);
}

int
sb_decode(const uint8_t in[SB_SIZE], struct superblock *sb)
{
	if (le_get32(in) != SB_MAGIC || le_get32(in + 60) != crc32c(0, in, 60))
		return -1;
	sb->version = le_get16(in + 4);
	if (sb->version < STORE_FORMAT_V1 || sb->version > STORE_FORMAT_VERSION)
		return -1;
	sb->vol_id = le_get32(in + 8);
	sb->gen = le_get32(in + 12);
	sb->created_ns = le_get64(in + 16);
	return 0;
}

void
needle_hdr_encode(uint8_t out[NEEDLE_HDR_SIZE], const struct needle_hdr *h)
{
	le_put32(out + 0, NEEDLE_HDR_MAGIC);
	le_put32(out + 4, h->cookie);
	le_put64(out + 8, h->key);
	le_put16(out + NEEDLE_HDR_FLAGS_OFF, h->flags);
	le_put16(out + 18, 0);
	le_put32(out + 20, h->size);
}

int
needle_hdr_decode(const uint8_t in[NEEDLE_HDR_SIZE], struct needle_hdr *h)
{
	if (le_get32(in) != NEEDLE_HDR_MAGIC)
		return -1;
	h->cookie = le_get32(in + 4);
	h->key = le_get64(in + 8);
	h->flags = le_get16(in + NEEDLE_HDR_FLAGS_OFF);
	h->size = le_get32(in + 20);
	if (h->flags & ~NEEDLE_F_KNOWN)
		return -1;
	return 0;
}

size_t
needle_ftr_encode(uint8_t out[16], uint32_t size, uint32_t crc)
{
	size_t n = (size_t)(needle_total_size(size) - NEEDLE_HDR_SIZE - size);
	memset(out, 0, 16);
	le_put32(out + 0, NEEDLE_FTR_MAGIC);
	le_put32(out + 4, crc);
	return n;
}

int
needle_ftr_decode(const uint8_t in[NEEDLE_FTR_SIZE], uint32_t *crc)
{
	if (le_get32(in) != NEEDLE_FTR_MAGIC)
		return -1;
	*crc = le_get32(in + 4);
	return 0;
}

void
needle_ext_encode(uint8_t out[NEEDLE_EXT_SIZE], const struct needle_ext *e)
{
	le_put64(out, (uint64_t)e->written_ms);
	memcpy(out + 8, e->sha256, sizeof(e->sha256));
}

void
needle_ext_decode(const uint8_t in[NEEDLE_EXT_SIZE], struct needle_ext *e)
{
	e->written_ms = (int64_t)le_get64(in);
	memcpy(e->sha256, in + 8, sizeof(e->sha256));
}

void
delrec_encode(uint8_t out[DELREC_DATA_SIZE], const struct delrec *d)
{
	le_put32(out + 0, d->vol_id);
	le_put32(out + 4, d->off8);
	le_put32(out + 8, d->size);
	le_put32(out + 12, d->kind);
}

void
delrec_decode(const uint8_t in[DELREC_DATA_SIZE], struct delrec *d)
{
	d->vol_id = le_get32(in + 0);
	d->off8 = le_get32(in + 4);
	d->size = le_get32(in + 8);
	d->kind = in[12];
}

void
hint_hdr_encode(uint8_t out[HINT_HDR_SIZE], const struct superblock *sb)
{
	volume_header_encode(out, HINT_HDR_SIZE, HINT_MAGIC, sb);
}

int
hint_hdr_check(const uint8_t in[HINT_HDR_SIZE], const struct superblock *sb)
{
	if (le_get32(in) != HINT_MAGIC ||
	    le_get32(in + 28) != crc32c(0, in, 28))
		return -1;
	if (le_get16(in + 4) != sb->version || le_get32(in + 8) != sb->vol_id ||
	    le_get32(in + 12) != sb->gen || le_get64(in + 16) != sb->created_ns)
		return -1;
	return 0;
}

void
hint_rec_encode(uint8_t out[HINT_REC_SIZE], const struct hint_rec *r)
{
	le_put64(out + 0, r->key);
	le_put32(out + 8, r->off8);
	le_put32(out + 12, r->size);
	le_put16(out + 16, r->flags);
	le_put16(out + 18, 0);
	le_put32(out + 20, crc32c(0, out, 20));
}

int
hint_rec_decode(const uint8_t in[HINT_REC_SIZE], struct hint_rec *r)
{
	if (le_get32(in + 20) != crc32c(0, in, 20))
		return -1;
	r->key = le_get64(in + 0);
	r->off8 = le_get32(in + 8);
	r->size = le_get32(in + 12);
	r->flags = le_get16(in + 16);
	return 0;
}
