/* The untrusted request header values the photo route (http_photo.h)
 * reads, Range and If-None-Match, and the Content-Type it guesses from a
 * photo's first bytes. Pure functions without I/O, so a plain test feeds
 * them garbage (http_photo_hdr_test.c); libmicrohttpd parses the request
 * itself, these only read one header's value. */
#ifndef STORE_HTTP_PHOTO_HDR_H
#define STORE_HTTP_PHOTO_HDR_H

#include <stddef.h>
#include <stdint.h>

enum photo_range {
	/* No Range, or one to ignore (another unit, several ranges, bad
	 * syntax, a last byte before the first): the whole photo, 200, as
	 * RFC 9110 allows. */
	PHOTO_RANGE_NONE = 0,
	PHOTO_RANGE_ONE,	   /* one range: 206 for [*first, *last] */
	PHOTO_RANGE_UNSATISFIABLE, /* starts past the end: 416 */
};

/* Reads a Range value (NULL: none) against a photo of len bytes: "bytes="
 * and one of "a-b", "a-", "-n". Numbers too long for 64 bits saturate, so
 * a huge first byte is unsatisfiable and a huge last byte is the end. */
enum photo_range photo_range_parse(const char *value, uint64_t len,
    uint64_t *first, uint64_t *last);

/* 1 when an If-None-Match value ("*", or a list of entity tags, weak ones
 * too) names etag (quoted, as sent in ETag), else 0; garbage is 0. */
int photo_etag_match(const char *value, const char *etag);

/* The media type the first bytes say (JPEG, PNG, GIF, WebP, AVIF), else
 * "application/octet-stream". */
const char *photo_content_type(const uint8_t *p, size_t len);

#endif
