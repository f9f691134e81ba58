/* On-disk codec for format versions 1 and 2: the volume superblock,
 * needles (including delete records) and index hint files. Pure
 * encode/decode, no I/O. docs/store-format.md is the human-readable copy
 * of these layouts. */
#ifndef STORE_NEEDLE_H
#define STORE_NEEDLE_H

#include <stddef.h>
#include <stdint.h>

/* New volumes are written in version 2; version 1 volumes stay readable
 * (and stay version 1 through compaction). A volume has one version: all
 * its needles have its layout. */
#define STORE_FORMAT_V1 1
#define STORE_FORMAT_VERSION 2

/* Superblock: 64 bytes at offset 0 of every volume file. */
#define SB_MAGIC 0x42565348u /* "HSVB" */
#define SB_SIZE 64

struct superblock {
	uint16_t version;
	uint32_t vol_id;
	uint32_t gen;	     /* bumped by every compaction of this volume */
	uint64_t created_ns; /* CLOCK_REALTIME at creation; compaction
			      * keeps it */
};

void sb_encode(uint8_t out[SB_SIZE], const struct superblock *sb);
/* 0, or -1 when magic, version or CRC is wrong. */
int sb_decode(const uint8_t in[SB_SIZE], struct superblock *sb);

/* Needle: header, data, footer, zero padding to a multiple of 8. */
#define NEEDLE_HDR_MAGIC 0x4C444E48u /* "HNDL" */
#define NEEDLE_FTR_MAGIC 0x4C544E46u /* "FNTL" */
#define NEEDLE_HDR_SIZE 24
#define NEEDLE_FTR_SIZE 8
#define NEEDLE_ALIGN 8
#define NEEDLE_HDR_FLAGS_OFF 16 /* where the in-place tombstone bit lives */

#define NEEDLE_F_DELETED 0x0001u /* tombstone: set in place on delete */
#define NEEDLE_F_DELREC 0x0002u	 /* this needle is a delete record */
#define NEEDLE_F_KNOWN (NEEDLE_F_DELETED | NEEDLE_F_DELREC)

/* Version 2: the needle's data area ends with this self-description,
 * after the photo bytes and inside the size and the CRC, so a volume can
 * be read without any metadata: the write time and the photo's SHA-256
 * (zeros in a delete record). Version 1 needles have none. */
#define NEEDLE_EXT_SIZE 40

struct needle_ext {
	int64_t written_ms; /* Unix ms when the needle's append began */
	uint8_t sha256[32];
};

/* Bytes of extension a needle of this format version carries. */
static inline uint32_t
needle_ext_size(uint16_t version)
{
	return version >= 2 ? NEEDLE_EXT_SIZE : 0;
}

void needle_ext_encode(uint8_t out[NEEDLE_EXT_SIZE],
    const struct needle_ext *e);
void needle_ext_decode(const uint8_t in[NEEDLE_EXT_SIZE], struct needle_ext *e);

/* Delete record payload: which needle the delete was aimed at (advisory,
 * used for accounting; the key in the header is what counts) and why it
 * went away (byte 12; zero in records written before delete kinds). */
#define DELREC_DATA_SIZE 16

struct needle_hdr {
	uint32_t cookie;
	uint64_t key;
	uint16_t flags;
	uint32_t size; /* data bytes */
};

static inline uint64_t
needle_total_size(uint32_t size)
{
	return ((uint64_t)NEEDLE_HDR_SIZE + size + NEEDLE_FTR_SIZE +
		   NEEDLE_ALIGN - 1) &
	    ~(uint64_t)(NEEDLE_ALIGN - 1);
}

/* The needle's length on disk in 8-byte units, as the in-memory index
 * keeps it (< 2^31: volumes are at most 16 GiB). */
static inline uint32_t
needle_len8(uint32_t size)
{
	return (uint32_t)(needle_total_size(size) / NEEDLE_ALIGN);
}

void needle_hdr_encode(uint8_t out[NEEDLE_HDR_SIZE],
    const struct needle_hdr *h);
/* 0, or -1 on a bad magic or unknown flag bits. */
int needle_hdr_decode(const uint8_t in[NEEDLE_HDR_SIZE], struct needle_hdr *h);

/* Footer plus zero padding for a needle of `size` data bytes; returns the
 * number of bytes written to out (8..15). */
size_t needle_ftr_encode(uint8_t out[16], uint32_t size, uint32_t crc);
/* 0 when the footer magic is right; *crc gets the stored CRC. */
int needle_ftr_decode(const uint8_t in[NEEDLE_FTR_SIZE], uint32_t *crc);

struct delrec {
	uint32_t vol_id;
	uint32_t off8;
	uint32_t size;
	uint8_t kind; /* enum store_delete_kind; 0 in records before kinds */
};
void delrec_encode(uint8_t out[DELREC_DATA_SIZE], const struct delrec *d);
void delrec_decode(const uint8_t in[DELREC_DATA_SIZE], struct delrec *d);

/* Index hint file: a 32-byte header then 24-byte records, one per append. */
#define HINT_MAGIC 0x58495348u /* "HSIX" */
#define HINT_HDR_SIZE 32
#define HINT_REC_SIZE 24

struct hint_rec {
	uint64_t key;
	uint32_t off8; /* needle offset / 8 */
	uint32_t size;
	uint16_t flags;
};

void hint_hdr_encode(uint8_t out[HINT_HDR_SIZE], const struct superblock *sb);
/* 0 when the header is intact and names exactly this volume generation. */
int hint_hdr_check(const uint8_t in[HINT_HDR_SIZE],
    const struct superblock *sb);
void hint_rec_encode(uint8_t out[HINT_REC_SIZE], const struct hint_rec *r);
/* 0, or -1 when the record's CRC does not match (garbage or torn). */
int hint_rec_decode(const uint8_t in[HINT_REC_SIZE], struct hint_rec *r);

#endif
