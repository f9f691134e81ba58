/* The JSON writer: quotes, backslashes, control characters and invalid
 * UTF-8 come out escaped so the result is always valid JSON (checked by an
 * independent validator), commas land right in nested values, and any wire
 * message prints with enums by name, bytes as hex and ids as 24 hex. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "events.pb-c.h"
#include "json.h"
#include "json_check.h"

/* Output of fn, as a malloc'd string. */
static char *
render(void (*fn)(struct json *j, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;
	json_init(&j, f);
	fn(&j, arg);
	fclose(f);
	return buf;
}

static void
one_string(struct json *j, const void *arg)
{
	json_str(j, arg);
}

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "plain", "\"plain\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "C:\\dir", "\"C:\\\\dir\"" },
	{ "a\nb\tc\r", "\"a\\nb\\tc\\r\"" },
	{ "\x01\x1f", "\"\\u0001\\u001f\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"" },
	{ "bad \xff byte", "\"bad \\ufffd byte\"" },
	{ "cut \xe2\x82", "\"cut \\ufffd\\ufffd\"" },
	{ "overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\"" },
	{ "surrogate \xed\xa0\x80", "\"surrogate \\ufffd\\ufffd\\ufffd\"" },
	{ "</script>", "\"</script>\"" },
};

static void
test_strings_are_escaped(void)
{
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		char *s = render(one_string, escapes[i].in);
		if (strcmp(s, escapes[i].out) != 0)
			fprintf(stderr, "got %s, want %s\n", s, escapes[i].out);
		int same = strcmp(s, escapes[i].out) == 0;
		int valid = json_lines_valid(s, NULL);
		free(s);
		CHECK(same);
		CHECK(valid);
	}
}

static void
test_every_byte_gives_valid_json(void)
{
	char in[256];
	for (int i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	in[255] = '\0';
	char *s = render(one_string, in);
	size_t where = 0;
	int valid = json_lines_valid(s, &where);
	if (!valid)
		fprintf(stderr, "invalid at %zu: %s\n", where, s + where);
	free(s);
	CHECK(valid);
}

static void
nested(struct json *j, const void *arg)
{
	(void)arg;
	json_obj_begin(j);
	json_kstr(j, "a", "x");
	json_key(j, "list");
	json_arr_begin(j);
	json_int(j, -1);
	json_uint(j, UINT64_MAX);
	json_obj_begin(j);
	json_obj_end(j);
	json_arr_begin(j);
	json_arr_end(j);
	json_double(j, NAN);
	json_double(j, 0.5);
	json_null(j);
	json_arr_end(j);
	json_kbool(j, "t", 1);
	json_key(j, "h");
	json_hex(j, (const uint8_t *)"\x00\xff", 2);
	json_obj_end(j);
	json_line_end(j);
	json_obj_begin(j); /* a second line starts without a comma */
	json_obj_end(j);
	json_line_end(j);
}

static void
test_commas_in_nested_values(void)
{
	char *s = render(nested, NULL);
	const char *want = "{\"a\":\"x\",\"list\":[-1,18446744073709551615,{},[],"
			   "null,0.5,null],\"t\":true,\"h\":\"00ff\"}\n{}\n";
	int same = strcmp(s, want) == 0, valid = json_lines_valid(s, NULL);
	if (!same)
		fprintf(stderr, "got  %s\nwant %s", s, want);
	free(s);
	CHECK(same);
	CHECK(valid);
}

static void
event(struct json *j, const void *arg)
{
	json_pb(j, arg);
}

static void
test_wire_message_as_json(void)
{
	Hs__Event ev = HS__EVENT__INIT;
	Hs__PhotoRecord rec = HS__PHOTO_RECORD__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	uint32_t stores[] = { 1, 3 };
	uint8_t sha[2] = { 0xab, 0x01 };
	id.key = 0x4d2;
	id.cookie = 0xcafef00d;
	rec.id = &id;
	rec.size = 5;
	rec.sha256.data = sha;
	rec.sha256.len = 2;
	rec.state = HS__PHOTO_STATE__PHOTO_ACTIVE;
	rec.n_stores = 2;
	rec.stores = stores;
	ev.seq = 7;
	ev.topic = "photo.registered";
	ev.source = "directory-\"1\"";
	ev.body_case = HS__EVENT__BODY_PHOTO;
	ev.photo = &rec;
	char *s = render(event, &ev);
	int valid = json_lines_valid(s, NULL);
	int ok = strstr(s, "\"seq\":7") &&
	    strstr(s,
		"\"topic\":\"photo."
		"registered\"") &&
	    strstr(s, "\"id\":\"00000000000004d2cafef00d\"") &&
	    strstr(s, "\"sha256\":\"ab01\"") &&
	    strstr(s,
		"\"state\":\"PHOTO_"
		"ACTIVE\"") &&
	    strstr(s, "\"stores\":[1,3]") && strstr(s, "directory-\\\"1\\\"") &&
	    !strstr(s, "\"leader\"");
	if (!ok || !valid)
		fprintf(stderr, "got %s\n", s);
	free(s);
	CHECK(valid);
	CHECK(ok);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "strings are escaped", test_strings_are_escaped },
		{ "every byte gives valid json",
		    test_every_byte_gives_valid_json },
		{ "commas in nested values", test_commas_in_nested_values },
		{ "wire message as json", test_wire_message_as_json },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
