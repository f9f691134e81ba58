/* The JSON writer (see json.h): comma placement by depth, and string
 * escaping that keeps the output valid JSON for any input bytes. */
#include "json.h"

#include <math.h>
#include <string.h>

#include "json_str.h"

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

/* Writes s[0..n) as a JSON string (the runtime's one escaper). */
static void
escape(FILE *out, const char *s, size_t n)
{
	struct rt_sbuf b = { 0 };
	rt_json_str(&b, s, n);
	if (b.failed)
		fputs("null", out); /* out of memory: still valid JSON */
	else
		fwrite(b.buf, 1, b.len, out);
	rt_sbuf_free(&b);
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
