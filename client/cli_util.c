/* The CLI's shared helpers (cli.h): exit codes, error output in human or
 * JSON form, opening the client, and resolving paths under `bazel run`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
exit_code(hs_status st)
{
	switch (st) {
	case HS_OK:
		return CLI_OK;
	case HS_NOT_FOUND:
		return CLI_NOT_FOUND;
	case HS_UNAVAILABLE:
	case HS_DEADLINE_EXCEEDED:
		return CLI_UNAVAILABLE;
	default:
		return CLI_FAIL;
	}
}

void
cli_json_begin(struct json *j, int ok)
{
	json_init(j, stdout);
	json_obj_begin(j);
	json_kbool(j, "ok", ok);
}

void
cli_json_end(struct json *j)
{
	json_obj_end(j);
	json_line_end(j);
}

/* What to do about a failure, beyond what libhs' message already says. */
static const char *
advice(hs_status st, const char *message)
{
	if (strstr(message, "//tools:cluster") != NULL)
		return ""; /* the message already says how to start one */
	switch (st) {
	case HS_UNAVAILABLE:
		return " Start it with `bazel run //tools:cluster -- up`, or "
		       "name another cluster with --cluster FILE.";
	case HS_DEADLINE_EXCEEDED:
		return " The cluster may be overloaded or failing over; retry, "
		       "or give more time with --timeout.";
	case HS_UNAUTHENTICATED:
		return " Check that key_file in the cluster file is this "
		       "cluster's key.";
	default:
		return "";
	}
}

static void
json_error(struct cli *c, hs_status st, int code, const char *subject,
    const char *message)
{
	struct json j;
	char full[1024];
	snprintf(full, sizeof(full), "%s%s", message, advice(st, message));
	cli_json_begin(&j, 0);
	json_kstr(&j, "command", c->cmd);
	if (subject != NULL)
		json_kstr(&j, "subject", subject);
	json_kstr(&j, "code", code == CLI_USAGE ? "USAGE" : hs_status_str(st));
	json_kint(&j, "exit", code);
	json_kstr(&j, "error", full);
	cli_json_end(&j);
}

int
cli_fail(struct cli *c, hs_status st, const char *subject, const char *message)
{
	int code = exit_code(st);
	if (c->json)
		json_error(c, st, code, subject, message);
	else if (subject != NULL && strstr(message, subject) == NULL)
		fprintf(stderr, "hs %s: %s: %s%s\n", c->cmd ? c->cmd : "",
		    subject, message, advice(st, message));
	else
		fprintf(stderr, "hs %s: %s%s\n", c->cmd ? c->cmd : "", message,
		    advice(st, message));
	return code;
}

int
cli_usage(struct cli *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		json_error(c, HS_INVALID_ARGUMENT, CLI_USAGE, NULL, msg);
	} else if (c->cmd != NULL) {
		fprintf(stderr, "hs %s: %s (see `hs %s --help`)\n", c->cmd, msg,
		    c->cmd);
	} else {
		fprintf(stderr, "hs: %s\n", msg);
	}
	return CLI_USAGE;
}

int
cli_open(struct cli *c)
{
	hs_error e;
	hs_status st = hs_open_file(&c->client, c->cluster, &e);
	if (st == HS_OK)
		return 0;
	/* A missing cluster file means no cluster to talk to. */
	return cli_fail(c, st == HS_NOT_FOUND ? HS_UNAVAILABLE : st, NULL,
	    e.message);
}

const char *
cli_path(const char *p, char *buf, size_t len)
{
	const char *wd = getenv("BUILD_WORKING_DIRECTORY");
	if (p[0] == '/' || wd == NULL || wd[0] == '\0')
		return p;
	snprintf(buf, len, "%s/%s", wd, p);
	return buf;
}

int
cli_parse_id(struct cli *c, const char *text, hs_photo_id *id)
{
	hs_error e;
	if (hs_id_parse(text, id, &e) != HS_OK)
		return cli_usage(c, "%s", e.message);
	return 0;
}

const char *
cli_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}
