/* JSON strings for any input bytes: quotes, backslashes and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD, so what a peer or
 * a person named (a store's zone, an address) can never break the JSON it
 * lands in. The one escaper: the CLI's writer (client/json.h) and the
 * directory's /status.json both use it. */
#ifndef RT_JSON_STR_H
#define RT_JSON_STR_H

#include <stddef.h>

#include "sbuf.h"

/* Appends s[0..n) to b as a quoted JSON string. */
void rt_json_str(struct rt_sbuf *b, const char *s, size_t n);

/* The same for a NUL-ended string; NULL appends null. */
void rt_json_cstr(struct rt_sbuf *b, const char *s);

#endif
