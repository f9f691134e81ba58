/* HTTP requests from tests through the real `curl` (Debian's): one
 * request, its status, headers and body, with no client of our own. */
#ifndef HS_TEST_CURL_H
#define HS_TEST_CURL_H

#include <stddef.h>

struct test_http_resp {
	int status;    /* 0 when curl could not connect or failed */
	char *headers; /* owned: the raw header block, NUL-ended */
	char *body;    /* owned: len bytes and a NUL */
	size_t len;
};

/* method "GET", "HEAD", "PURGE", ...; extra: request headers ("Name:
 * value"), NULL-ended, may be NULL. An https URL is checked against
 * $HS_TLS_CA when set. 0 (out filled; free with test_http_free), or -1
 * when curl could not be run or reached nothing (out->status 0). */
int test_http(const char *method, const char *url, const char *const *extra,
    struct test_http_resp *out);

/* A response header's value (case-insensitive name) copied into val; NULL
 * when absent. */
char *test_http_header(const struct test_http_resp *r, const char *name,
    char *val, size_t len);

void test_http_free(struct test_http_resp *r);

#endif
