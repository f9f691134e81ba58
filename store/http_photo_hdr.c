/* Request header values of the photo route and its content type guess
 * (http_photo_hdr.h). Every loop here is bounded by the value's NUL: the
 * values come from anyone who can reach the port. */
#include "http_photo_hdr.h"

#include <string.h>
#include <strings.h>

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Decimal digits at *p (at least one), saturating at UINT64_MAX; *p moves
 * past them. 0, or -1 when there is no digit. */
static int
read_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	*p = s;
	*v = n;
	return 0;
}

/* One range-spec: "a-b" or "a-" (open: b is UINT64_MAX, as is a last byte
 * too big to write), or the suffix "-n" (suffix set, n in b). */
struct spec {
	int suffix;
	uint64_t a, b;
};

/* The range-spec at s up to end (no blanks inside). 0, or -1 when it is
 * not one. */
static int
read_spec(const char *s, const char *end, struct spec *r)
{
	*r = (struct spec){ .suffix = *s == '-', .b = UINT64_MAX };
	if (!r->suffix && read_u64(&s, &r->a) != 0)
		return -1;
	if (s == end || *s++ != '-')
		return -1;
	if (s < end && read_u64(&s, &r->b) != 0)
		return -1;
	if (s != end || (r->suffix && s[-1] == '-'))
		return -1; /* trailing bytes, or a bare "-" */
	return !r->suffix && r->b < r->a ? -1 : 0;
}

/* The one range-spec of a range-set (list elements may be empty and
 * padded with blanks): 1 with it in *r, 0 for none or several, -1 on bad
 * syntax. */
static int
only_spec(const char *set, struct spec *r)
{
	int n = 0;
	for (const char *p = set;;) {
		p = skip_ows(p);
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if (e > p && (++n > 1 || read_spec(p, e, r) != 0))
			return n > 1 ? 0 : -1;
		p = skip_ows(e);
		if (*p == '\0')
			return n;
		if (*p++ != ',')
			return -1;
	}
}

enum photo_range
photo_range_parse(const char *value, uint64_t len, uint64_t *first,
    uint64_t *last)
{
	struct spec r = { 0, 0, 0 };
	if (value == NULL || strncasecmp(value, "bytes=", 6) != 0 ||
	    only_spec(value + 6, &r) != 1)
		return PHOTO_RANGE_NONE;
	if (r.suffix) { /* the last b bytes */
		if (r.b == 0 || len == 0)
			return PHOTO_RANGE_UNSATISFIABLE;
		*first = r.b >= len ? 0 : len - r.b;
		*last = len - 1;
		return PHOTO_RANGE_ONE;
	}
	if (r.a >= len)
		return PHOTO_RANGE_UNSATISFIABLE;
	*first = r.a;
	*last = r.b >= len ? len - 1 : r.b;
	return PHOTO_RANGE_ONE;
}

int
photo_etag_match(const char *value, const char *etag)
{
	size_t elen = strlen(etag);
	if (value == NULL)
		return 0;
	for (const char *p = value;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2; /* If-None-Match compares weakly */
		if (*p != '"')
			return 0;
		const char *q = strchr(p + 1, '"');
		if (q == NULL)
			return 0;
		if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = q + 1;
	}
}

const char *
photo_content_type(const uint8_t *p, size_t len)
{
	static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
		'\n' };
	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "image/jpeg";
	if (len >= 8 && memcmp(p, png, 8) == 0)
		return "image/png";
	if (len >= 6 &&
	    (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	/* ISO BMFF: a box size, "ftyp", then the major brand. */
	if (len >= 12 && memcmp(p + 4, "ftyp", 4) == 0 &&
	    (memcmp(p + 8, "avif", 4) == 0 || memcmp(p + 8, "avis", 4) == 0))
		return "image/avif";
	return "application/octet-stream";
}
