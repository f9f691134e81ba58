/* Photo ids as people type them: every id round-trips through its 24-hex
 * form, either case parses, and nonsense is refused with a message that
 * quotes it and says what an id looks like. Plus the SHA-256 helper
 * against the FIPS 180-2 vector, since every transfer is checked with it. */
#include "check.h"
#include "hs.h"

static void
test_round_trip(void)
{
	static const hs_photo_id ids[] = {
		{ 0, 0 },
		{ 1, 1 },
		{ 0x4d2, 0xcafef00d },
		{ UINT64_MAX, UINT32_MAX },
		{ 0x0123456789abcdefull, 0x80000000u },
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char hex[HS_ID_HEX_LEN + 1];
		hs_photo_id back = { 7, 7 };
		hs_error e;
		hs_id_format(ids[i], hex);
		CHECK_EQ(strlen(hex), HS_ID_HEX_LEN);
		CHECK_STATUS(hs_id_parse(hex, &back, &e), HS_OK, e.message);
		CHECK(back.key == ids[i].key);
		CHECK_EQ(back.cookie, ids[i].cookie);
	}
	char hex[HS_ID_HEX_LEN + 1];
	hs_id_format((hs_photo_id){ 0x4d2, 0xcafef00d }, hex);
	CHECK(strcmp(hex, "00000000000004d2cafef00d") == 0);
}

static void
test_upper_case_parses(void)
{
	hs_photo_id id;
	CHECK_STATUS(hs_id_parse("00000000000004D2CAFEF00D", &id, NULL), HS_OK,
	    "upper case");
	CHECK(id.key == 0x4d2 && id.cookie == 0xcafef00d);
}

static void
test_nonsense_is_refused_clearly(void)
{
	static const char *const bad[] = {
		"",
		"zzz",
		"00000000000004d2cafef00",
		"00000000000004d2cafef00d0",
		"00000000000004d2cafef0g0",
		" 0000000000004d2cafef00d",
		"0x000000000004d2cafef00d",
		"-0000000000004d2cafef00d",
		"00000000000004d2\ncafef00",
		"../../../../etc/passwd....",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hs_photo_id id = { 42, 42 };
		hs_error e = { .code = HS_OK };
		CHECK_STATUS(hs_id_parse(bad[i], &id, &e), HS_INVALID_ARGUMENT,
		    bad[i]);
		CHECK_EQ(e.code, HS_INVALID_ARGUMENT);
		CHECK(strstr(e.message, "24 hex digits") != NULL);
		CHECK(strstr(e.message, "is not a photo id") != NULL);
		CHECK(id.key == 42); /* output untouched on failure */
	}
	hs_error e;
	CHECK_STATUS(hs_id_parse(NULL, NULL, &e), HS_INVALID_ARGUMENT, "NULL");
	CHECK(hs_id_parse("zzz", NULL, NULL) == HS_INVALID_ARGUMENT);
}

static void
test_message_names_the_bad_character(void)
{
	hs_photo_id id;
	hs_error e;
	hs_id_parse("00000000000004d2cafef0g0", &id, &e);
	CHECK(strstr(e.message, "character 23") != NULL);
}

static void
test_sha256_known_vector(void)
{
	uint8_t d[HS_SHA256_LEN];
	static const uint8_t abc[HS_SHA256_LEN] = {
		0xba,
		0x78,
		0x16,
		0xbf,
		0x8f,
		0x01,
		0xcf,
		0xea,
		0x41,
		0x41,
		0x40,
		0xde,
		0x5d,
		0xae,
		0x22,
		0x23,
		0xb0,
		0x03,
		0x61,
		0xa3,
		0x96,
		0x17,
		0x7a,
		0x9c,
		0xb4,
		0x10,
		0xff,
		0x61,
		0xf2,
		0x00,
		0x15,
		0xad,
	};
	hs_sha256("abc", 3, d);
	CHECK(memcmp(d, abc, sizeof(d)) == 0);
	hs_sha256(NULL, 0, d); /* the empty photo */
	CHECK(d[0] == 0xe3 && d[1] == 0xb0 && d[31] == 0x55);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "round trip", test_round_trip },
		{ "upper case parses", test_upper_case_parses },
		{ "nonsense is refused clearly",
		    test_nonsense_is_refused_clearly },
		{ "message names the bad character",
		    test_message_names_the_bad_character },
		{ "sha256 known vector", test_sha256_known_vector },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
