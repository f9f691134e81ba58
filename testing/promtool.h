/* Prometheus' own checker on a metrics page: `promtool check metrics`
 * (Debian's prometheus package), which parses the text exposition and
 * lints names, units, HELP and TYPE by Prometheus' conventions. */
#ifndef HS_TEST_PROMTOOL_H
#define HS_TEST_PROMTOOL_H

#include <stddef.h>

/* Writes page[0..len) to a file under dir and pipes it to `promtool check
 * metrics`: 0 when promtool finds nothing, else its exit code (-1: it
 * could not run) with what it said in why (NUL-ended). */
int test_promtool_check(const char *page, size_t len, const char *dir,
    char *why, size_t whylen);

#endif
