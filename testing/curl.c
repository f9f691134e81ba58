/* test_http (http.h): curl as a child process, its output read whole. */
#include "curl.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 48

static char *
read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while (buf != NULL && (got = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (b == NULL) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf != NULL)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Splits curl -i output: the last header block (after any 100 Continue)
 * and the body. */
static int
split(char *raw, size_t len, struct test_http_resp *out)
{
	char *end = strstr(raw, "\r\n\r\n");
	while (end != NULL && strncmp(end + 4, "HTTP/", 5) == 0)
		end = strstr(end + 4, "\r\n\r\n");
	if (end == NULL || sscanf(raw, "HTTP/%*s %d", &out->status) != 1 ||
	    strncmp(raw, "HTTP/", 5) != 0)
		return -1;
	size_t hlen = (size_t)(end - raw) + 2;
	size_t blen = len - (hlen + 2);
	out->headers = strndup(raw, hlen);
	out->body = malloc(blen + 1);
	if (out->headers == NULL || out->body == NULL)
		return -1;
	memcpy(out->body, end + 4, blen);
	out->body[blen] = '\0';
	out->len = blen;
	return 0;
}

int
test_http(const char *method, const char *url, const char *const *extra,
    struct test_http_resp *out)
{
	memset(out, 0, sizeof(*out));
	const char *argv[MAX_ARGS] = { "curl", "-s", "-i", "--max-time", "20" };
	int n = 5;
	if (strcmp(method, "HEAD") == 0)
		argv[n++] = "-I";
	else if (strcmp(method, "GET") != 0) {
		argv[n++] = "-X";
		argv[n++] = method;
	}
	const char *ca = getenv("HS_TLS_CA");
	if (ca != NULL && ca[0] != '\0') {
		argv[n++] = "--cacert";
		argv[n++] = ca;
	}
	for (int i = 0; extra != NULL && extra[i] != NULL && n < MAX_ARGS - 3;
	     i++) {
		argv[n++] = "-H";
		argv[n++] = extra[i];
	}
	argv[n++] = url;
	argv[n] = NULL;
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	pid_t pid;
	int rc = posix_spawnp(&pid, "curl", &fa, NULL, (char *const *)argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		fprintf(stderr, "test_http: cannot run curl (install it)\n");
		return -1;
	}
	size_t len = 0;
	char *raw = read_all(fds[0], &len);
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	rc = (raw != NULL && split(raw, len, out) == 0) ? 0 : -1;
	free(raw);
	if (rc != 0) {
		test_http_free(out);
		out->status = 0;
	}
	return rc;
}

char *
test_http_header(const struct test_http_resp *r, const char *name, char *val,
    size_t len)
{
	size_t n = strlen(name);
	for (const char *p = r->headers; p != NULL && *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(val, len, "%.*s", (int)(eol - v), v);
			return val;
		}
		p = eol + 2;
	}
	return NULL;
}

void
test_http_free(struct test_http_resp *r)
{
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
	r->len = 0;
}
