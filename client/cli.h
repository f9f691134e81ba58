/* The hs CLI's shared pieces: global options, exit codes, error output
 * (human or JSON), opening the client, and path resolution under
 * `bazel run`. Each command lives in a cli_*.c file. */
#ifndef HS_CLI_H
#define HS_CLI_H

#include <stdint.h>

#include "hs.h"
#include "json.h"

/* Exit codes (docs/client.md). */
enum {
	CLI_OK = 0,
	CLI_FAIL = 1,	     /* anything else */
	CLI_NOT_FOUND = 2,   /* a well-formed id the cluster does not have */
	CLI_UNAVAILABLE = 3, /* the cluster is unreachable or not answering */
	CLI_USAGE = 64,	     /* bad command line, malformed id (EX_USAGE) */
};

struct cli {
	const char *cmd;     /* "upload", ... */
	const char *cluster; /* --cluster, $HS_CLUSTER or the default */
	char cluster_buf[4096];
	int64_t timeout_ms; /* --timeout; 0 = HS_DEFAULT_TIMEOUT_MS */
	int json;	    /* --json */
	hs_client *client;  /* opened by cli_open, closed by main */
};

/* Reports a failure of the command and returns its exit code. Human:
 * "hs CMD: MESSAGE" (plus what to do for an unreachable cluster) on
 * stderr. --json: {"ok":false,"command":..,"code":..,"exit":..,
 * "error":..} on stdout. subject (may be NULL) names the file or id. */
int cli_fail(struct cli *c, hs_status st, const char *subject,
    const char *message);

/* A usage error: the message and "see `hs CMD --help`"; returns 64. */
int cli_usage(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens c->client from c->cluster. 0, or the exit code after reporting. */
int cli_open(struct cli *c);

/* Resolves a relative path against BUILD_WORKING_DIRECTORY (the caller's
 * folder under `bazel run`) into buf; returns buf or p unchanged. */
const char *cli_path(const char *p, char *buf, size_t len);

/* Parses an id argument, reporting a malformed one (exit 64). 0 or 64. */
int cli_parse_id(struct cli *c, const char *text, hs_photo_id *id);

/* The one JSON line of a command's --json output: cli_json_begin writes
 * {"ok":ok on stdout, the command adds its fields, cli_json_end closes the
 * object and ends the line. */
void cli_json_begin(struct json *j, int ok);
void cli_json_end(struct json *j);

/* Human-readable sizes ("12.3 MiB") into buf. */
const char *cli_bytes(uint64_t n, char *buf, size_t len);

/* Commands: argv[0] is the command name. Each returns an exit code. */
int cli_upload(struct cli *c, int argc, char **argv);
int cli_download(struct cli *c, int argc, char **argv);
int cli_status(struct cli *c, int argc, char **argv);
int cli_url(struct cli *c, int argc, char **argv);
int cli_delete(struct cli *c, int argc, char **argv);
int cli_stats(struct cli *c, int argc, char **argv);
int cli_health(struct cli *c, int argc, char **argv);
int cli_check(struct cli *c, int argc, char **argv);
int cli_tap(struct cli *c, int argc, char **argv);
int cli_audit(struct cli *c, int argc, char **argv);
int cli_cred(struct cli *c, int argc, char **argv);
int cli_backup(struct cli *c, int argc, char **argv);
int cli_restore(struct cli *c, int argc, char **argv);
int cli_rebuild(struct cli *c, int argc, char **argv);

#endif
