/* Unit tests for the on-disk codec (needle.c): round trips of needle
 * headers, superblocks and hint records, and rejection of damaged ones. */
#include <string.h>

#include "engine_testutil.h"
#include "needle.h"

static void
needle_header_round_trips_and_rejects_bad_magic(void)
{
	struct needle_hdr h = { 0xdeadbeef, 0x0123456789abcdefull,
		NEEDLE_F_DELETED, 4096 },
			  g;
	uint8_t b[NEEDLE_HDR_SIZE];
	needle_hdr_encode(b, &h);
	CHECK_MSG(b[0] == 'H' && b[1] == 'N' && b[8] == 0xef,
	    "little-endian layout");
	CHECK_MSG(needle_hdr_decode(b, &g) == 0, "decode");
	CHECK_MSG(g.cookie == h.cookie && g.key == h.key &&
		g.flags == h.flags && g.size == h.size,
	    "fields");
	b[0] ^= 1;
	CHECK_MSG(needle_hdr_decode(b, &g) == -1, "bad magic accepted");
	CHECK_MSG(needle_total_size(0) == 32 && needle_total_size(1) == 40 &&
		needle_total_size(8) == 40 && needle_total_size(9) == 48,
	    "sizes");
}

static void
superblock_and_hint_detect_damage(void)
{
	struct superblock sb = { STORE_FORMAT_VERSION, 7, 2, 123456789 }, g;
	uint8_t b[SB_SIZE];
	sb_encode(b, &sb);
	CHECK_MSG(sb_decode(b, &g) == 0 && g.vol_id == 7 && g.gen == 2 &&
		g.created_ns == 123456789,
	    "round trip");
	b[20] ^= 0x10;
	CHECK_MSG(sb_decode(b, &g) == -1, "bit flip accepted");
	uint8_t hh[HINT_HDR_SIZE];
	hint_hdr_encode(hh, &sb);
	CHECK_MSG(hint_hdr_check(hh, &sb) == 0, "hint header");
	sb.gen = 3;
	CHECK_MSG(hint_hdr_check(hh, &sb) == -1, "stale generation accepted");
	struct hint_rec r = { 42, 8, 100, NEEDLE_F_DELREC }, q;
	uint8_t rb[HINT_REC_SIZE];
	hint_rec_encode(rb, &r);
	CHECK_MSG(hint_rec_decode(rb, &q) == 0 && q.key == 42 && q.off8 == 8 &&
		q.size == 100 && q.flags == NEEDLE_F_DELREC,
	    "record");
	rb[3] ^= 0x80;
	CHECK_MSG(hint_rec_decode(rb, &q) == -1, "garbage record accepted");
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "needle header round trips and rejects bad magic",
		    needle_header_round_trips_and_rejects_bad_magic },
		{ "superblock and hint detect damage",
		    superblock_and_hint_detect_damage },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
