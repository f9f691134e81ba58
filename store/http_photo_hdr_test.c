/* The photo route's reading of untrusted header values: Range (the three
 * forms, what is ignored, what is unsatisfiable, numbers past 64 bits),
 * If-None-Match lists, and the content type from magic bytes. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "http_photo_hdr.h"

/* The range parsed against len as "a-b", "416" or "200". */
static const char *
range(const char *value, uint64_t len)
{
	static char out[64];
	uint64_t a = 7, b = 7;
	switch (photo_range_parse(value, len, &a, &b)) {
	case PHOTO_RANGE_ONE:
		snprintf(out, sizeof(out), "%llu-%llu", (unsigned long long)a,
		    (unsigned long long)b);
		return out;
	case PHOTO_RANGE_UNSATISFIABLE:
		return "416";
	default:
		return "200";
	}
}

#define CHECK_RANGE(value, len, want)                                          \
	CHECK_MSG(strcmp(range(value, len), want) == 0,                        \
	    "Range '%s' of %d bytes: got %s, want %s", value, (int)(len),      \
	    range(value, len), want)

struct range_case {
	const char *value;
	uint64_t len;
	const char *want; /* as range() says it */
};

static void
check_ranges(const struct range_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK_RANGE(t[i].value, t[i].len, t[i].want);
}

#define CHECK_RANGES(t) check_ranges(t, sizeof(t) / sizeof(t[0]))

static void
test_single_ranges_in_their_three_forms(void)
{
	static const struct range_case t[] = {
		{ "bytes=0-99", 1000, "0-99" },
		{ "bytes=10-10", 1000, "10-10" },
		{ "bytes=900-", 1000, "900-999" },
		{ "bytes=-100", 1000, "900-999" },
		{ "bytes=990-2000", 1000, "990-999" }, /* clamped */
		{ "bytes=-5000", 1000, "0-999" },      /* whole */
		{ "BYTES=0-0", 1000, "0-0" },	       /* unit: any case */
		{ "bytes= 1-2 ", 1000, "1-2" },	       /* list padding */
		{ "bytes=,1-2,", 1000, "1-2" },	       /* empty elements */
	};
	CHECK_RANGES(t);
}

static void
test_unsatisfiable_ranges(void)
{
	static const struct range_case t[] = {
		{ "bytes=1000-", 1000, "416" },
		{ "bytes=1000-1005", 1000, "416" },
		{ "bytes=-0", 1000, "416" },
		{ "bytes=0-", 0, "416" },
		{ "bytes=-1", 0, "416" },
	};
	CHECK_RANGES(t);
}

static void
test_ranges_to_ignore_answer_the_whole_photo(void)
{
	CHECK_EQ(photo_range_parse(NULL, 1000, &(uint64_t){ 0 },
		     &(uint64_t){ 0 }),
	    PHOTO_RANGE_NONE);
	static const struct range_case t[] = {
		{ "", 1000, "200" },
		{ "bytes=", 1000, "200" },
		{ "bytes=0-1,5-6", 1000, "200" }, /* several */
		{ "bytes=5-3", 1000, "200" },	  /* last before first */
		{ "bytes=-", 1000, "200" },
		{ "bytes=--5", 1000, "200" },
		{ "bytes=1-2-3", 1000, "200" },
		{ "bytes=1 -2", 1000, "200" },
		{ "bytes=a-b", 1000, "200" },
		{ "bytes=0x10-", 1000, "200" },
		{ "bytes=+1-2", 1000, "200" },
		{ "bytes=1-2;x", 1000, "200" },
		{ "items=0-1", 1000, "200" },
		{ "bytes 0-1", 1000, "200" },
	};
	CHECK_RANGES(t);
}

static void
test_numbers_past_64_bits_saturate(void)
{
	static const struct range_case t[] = {
		{ "bytes=18446744073709551615-", 1000, "416" },
		{ "bytes=99999999999999999999999999999-", 1000, "416" },
		{ "bytes=99999999999999999999999999999-"
		  "99999999999999999999999999999",
		    1000, "416" },
		{ "bytes=0-99999999999999999999999999999", 1000, "0-999" },
		{ "bytes=-99999999999999999999999999999", 1000, "0-999" },
		{ "bytes=18446744073709551614-18446744073709551615", UINT64_MAX,
		    "18446744073709551614-18446744073709551614" },
	};
	CHECK_RANGES(t);
	/* A long value is read to its end, not past it. */
	char big[10001];
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "bytes=-", 7);
	CHECK_RANGE(big, 1000, "0-999");
	big[5] = 'x';
	CHECK_RANGE(big, 1000, "200");
}

static void
test_if_none_match_lists(void)
{
	const char *tag = "\"abc\"";
	CHECK(photo_etag_match("\"abc\"", tag));
	CHECK(photo_etag_match("*", tag));
	CHECK(photo_etag_match("W/\"abc\"", tag));
	CHECK(photo_etag_match("\"x\", \"abc\"", tag));
	CHECK(photo_etag_match("\"x\",W/\"abc\" ,\"y\"", tag));
	CHECK(!photo_etag_match(NULL, tag));
	CHECK(!photo_etag_match("", tag));
	CHECK(!photo_etag_match("\"abcd\"", tag));
	CHECK(!photo_etag_match("\"ab\"", tag));
	CHECK(!photo_etag_match("abc", tag));
	CHECK(!photo_etag_match("\"abc", tag));
	CHECK(!photo_etag_match("W/", tag));
	CHECK(!photo_etag_match("\"x\" junk \"abc\"", tag));
}

static void
test_content_type_from_magic_bytes(void)
{
	static const uint8_t jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 0x10 };
	static const uint8_t png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
		'\n', 0 };
	static const uint8_t avif[] = { 0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'a',
		'v', 'i', 'f' };
	static const uint8_t avis[] = { 0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'a',
		'v', 'i', 's' };
	static const uint8_t mp4[] = { 0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'i',
		's', 'o', 'm' };
	CHECK(
	    strcmp(photo_content_type(jpeg, sizeof(jpeg)), "image/jpeg") == 0);
	CHECK(strcmp(photo_content_type(png, sizeof(png)), "image/png") == 0);
	CHECK(strcmp(photo_content_type((const uint8_t *)"GIF89a..", 8),
		  "image/gif") == 0);
	CHECK(strcmp(photo_content_type((const uint8_t *)"GIF87a", 6),
		  "image/gif") == 0);
	CHECK(strcmp(photo_content_type((const uint8_t *)"RIFF\1\0\0\0WEBPVP8 ",
			 16),
		  "image/webp") == 0);
	CHECK(
	    strcmp(photo_content_type(avif, sizeof(avif)), "image/avif") == 0);
	CHECK(
	    strcmp(photo_content_type(avis, sizeof(avis)), "image/avif") == 0);
	const char *other = "application/octet-stream";
	CHECK(strcmp(photo_content_type(mp4, sizeof(mp4)), other) == 0);
	CHECK(strcmp(photo_content_type(jpeg, 2), other) == 0); /* cut */
	CHECK(strcmp(photo_content_type(png, 7), other) == 0);
	CHECK(
	    strcmp(photo_content_type((const uint8_t *)"RIFF\1\0\0\0WAVE", 12),
		other) == 0);
	CHECK(strcmp(photo_content_type(NULL, 0), other) == 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "single ranges in their three forms",
		    test_single_ranges_in_their_three_forms },
		{ "unsatisfiable ranges", test_unsatisfiable_ranges },
		{ "ranges to ignore answer the whole photo",
		    test_ranges_to_ignore_answer_the_whole_photo },
		{ "numbers past 64 bits saturate",
		    test_numbers_past_64_bits_saturate },
		{ "If-None-Match lists", test_if_none_match_lists },
		{ "content type from magic bytes",
		    test_content_type_from_magic_bytes },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
