/* CRC32C in software (slicing-by-8, reflected polynomial 0x82F63B78) with an
 * SSE4.2 fast path picked once at first use via __builtin_cpu_supports
 * (three streams at once on long buffers: every read checks a whole photo).
 * The tables are built lazily under pthread_once so there is no init call. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc32c_tab[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static int crc32c_hw;

#if defined(__x86_64__)
/* Block sizes of the hardware path's three streams, and the tables that
 * shift a CRC over one block (see crc32c_hw_raw). */
#define CRC_LONG 8192u
#define CRC_SHORT 256u
static uint32_t crc32c_long[4][256], crc32c_short[4][256];
static void crc32c_zeros(uint32_t zeros[4][256], size_t len);
#endif

static void
crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_tab[t][i] = (crc32c_tab[t - 1][i] >> 8) ^
			    crc32c_tab[0][crc32c_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (crc32c_hw) {
		crc32c_zeros(crc32c_long, CRC_LONG);
		crc32c_zeros(crc32c_short, CRC_SHORT);
	}
#endif
}

static uint32_t
crc32c_sw_raw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = crc32c_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		/* Little-endian words by hand: host-order independent. */
		uint32_t lo = c ^
		    ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		c = crc32c_tab[7][lo & 0xff] ^ crc32c_tab[6][(lo >> 8) & 0xff] ^
		    crc32c_tab[5][(lo >> 16) & 0xff] ^ crc32c_tab[4][lo >> 24] ^
		    crc32c_tab[3][hi & 0xff] ^ crc32c_tab[2][(hi >> 8) & 0xff] ^
		    crc32c_tab[1][(hi >> 16) & 0xff] ^ crc32c_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = crc32c_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
/* The hardware path runs three independent streams, because one crc32
 * instruction waits three cycles for the previous one's result: three
 * blocks of a long buffer are summed at once and their CRCs combined by
 * shifting the first ones over the bytes after them (CRC is linear). The
 * shift over n zero bytes is a 32x32 matrix over GF(2), applied here as
 * four byte tables (Mark Adler's method, public domain). */
static uint32_t
gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;
	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void
gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends len zero bytes (a power of two) to a CRC
 * register, as four byte tables. */
static void
crc32c_zeros(uint32_t zeros[4][256], size_t len)
{
	uint32_t op[32], even[32], odd[32], row = 1;
	odd[0] = CRC32C_POLY; /* one zero bit */
	for (int n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd); /* two bits */
	gf2_square(odd, even); /* four bits */
	/* Each squaring doubles the zeros: from four bits to len bytes. */
	uint32_t *cur = odd, *next = even;
	for (size_t bits = 4; bits < len * 8; bits <<= 1) {
		gf2_square(next, cur);
		uint32_t *t = cur;
		cur = next;
		next = t;
	}
	memcpy(op, cur, sizeof(op));
	for (uint32_t n = 0; n < 256; n++) {
		zeros[0][n] = gf2_times(op, n);
		zeros[1][n] = gf2_times(op, n << 8);
		zeros[2][n] = gf2_times(op, n << 16);
		zeros[3][n] = gf2_times(op, n << 24);
	}
}

static uint32_t
crc32c_shift(const uint32_t zeros[4][256], uint32_t crc)
{
	return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
	    zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

/* Three streams of block bytes each at p (p 8-aligned); c combined. */
__attribute__((target("sse4.2"))) static uint64_t
crc32c_hw_3way(uint64_t c0, const uint8_t *p, size_t block,
    const uint32_t zeros[4][256])
{
	uint64_t c1 = 0, c2 = 0, w0, w1, w2;
	for (const uint8_t *end = p + block; p < end; p += 8) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + block, 8);
		memcpy(&w2, p + 2 * block, 8);
		c0 = _mm_crc32_u64(c0, w0);
		c1 = _mm_crc32_u64(c1, w1);
		c2 = _mm_crc32_u64(c2, w2);
	}
	c0 = crc32c_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
	return crc32c_shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw_raw(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t c64 = c;
	while (len && ((uintptr_t)p & 7)) {
		c64 = _mm_crc32_u8((uint32_t)c64, *p++);
		len--;
	}
	for (; len >= 3 * CRC_LONG; p += 3 * CRC_LONG, len -= 3 * CRC_LONG)
		c64 = crc32c_hw_3way(c64, p, CRC_LONG, crc32c_long);
	for (; len >= 3 * CRC_SHORT; p += 3 * CRC_SHORT, len -= 3 * CRC_SHORT)
		c64 = crc32c_hw_3way(c64, p, CRC_SHORT, crc32c_short);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8); /* x86 is little-endian, as the sw path */
		c64 = _mm_crc32_u64(c64, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c64 = _mm_crc32_u8((uint32_t)c64, *p++);
	return (uint32_t)c64;
}
#endif

uint32_t
crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_sw_raw(~crc, buf, len);
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
	if (crc32c_hw)
		return ~crc32c_hw_raw(~crc, buf, len);
#endif
	return ~crc32c_sw_raw(~crc, buf, len);
}
