/* Test helper: a strict JSON validator, so tests can prove that what the
 * writer and the CLI print is valid JSON without trusting the writer. */
#ifndef HS_JSON_CHECK_H
#define HS_JSON_CHECK_H

#include <stddef.h>

/* 1 if text is one JSON value per non-empty line (JSON lines), else 0 with
 * the byte offset of the first error in *where (may be NULL). */
int json_lines_valid(const char *text, size_t *where);

#endif
