/* The photo commands of hs: upload (many files at once, ids or URLs
 * printed in the order given, a progress line on a terminal), download,
 * status, url, delete. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define UPLOAD_WORKERS 8

struct up_job {
	const char *arg; /* as typed, for messages */
	char path[4096]; /* resolved */
	uint64_t size;
	int done;
	hs_status st;
	hs_error err;
	hs_photo_id id;
};

struct up_state {
	struct cli *c;
	struct up_job *jobs;
	int n, next, ndone, nfailed;
	uint64_t bytes_total, bytes_done;
	uint32_t replicas;
	int url;	    /* --url: print URLs (hs_url), not ids */
	pthread_mutex_t mu; /* guards next, done flags and counters */
	pthread_cond_t cv;  /* a job finished */
};

static void *
upload_worker(void *arg)
{
	struct up_state *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->mu);
		while (u->next < u->n && u->jobs[u->next].done)
			u->next++; /* already failed its checks */
		int i = u->next < u->n ? u->next++ : -1;
		pthread_mutex_unlock(&u->mu);
		if (i < 0)
			return NULL;
		struct up_job *j = &u->jobs[i];
		hs_status st = hs_upload_file(u->c->client, j->path,
		    u->replicas, u->c->timeout_ms, &j->id, &j->err);
		pthread_mutex_lock(&u->mu);
		j->st = st;
		j->done = 1;
		u->ndone++;
		u->nfailed += st != HS_OK;
		u->bytes_done += j->size;
		pthread_cond_broadcast(&u->cv);
		pthread_mutex_unlock(&u->mu);
	}
}

static void
progress(struct up_state *u, int show)
{
	char a[32], b[32];
	if (!show)
		return;
	fprintf(stderr, "\r\033[Khs upload: %d/%d files, %s of %s", u->ndone,
	    u->n, cli_bytes(u->bytes_done, a, sizeof(a)),
	    cli_bytes(u->bytes_total, b, sizeof(b)));
	if (u->nfailed)
		fprintf(stderr, ", %d failed", u->nfailed);
	fflush(stderr);
}

/* Photo id's URL into url (hs_url); 0, or the exit code after reporting
 * the failure about subject. */
static int
url_of(struct cli *c, hs_photo_id id, const char *subject, char *url,
    size_t len)
{
	hs_error e;
	hs_status st = hs_url(c->client, id, c->timeout_ms, url, len, &e);
	return st == HS_OK ? CLI_OK : cli_fail(c, st, subject, e.message);
}

/* Prints job j's result (its URL too with --url); returns its exit code. */
static int
upload_report(struct cli *c, struct up_job *j, int with_url)
{
	char hex[HS_ID_HEX_LEN + 1], url[HS_ADDR_MAX + HS_ID_HEX_LEN + 2];
	int rc;
	if (j->st != HS_OK) {
		/* An upload has no photo to be missing: exit 2 would lie. */
		return cli_fail(c, j->st == HS_NOT_FOUND ? HS_INTERNAL : j->st,
		    j->arg, j->err.message);
	}
	hs_id_format(j->id, hex);
	if (with_url && (rc = url_of(c, j->id, j->arg, url, sizeof(url))) != 0)
		return rc;
	if (c->json) {
		struct json js;
		cli_json_begin(&js, 1);
		json_kstr(&js, "file", j->arg);
		json_kstr(&js, "id", hex);
		json_kuint(&js, "size", j->size);
		if (with_url)
			json_kstr(&js, "url", url);
		cli_json_end(&js);
	} else {
		printf("%s\n", with_url ? url : hex);
		fflush(stdout);
	}
	return CLI_OK;
}

/* Marks j failed before any network work. */
static void
upload_reject(struct up_job *j, const char *why)
{
	j->st = HS_INVALID_ARGUMENT;
	j->err.code = j->st;
	snprintf(j->err.message, sizeof(j->err.message),
	    "cannot upload %s: "
	    "%s",
	    j->arg, why);
	j->done = 1;
}

/* Checks every file before any network work, so a typo fails fast and
 * names the file even when the cluster is down. 1 if j may be uploaded. */
static int
upload_check(struct up_job *j)
{
	struct stat sb;
	char why[128];
	if (stat(j->path, &sb) != 0) {
		upload_reject(j, strerror(errno));
		return 0;
	}
	if (!S_ISREG(sb.st_mode)) {
		upload_reject(j, "not a regular file");
		return 0;
	}
	if ((uint64_t)sb.st_size > HS_MAX_PHOTO_SIZE) {
		snprintf(why, sizeof(why),
		    "it is %lld bytes, over the 64 MiB "
		    "limit",
		    (long long)sb.st_size);
		upload_reject(j, why);
		return 0;
	}
	j->size = (uint64_t)sb.st_size;
	return 1;
}

static int
upload_args(struct cli *c, int argc, char **argv, struct up_state *u)
{
	int nfiles = 0, dashdash = 0;
	for (int i = 1; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
		} else if (!dashdash && strcmp(argv[i], "--url") == 0) {
			u->url = 1;
		} else if (!dashdash &&
		    strncmp(argv[i], "--replicas", 10) == 0) {
			const char *v = argv[i][10] == '=' ?
			    argv[i] + 11 :
			    (i + 1 < argc ? argv[++i] : "");
			char *end;
			long r = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || r < 1 || r > 16)
				return cli_usage(c,
				    "--replicas needs a count "
				    "from 1 to 16, not '%s'",
				    v);
			u->replicas = (uint32_t)r;
		} else if (!dashdash && argv[i][0] == '-' &&
		    argv[i][1] != '\0') {
			return cli_usage(c, "unknown option '%s'", argv[i]);
		} else {
			argv[1 + nfiles++] = argv[i];
		}
	}
	if (nfiles == 0)
		return cli_usage(c, "name at least one FILE to upload");
	u->n = nfiles;
	return 0;
}

int
cli_upload(struct cli *c, int argc, char **argv)
{
	struct up_state u = { .c = c };
	int rc = upload_args(c, argc, argv, &u), nok = 0;
	if (rc != 0)
		return rc;
	u.jobs = calloc((size_t)u.n, sizeof(*u.jobs));
	if (u.jobs == NULL)
		return cli_fail(c, HS_RESOURCE_EXHAUSTED, NULL,
		    "out of memory");
	for (int i = 0; i < u.n; i++) {
		char buf[sizeof(u.jobs[i].path)];
		u.jobs[i].arg = argv[1 + i];
		/* cli_path returns buf or the argument itself. */
		snprintf(u.jobs[i].path, sizeof(u.jobs[i].path), "%s",
		    cli_path(argv[1 + i], buf, sizeof(buf)));
		nok += upload_check(&u.jobs[i]);
		u.bytes_total += u.jobs[i].size;
	}
	if (nok > 0 && (rc = cli_open(c)) != 0) {
		free(u.jobs);
		return rc;
	}
	pthread_mutex_init(&u.mu, NULL);
	pthread_cond_init(&u.cv, NULL);
	pthread_t tids[UPLOAD_WORKERS];
	int nt = 0;
	while (nt < nok && nt < UPLOAD_WORKERS &&
	    pthread_create(&tids[nt], NULL, upload_worker, &u) == 0)
		nt++;
	if (nok > 0 && nt == 0)
		upload_worker(&u); /* no threads: upload one at a time */
	int tty = isatty(STDERR_FILENO) && u.n > 1;
	pthread_mutex_lock(&u.mu);
	for (int printed = 0; printed < u.n;) {
		progress(&u, tty);
		if (!u.jobs[printed].done) {
			pthread_cond_wait(&u.cv, &u.mu);
			continue;
		}
		if (tty)
			fputs("\r\033[K", stderr);
		int code = upload_report(c, &u.jobs[printed++], u.url);
		if (rc == 0)
			rc = code;
	}
	pthread_mutex_unlock(&u.mu);
	if (tty)
		fputs("\r\033[K", stderr);
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&u.mu);
	pthread_cond_destroy(&u.cv);
	free(u.jobs);
	return rc;
}

/* The opening of every command on one photo: checks the argument count
 * (min..max words, the id first), parses the id, opens the client and
 * formats the id for messages. CLI_OK, or the exit code already reported. */
static int
photo_command(struct cli *c, int argc, char **argv, int max, const char *what,
    hs_photo_id *id, char hex[HS_ID_HEX_LEN + 1])
{
	if (argc < 2 || argc > max)
		return cli_usage(c, argc < 2 ? what : "too many arguments");
	int rc = cli_parse_id(c, argv[1], id);
	if (rc != 0 || (rc = cli_open(c)) != 0)
		return rc;
	hs_id_format(*id, hex);
	return CLI_OK;
}

int
cli_download(struct cli *c, int argc, char **argv)
{
	hs_photo_id id;
	hs_error e;
	char buf[4096], hex[HS_ID_HEX_LEN + 1];
	int rc = photo_command(c, argc, argv, 3,
	    "name the photo ID to download", &id, hex);
	if (rc != CLI_OK)
		return rc;
	if (argc == 2 || strcmp(argv[2], "-") == 0) {
		hs_status st = hs_download_fd(c->client, id, STDOUT_FILENO,
		    c->timeout_ms, &e);
		return st == HS_OK ? CLI_OK : cli_fail(c, st, hex, e.message);
	}
	const char *out = cli_path(argv[2], buf, sizeof(buf));
	hs_status st = hs_download_file(c->client, id, out, c->timeout_ms, &e);
	if (st != HS_OK)
		return cli_fail(c, st, hex, e.message);
	if (c->json) {
		struct stat sb;
		struct json j;
		cli_json_begin(&j, 1);
		json_kstr(&j, "id", hex);
		json_kstr(&j, "file", argv[2]);
		json_kuint(&j, "size",
		    stat(out, &sb) == 0 ? (uint64_t)sb.st_size : 0);
		cli_json_end(&j);
	}
	return CLI_OK;
}

static const char *
photo_state(enum hs_photo_state s)
{
	return s == HS_PHOTO_ACTIVE ? "ACTIVE" :
	    s == HS_PHOTO_DELETED   ? "DELETED" :
				      "UNKNOWN";
}

static const char *
store_state(enum hs_store_state s)
{
	static const char *const names[] = { "UNKNOWN", "UP", "DOWN",
		"READONLY" };
	return (unsigned)s < 4 ? names[s] : "UNKNOWN";
}

static void
time_str(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
status_json(const struct hs_photo_info *p, size_t up)
{
	char hex[HS_ID_HEX_LEN + 1];
	struct json j;
	hs_id_format(p->id, hex);
	cli_json_begin(&j, 1);
	json_kstr(&j, "id", hex);
	json_kuint(&j, "size", p->size);
	json_key(&j, "sha256");
	json_hex(&j, p->sha256, HS_SHA256_LEN);
	json_kstr(&j, "state", photo_state(p->state));
	json_kuint(&j, "replica_count", p->nreplicas);
	json_kuint(&j, "healthy_replicas", up);
	json_kuint(&j, "target_replicas", p->target_replicas);
	json_key(&j, "replicas");
	json_arr_begin(&j);
	for (size_t i = 0; i < p->nreplicas; i++) {
		json_obj_begin(&j);
		json_kuint(&j, "store_id", p->replicas[i].store_id);
		json_kstr(&j, "state", store_state(p->replicas[i].state));
		json_kstr(&j, "addr", p->replicas[i].addr);
		json_kstr(&j, "zone", p->replicas[i].zone);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "access_rate");
	if (p->access_rate < 0)
		json_null(&j);
	else
		json_double(&j, p->access_rate);
	json_kint(&j, "created_ms", p->created_ms);
	json_kint(&j, "updated_ms", p->updated_ms);
	json_kuint(&j, "seq", p->seq);
	cli_json_end(&j);
}

static void
status_text(const struct hs_photo_info *p, size_t up)
{
	char hex[HS_ID_HEX_LEN + 1], b[32], t[32];
	hs_id_format(p->id, hex);
	printf("id        %s\nstate     %s\nsize      %llu bytes (%s)\nsha256    ",
	    hex, photo_state(p->state), (unsigned long long)p->size,
	    cli_bytes(p->size, b, sizeof(b)));
	for (int i = 0; i < HS_SHA256_LEN; i++)
		printf("%02x", p->sha256[i]);
	printf("\nreplicas  %zu healthy of %zu, target %u%s\n", up,
	    p->nreplicas, p->target_replicas,
	    up < p->target_replicas ?
		"  (below target: the replicator will add copies)" :
		"");
	for (size_t i = 0; i < p->nreplicas; i++)
		printf("  store %-4u %-8s %-10s %s\n", p->replicas[i].store_id,
		    store_state(p->replicas[i].state),
		    p->replicas[i].zone[0] ? p->replicas[i].zone : "-",
		    p->replicas[i].addr);
	if (p->access_rate < 0)
		printf("access    unknown (no replicator answered)\n");
	else
		printf("access    %.1f reads/min (from the replicator)\n",
		    p->access_rate);
	time_str(p->created_ms, t, sizeof(t));
	printf("created   %s\n", t);
	time_str(p->updated_ms, t, sizeof(t));
	printf("updated   %s (seq %llu)\n", t, (unsigned long long)p->seq);
}

int
cli_status(struct cli *c, int argc, char **argv)
{
	hs_photo_id id;
	hs_error e;
	struct hs_photo_info info;
	char hex[HS_ID_HEX_LEN + 1];
	int rc = photo_command(c, argc, argv, 2, "name the photo ID", &id, hex);
	if (rc != CLI_OK)
		return rc;
	hs_status st = hs_stat(c->client, id, c->timeout_ms, &info, &e);
	if (st != HS_OK)
		return cli_fail(c, st, hex, e.message);
	size_t up = 0;
	for (size_t i = 0; i < info.nreplicas; i++)
		up += info.replicas[i].state == HS_STORE_UP;
	if (c->json)
		status_json(&info, up);
	else
		status_text(&info, up);
	return CLI_OK;
}

int
cli_url(struct cli *c, int argc, char **argv)
{
	hs_photo_id id;
	char hex[HS_ID_HEX_LEN + 1], url[HS_ADDR_MAX + HS_ID_HEX_LEN + 2];
	int rc = photo_command(c, argc, argv, 2, "name the photo ID", &id, hex);
	if (rc != CLI_OK || (rc = url_of(c, id, hex, url, sizeof(url))) != 0)
		return rc;
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		json_kstr(&j, "id", hex);
		json_kstr(&j, "url", url);
		cli_json_end(&j);
	} else {
		printf("%s\n", url);
	}
	return CLI_OK;
}

int
cli_delete(struct cli *c, int argc, char **argv)
{
	hs_photo_id id;
	hs_error e;
	char hex[HS_ID_HEX_LEN + 1];
	int rc = photo_command(c, argc, argv, 2, "name the photo ID", &id, hex);
	if (rc != CLI_OK)
		return rc;
	hs_status st = hs_delete(c->client, id, c->timeout_ms, &e);
	if (st != HS_OK)
		return cli_fail(c, st, hex, e.message);
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		json_kstr(&j, "id", hex);
		json_kbool(&j, "deleted", 1);
		cli_json_end(&j);
	} else {
		printf("deleted %s\n", hex);
	}
	return CLI_OK;
}
