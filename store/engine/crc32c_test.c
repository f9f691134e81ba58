/* Unit tests for CRC32C (crc32c.c): known vectors, and the hardware path
 * agreeing with the portable one at every length and alignment. */
#include "crc32c.h"
#include "engine_testutil.h"

static void
crc32c_matches_known_vectors(void)
{
	CHECK_MSG(crc32c(0, "123456789", 9) == 0xE3069283u, "got %08x",
	    crc32c(0, "123456789", 9));
	CHECK_MSG(crc32c_sw(0, "123456789", 9) == 0xE3069283u, "sw wrong");
	uint8_t zeros[32] = { 0 };
	CHECK_MSG(crc32c(0, zeros, 32) == 0x8A9136AAu, "zeros: %08x",
	    crc32c(0, zeros, 32));
}

static void
crc32c_hw_and_sw_agree_at_every_length_and_alignment(void)
{
	uint8_t buf[300];
	test_fill(7, buf, sizeof(buf));
	for (size_t a = 0; a < 8; a++)
		for (size_t n = 0; n + a <= sizeof(buf); n += 13)
			CHECK_MSG(crc32c(0, buf + a, n) ==
				crc32c_sw(0, buf + a, n),
			    "a=%zu n=%zu", a, n);
	uint32_t c = crc32c(0, buf, 100);
	CHECK_MSG(crc32c(c, buf + 100, 200) == crc32c(0, buf, 300), "chaining");
}

/* Long buffers go three streams at a time (blocks of 256 and 8192 bytes,
 * combined): every length around those blocks, and a photo's. */
static void
crc32c_hw_three_streams_agree_with_sw(void)
{
	static uint8_t buf[3 * 8192 * 3 + 3 * 256 + 64];
	test_fill(9, buf, sizeof(buf));
	size_t lens[] = { 767, 768, 769, 775, 776, 1536, 1600, 24575, 24576,
		24577, 24576 + 768 + 9, 65536 + 40, sizeof(buf) - 3 };
	for (size_t a = 0; a < 3; a++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			CHECK_MSG(crc32c(0, buf + a, lens[i]) ==
				crc32c_sw(0, buf + a, lens[i]),
			    "a=%zu n=%zu", a, lens[i]);
	uint32_t c = crc32c(0, buf, 30000);
	CHECK(crc32c(c, buf + 30000, 40000) == crc32c_sw(0, buf, 70000));
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "crc32c matches known vectors",
		    crc32c_matches_known_vectors },
		{ "crc32c hw and sw agree at every length and alignment",
		    crc32c_hw_and_sw_agree_at_every_length_and_alignment },
		{ "crc32c hw three streams agree with sw",
		    crc32c_hw_three_streams_agree_with_sw },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
