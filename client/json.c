/* The JSON writer (see json.h): comma placement by depth, and string
 * escaping that keeps the output valid JSON for any input bytes. */
#include "json.h"

#include <math.h>
#include <string.h>

void
json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Writes the comma a new value at this depth needs. */
static void
sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = 1;
}

static void
open_(struct json *j, char ch)
{
	sep(j);
	fputc(ch, j->out);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void
close_(struct json *j, char ch)
{
	if (j->depth > 0)
		j->depth--;
	fputc(ch, j->out);
}

void
json_obj_begin(struct json *j)
{
	open_(j, '{');
}
void
json_obj_end(struct json *j)
{
	close_(j, '}');
}
void
json_arr_begin(struct json *j)
{
	open_(j, '[');
}
void
json_arr_end(struct json *j)
{
	close_(j, ']');
}

void
json_line_end(struct json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
	j->need_comma[0] = 0;
	j->after_key = 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static void
escape(FILE *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', out);
	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		size_t len;
		switch (ch) {
		case '"':
			fputs("\\\"", out);
			i++;
			continue;
		case '\\':
			fputs("\\\\", out);
			i++;
			continue;
		case '\n':
			fputs("\\n", out);
			i++;
			continue;
		case '\r':
			fputs("\\r", out);
			i++;
			continue;
		case '\t':
			fputs("\\t", out);
			i++;
			continue;
		case '\b':
			fputs("\\b", out);
			i++;
			continue;
		case '\f':
			fputs("\\f", out);
			i++;
			continue;
		default:
			break;
		}
		if (ch < 0x20) {
			fprintf(out, "\\u%04x", ch);
			i++;
		} else if ((len = utf8_len(s + i, n - i)) == 0) {
			fputs("\\ufffd", out);
			i++;
		} else {
			fwrite(s + i, 1, len, out);
			i += len;
		}
	}
	fputc('"', out);
}

void
json_key(struct json *j, const char *key)
{
	sep(j);
	escape(j->out, key, strlen(key));
	fputc(':', j->out);
	j->after_key = 1;
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	sep(j);
	escape(j->out, s, strlen(s));
}

void
json_int(struct json *j, int64_t v)
{
	sep(j);
	fprintf(j->out, "%lld", (long long)v);
}

void
json_uint(struct json *j, uint64_t v)
{
	sep(j);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void
json_double(struct json *j, double v)
{
	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	sep(j);
	fprintf(j->out, "%.10g", v);
}

void
json_bool(struct json *j, int v)
{
	sep(j);
	fputs(v ? "true" : "false", j->out);
}

void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->out);
}

void
json_hex(struct json *j, const uint8_t *b, size_t n)
{
	sep(j);
	fputc('"', j->out);
	for (size_t i = 0; i < n; i++)
		fprintf(j->out, "%02x", b[i]);
	fputc('"', j->out);
}

/* The keyed writers of json.h: json_key, then the value. */
#define KEYED(name, type, put)                                                 \
	void name(struct json *j, const char *k, type v)                       \
	{                                                                      \
		json_key(j, k);                                                \
		put(j, v);                                                     \
	}

KEYED(json_kstr, const char *, json_str)
KEYED(json_kint, int64_t, json_int)
KEYED(json_kuint, uint64_t, json_uint)
KEYED(json_kbool, int, json_bool)
