/* The way-back commands of hs: backup (every record to a file), restore
 * (a backup file back into the directory) and rebuild (the records
 * recovered from the stores). Each prints one summary; a progress line
 * goes to stderr when it is a terminal. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void
progress(void *arg, uint64_t done, uint64_t total)
{
	const char *what = arg;
	if (total > 0)
		fprintf(stderr, "\r%s: %llu of %llu records", what,
		    (unsigned long long)done, (unsigned long long)total);
	else
		fprintf(stderr, "\r%s: %llu records", what,
		    (unsigned long long)done);
	fflush(stderr);
}

/* The progress callback for c: none under --json or off a terminal. */
static hs_progress_fn
progress_fn(struct cli *c)
{
	return !c->json && isatty(STDERR_FILENO) ? progress : NULL;
}

static void
summary_json(struct cli *c, const char *file, const struct hs_wayback_stats *s)
{
	struct json j;
	cli_json_begin(&j, 1);
	if (file != NULL)
		json_kstr(&j, "file", file);
	json_kuint(&j, "records", s->records);
	json_kuint(&j, "active", s->active);
	json_kuint(&j, "deleted", s->deleted);
	if (strcmp(c->cmd, "backup") == 0) {
		json_kuint(&j, "head_seq", s->head_seq);
	} else {
		json_kuint(&j, "restored", s->restored);
		json_kuint(&j, "kept", s->kept);
	}
	if (strcmp(c->cmd, "rebuild") == 0) {
		json_kuint(&j, "stores", s->stores);
		json_kuint(&j, "needles", s->needles);
		json_kuint(&j, "skipped", s->skipped);
		json_kuint(&j, "unreadable", s->unreadable);
	}
	cli_json_end(&j);
}

/* Runs c's command (argv checked); the exit code after printing. */
static int
run(struct cli *c, const char *file)
{
	struct hs_wayback_stats s;
	hs_error e;
	hs_status st;
	char path[4096];
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	hs_progress_fn fn = progress_fn(c);
	void *arg = (void *)c->cmd;
	if (file != NULL)
		file = cli_path(file, path, sizeof(path));
	if (strcmp(c->cmd, "backup") == 0)
		st = hs_backup(c->client, file, fn, arg, c->timeout_ms, &s, &e);
	else if (strcmp(c->cmd, "restore") == 0)
		st = hs_restore(c->client, file, fn, arg, c->timeout_ms, &s,
		    &e);
	else
		st = hs_rebuild(c->client, fn, arg, c->timeout_ms, &s, &e);
	if (fn != NULL)
		fputc('\n', stderr);
	if (st != HS_OK)
		return cli_fail(c, st, file, e.message);
	if (c->json) {
		summary_json(c, file, &s);
	} else if (strcmp(c->cmd, "backup") == 0) {
		printf("backed up %llu records (%llu active, %llu deleted) to "
		       "%s at change-log seq %llu\n",
		    (unsigned long long)s.records, (unsigned long long)s.active,
		    (unsigned long long)s.deleted, file,
		    (unsigned long long)s.head_seq);
	} else {
		if (strcmp(c->cmd, "rebuild") == 0)
			printf("listed %llu needles on %llu stores; %llu "
			       "photos not restored (no live copy, no delete "
			       "on record); %llu copies unreadable\n",
			    (unsigned long long)s.needles,
			    (unsigned long long)s.stores,
			    (unsigned long long)s.skipped,
			    (unsigned long long)s.unreadable);
		printf("%llu records (%llu active, %llu deleted): %llu "
		       "restored, %llu kept (already held)\n",
		    (unsigned long long)s.records, (unsigned long long)s.active,
		    (unsigned long long)s.deleted,
		    (unsigned long long)s.restored, (unsigned long long)s.kept);
	}
	return CLI_OK;
}

int
cli_backup(struct cli *c, int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(c, "%s needs exactly one FILE", c->cmd);
	return run(c, argv[1]);
}

int
cli_restore(struct cli *c, int argc, char **argv)
{
	return cli_backup(c, argc, argv);
}

int
cli_rebuild(struct cli *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage(c, "rebuild takes no arguments");
	return run(c, NULL);
}
