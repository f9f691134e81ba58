/* rt_json_str (json_str.h). */
#include "json_str.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* The two-character escape of ch, or NULL. */
static const char *
short_escape(unsigned char ch)
{
	switch (ch) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	default:
		return NULL;
	}
}

void
rt_json_str(struct rt_sbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	rt_sbuf_append(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		const char *esc = short_escape(s[i]);
		size_t len;
		if (esc != NULL) {
			rt_sbuf_append(b, esc, 2);
			i++;
		} else if (s[i] < 0x20) {
			rt_sbuf_printf(b, "\\u%04x", s[i]);
			i++;
		} else if ((len = utf8_len(s + i, n - i)) == 0) {
			rt_sbuf_append(b, "\\ufffd", 6);
			i++;
		} else {
			rt_sbuf_append(b, s + i, len);
			i += len;
		}
	}
	rt_sbuf_append(b, "\"", 1);
}

void
rt_json_cstr(struct rt_sbuf *b, const char *s)
{
	if (s == NULL)
		rt_sbuf_append(b, "null", 4);
	else
		rt_json_str(b, s, strlen(s));
}
