/* CRC32C (Castagnoli) of needle data, superblocks and index hint records.
 * Uses SSE4.2 crc32 instructions when the CPU has them, else a
 * slicing-by-8 table; both give identical results. */
#ifndef STORE_CRC32C_H
#define STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over buf[0..len). crc32c(0, "123456789", 9) ==
 * 0xE3069283. Chaining calls gives the CRC of the concatenation. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable path alone, so tests can compare it with the hardware one. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
