/* hs: the command line of haystack-c. main() takes the global options
 * (--cluster, --timeout, --json, --help) from anywhere before `--`, finds
 * the cluster file, and runs one command from the table below; every
 * command has --help and the exit codes of cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *args;
	const char *summary;
	const char *help;
};

static const struct cli_cmd commands[] = {
	{ "upload", cli_upload, "FILE...",
	    "upload photos; prints one id a line",
	    "Uploads each FILE (at most 64 MiB) and prints its photo id, one a\n"
	    "line, in the order given. Files upload concurrently; on a terminal\n"
	    "a progress line is shown on stderr. Relative paths are relative to\n"
	    "the folder `bazel run` was started from.\n"
	    "  --replicas N   copies to keep (default: the cluster's)\n"
	    "  --url          print each photo's URL (as `hs url`), not its id\n" },
	{ "download", cli_download, "ID [OUT]", "download a photo",
	    "Writes photo ID to OUT, or to stdout when OUT is `-` or missing.\n"
	    "The bytes are checked against the photo's SHA-256; a file is\n"
	    "written under a temporary name and renamed, never left partial.\n" },
	{ "status", cli_status, "ID",
	    "size, SHA-256, state and replicas of a photo",
	    "Shows a photo's size, SHA-256, state, its replicas with their\n"
	    "stores' state, the replica count against its target, and its\n"
	    "access rate when known.\n" },
	{ "url", cli_url, "ID", "the photo's web URL",
	    "Prints the URL a browser fetches photo ID from: the web cache's\n"
	    "(the cluster file's `web`) when there is one, else the store a\n"
	    "directory's redirect names first (docs/web.md).\n" },
	{ "delete", cli_delete, "ID", "delete a photo",
	    "Deletes photo ID everywhere; reads fail with exit code 2 at once.\n"
	    "Deleting a deleted photo succeeds.\n" },
	{ "stats", cli_stats, "",
	    "photos, bytes, stores, volumes, cache hit rate",
	    "Cluster-wide counts from the directory and the cache.\n" },
	{ "health", cli_health, "",
	    "leader, followers, stores, Redis, replicator",
	    "The leader, each follower with its lag, each store UP or DOWN,\n"
	    "Redis, and the replicator. Exits 0 when it could ask the cluster.\n" },
	{ "check", cli_check, "",
	    "full status report; exit 1 if anything is unhealthy",
	    "health + stats + the replicator's queue. Exits 0 only when\n"
	    "everything is healthy (a leader, Redis up, every store UP, the\n"
	    "replicator active), 1 otherwise, 3 when the cluster is unreachable.\n" },
	{ "tap", cli_tap, "[--topic PREFIX]...",
	    "print cluster events as JSON lines",
	    "Subscribes to every event feed in the cluster file and prints one\n"
	    "JSON object a line until interrupted. --topic (repeatable) keeps\n"
	    "only topics starting with PREFIX (photo., store., leader., task.,\n"
	    "audit., needle.). An event carries \"missed\": N when the feed\n"
	    "dropped N events of its publisher before it.\n" },
	{ "audit", cli_audit, "[--wait]", "run the replicator's audit",
	    "Starts the replicator's audit (orphans, missing replicas,\n"
	    "leftovers); with --wait, waits for it and prints its summary.\n" },
	{ "cred", cli_cred, "add|revoke|list", "manage credentials (admin)",
	    "hs cred add NAME --out FILE [--role client|admin]: makes a key\n"
	    "pair, has the directory record it and writes NAME's identity\n"
	    "file (mode 0600) for the application to use as its key_file.\n"
	    "hs cred revoke NAME: refused everywhere once this returns (the\n"
	    "answer counts the stores that confirmed); its grants go with it.\n"
	    "hs cred list: the credentials added so far.\n" },
	{ "backup", cli_backup, "FILE", "copy every photo record to FILE",
	    "Writes every record the directory leader holds, deleted ones\n"
	    "included, to FILE (written under a temporary name, then renamed).\n"
	    "The format is in docs/reliability.md, \"A way back\".\n" },
	{ "restore", cli_restore, "FILE", "put a backup's records back",
	    "Checks FILE whole (header, count, SHA-256), then sends its records\n"
	    "to the directory. A photo the directory holds is left alone\n"
	    "(counted as kept), so running it twice changes nothing. A damaged\n"
	    "file restores nothing and exits 1.\n" },
	{ "rebuild", cli_rebuild, "", "recover the records from the stores",
	    "For a metadata Redis that lost its records: lists every store's\n"
	    "needles and restores one record per photo (never over an existing\n"
	    "one). Run it when `hs health` shows every store UP; what it can\n"
	    "and cannot recover is in docs/reliability.md.\n" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "Global options (anywhere before `--`):\n"
    "  --cluster FILE   the cluster file (default: $HS_CLUSTER, else\n"
    "                   .hs/cluster in the repository, as written by\n"
    "                   `bazel run //tools:cluster -- up`)\n"
    "  --timeout DUR    deadline of each command, e.g. 5s, 500ms (default 30s)\n"
    "  --json           machine-readable output, one JSON object a line\n"
    "  --help           this help, or a command's help\n"
    "Exit codes: 0 ok, 2 not found, 3 cluster unavailable, 64 usage,\n"
    "1 anything else.\n";

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: hs [--cluster FILE] [--timeout DUR] [--json] "
	    "COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-9s %-20s %s\n", commands[i].name,
		    commands[i].args, commands[i].summary);
	fprintf(out, "\n%s\nRun `hs COMMAND --help` for a command's details.\n",
	    global_help);
}

static void
command_help(const struct cli_cmd *cmd)
{
	printf("usage: hs %s %s\n\n%s\n%s", cmd->name, cmd->args, cmd->help,
	    global_help);
}

/* The repository root above dir (a folder holding WORKSPACE), or NULL. */
static int
find_root(const char *dir, char *out, size_t len)
{
	char path[4096];
	snprintf(out, len, "%s", dir);
	for (;;) {
		struct stat sb;
		snprintf(path, sizeof(path), "%s/WORKSPACE", out);
		if (stat(path, &sb) == 0)
			return 1;
		char *slash = strrchr(out, '/');
		if (slash == NULL || slash == out)
			return 0;
		*slash = '\0';
	}
}

/* --cluster, else $HS_CLUSTER, else <repo root>/.hs/cluster with the root
 * found from BUILD_WORKSPACE_DIRECTORY (bazel run) or the current folder. */
static void
default_cluster(struct cli *c)
{
	const char *env = getenv("HS_CLUSTER");
	char cwd[2048], root[2048];
	if (env != NULL && env[0] != '\0') {
		c->cluster = cli_path(env, c->cluster_buf,
		    sizeof(c->cluster_buf));
		return;
	}
	const char *ws = getenv("BUILD_WORKSPACE_DIRECTORY");
	if (ws == NULL || ws[0] == '\0')
		ws = getcwd(cwd, sizeof(cwd)) != NULL ? cwd : ".";
	if (!find_root(ws, root, sizeof(root)))
		snprintf(root, sizeof(root), "%s", ws);
	snprintf(c->cluster_buf, sizeof(c->cluster_buf), "%s/.hs/cluster",
	    root);
	c->cluster = c->cluster_buf;
}

/* Moves the global options out of argv (in place); the rest keeps its
 * order. Returns -1 after a usage error (printed), 1 for --help, else 0. */
static int
take_globals(struct cli *c, int *argc, char **argv, int *help)
{
	int out = 0, i;
	for (i = 0; i < *argc; i++) {
		const char *a = argv[i], *v = NULL;
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--json") == 0) {
			c->json = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = 1;
		} else if (strncmp(a, "--cluster", 9) == 0 &&
		    (a[9] == '=' || a[9] == '\0')) {
			v = a[9] == '=' ? a + 10 :
					  (i + 1 < *argc ? argv[++i] : NULL);
			if (v == NULL || *v == '\0')
				return cli_usage(c, "--cluster needs a file"),
				       -1;
			c->cluster = cli_path(v, c->cluster_buf,
			    sizeof(c->cluster_buf));
		} else if (strncmp(a, "--timeout", 9) == 0 &&
		    (a[9] == '=' || a[9] == '\0')) {
			v = a[9] == '=' ? a + 10 :
					  (i + 1 < *argc ? argv[++i] : NULL);
			if (v == NULL || rt_parse_ms(v, &c->timeout_ms) != 0 ||
			    c->timeout_ms <= 0)
				return cli_usage(c,
					   "--timeout needs a duration "
					   "such as 5s or 500ms, not '%s'",
					   v ? v : ""),
				       -1;
		} else {
			argv[out++] = argv[i];
		}
	}
	for (; i < *argc; i++) /* `--` and what follows stay as they are */
		argv[out++] = argv[i];
	*argc = out;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c = { .cmd = NULL };
	int help = 0;
	rt_log_init("hs", 'C');
	if (getenv("HS_LOG_LEVEL") == NULL)
		rt_log_set_level(RT_LOG_WARN);
	argc--, argv++;
	if (take_globals(&c, &argc, argv, &help) != 0)
		return CLI_USAGE;
	if (argc == 0 && c.json && !help)
		return cli_usage(&c, "name a command (see `hs --help`)");
	if (argc == 0 || strcmp(argv[0], "help") == 0) {
		usage(help || argc > 0 ? stdout : stderr);
		return help || argc > 0 ? CLI_OK : CLI_USAGE;
	}
	const struct cli_cmd *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		if (argv[0][0] == '-')
			return cli_usage(&c,
			    "unknown option '%s'; see `hs "
			    "--help`",
			    argv[0]);
		return cli_usage(&c,
		    "unknown command '%s'; the commands are "
		    "upload, download, status, url, delete, stats, health, "
		    "check, "
		    "tap, audit, backup, restore and rebuild (see `hs --help`)",
		    argv[0]);
	}
	c.cmd = cmd->name;
	if (help) {
		command_help(cmd);
		return CLI_OK;
	}
	if (c.cluster == NULL)
		default_cluster(&c);
	int rc = cmd->fn(&c, argc, argv);
	hs_close(c.client);
	return rc;
}
