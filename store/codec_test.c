/* Unit tests for the on-disk codec and CRC32C: known vectors, hardware vs
 * software agreement, round trips and rejection of damaged headers. */
#include <string.h>

#include "crc32c.h"
#include "needle.h"
#include "test_util.h"

static int crc32c_matches_known_vectors(void)
{
	CHECK(crc32c(0, "123456789", 9) == 0xE3069283u, "got %08x",
	    crc32c(0, "123456789", 9));
	CHECK(crc32c_sw(0, "123456789", 9) == 0xE3069283u, "sw wrong");
	uint8_t zeros[32] = { 0 };
	CHECK(crc32c(0, zeros, 32) == 0x8A9136AAu, "zeros: %08x",
	    crc32c(0, zeros, 32));
	return 0;
}

static int crc32c_hw_and_sw_agree_at_every_length_and_alignment(void)
{
	uint8_t buf[300];
	test_fill(7, buf, sizeof(buf));
	for (size_t a = 0; a < 8; a++)
		for (size_t n = 0; n + a <= sizeof(buf); n += 13)
			CHECK(crc32c(0, buf + a, n) == crc32c_sw(0, buf + a, n),
			    "a=%zu n=%zu", a, n);
	uint32_t c = crc32c(0, buf, 100);
	CHECK(crc32c(c, buf + 100, 200) == crc32c(0, buf, 300), "chaining");
	return 0;
}

static int needle_header_round_trips_and_rejects_bad_magic(void)
{
	struct needle_hdr h = { 0xdeadbeef, 0x0123456789abcdefull, NEEDLE_F_DELETED, 4096 }, g;
	uint8_t b[NEEDLE_HDR_SIZE];
	needle_hdr_encode(b, &h);
	CHECK(b[0] == 'H' && b[1] == 'N' && b[8] == 0xef, "little-endian layout");
	CHECK(needle_hdr_decode(b, &g) == 0, "decode");
	CHECK(g.cookie == h.cookie && g.key == h.key && g.flags == h.flags &&
	    g.size == h.size, "fields");
	b[0] ^= 1;
	CHECK(needle_hdr_decode(b, &g) == -1, "bad magic accepted");
	CHECK(needle_total_size(0) == 32 && needle_total_size(1) == 40 &&
	    needle_total_size(8) == 40 && needle_total_size(9) == 48, "sizes");
	return 0;
}

static int superblock_and_hint_detect_damage(void)
{
	struct superblock sb = { STORE_FORMAT_VERSION, 7, 2, 123456789 }, g;
	uint8_t b[SB_SIZE];
	sb_encode(b, &sb);
	CHECK(sb_decode(b, &g) == 0 && g.vol_id == 7 && g.gen == 2 &&
	    g.created_ns == 123456789, "round trip");
	b[20] ^= 0x10;
	CHECK(sb_decode(b, &g) == -1, "bit flip accepted");
	uint8_t hh[HINT_HDR_SIZE];
	hint_hdr_encode(hh, &sb);
	CHECK(hint_hdr_check(hh, &sb) == 0, "hint header");
	sb.gen = 3;
	CHECK(hint_hdr_check(hh, &sb) == -1, "stale generation accepted");
	struct hint_rec r = { 42, 8, 100, NEEDLE_F_DELREC }, q;
	uint8_t rb[HINT_REC_SIZE];
	hint_rec_encode(rb, &r);
	CHECK(hint_rec_decode(rb, &q) == 0 && q.key == 42 && q.off8 == 8 &&
	    q.size == 100 && q.flags == NEEDLE_F_DELREC, "record");
	rb[3] ^= 0x80;
	CHECK(hint_rec_decode(rb, &q) == -1, "garbage record accepted");
	return 0;
}

int main(void)
{
	static const struct test_case cases[] = {
		{ "crc32c matches known vectors", crc32c_matches_known_vectors },
		{ "crc32c hw and sw agree at every length and alignment",
		    crc32c_hw_and_sw_agree_at_every_length_and_alignment },
		{ "needle header round trips and rejects bad magic",
		    needle_header_round_trips_and_rejects_bad_magic },
		{ "superblock and hint detect damage", superblock_and_hint_detect_damage },
		{ NULL, NULL },
	};
	return test_run(cases);
}
