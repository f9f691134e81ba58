/* The cluster file: where a cluster's directories, cache, web cache,
 * replicator, key, TLS files and PUB sockets are, as `key = value` lines
 * (format in docs/client.md).
 * The launcher writes it; libhs and `hs` read it. Unknown keys are skipped
 * so an older client can read a newer launcher's file; malformed lines are
 * errors that name the line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "hs_internal.h"
#include "tls.h"

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Appends each comma- or blank-separated word of value to list. */
static hs_status
add_list(char list[][HS_ADDR_MAX], size_t *n, char *value, const char *name,
    int line, const char *key, hs_error *err)
{
	for (char *save = NULL, *w = strtok_r(value, ", \t", &save); w != NULL;
	     w = strtok_r(NULL, ", \t", &save)) {
		if (*n == HS_MAX_ADDRS)
			return hsi_err(err, HS_INVALID_ARGUMENT,
			    "%s:%d: more than %d %s addresses", name, line,
			    HS_MAX_ADDRS, key);
		if (strlen(w) >= HS_ADDR_MAX)
			return hsi_err(err, HS_INVALID_ARGUMENT,
			    "%s:%d: %s address longer than %d characters", name,
			    line, key, HS_ADDR_MAX - 1);
		snprintf(list[(*n)++], HS_ADDR_MAX, "%s", w);
	}
	return HS_OK;
}

static hs_status
set_one(char *dst, size_t cap, const char *value, const char *name, int line,
    const char *key, hs_error *err)
{
	if (dst[0] != '\0')
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s:%d: %s is given twice; keep one line", name, line, key);
	if (strlen(value) >= cap)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s:%d: %s is longer than %zu characters", name, line, key,
		    cap - 1);
	snprintf(dst, cap, "%s", value);
	return HS_OK;
}

/* A file's path: a relative one is taken from the cluster file's folder
 * dir (NULL or "": as given). */
static hs_status
set_path(char *dst, size_t cap, const char *value, const char *dir,
    const char *name, int line, const char *key, hs_error *err)
{
	char path[1100];
	if (value[0] != '/' && dir != NULL && dir[0] != '\0')
		snprintf(path, sizeof(path), "%s/%s", dir, value);
	else
		snprintf(path, sizeof(path), "%s", value);
	return set_one(dst, cap, path, name, line, key, err);
}

static hs_status
parse_line(char *s, const char *dir, const char *name, int line,
    struct hs_cluster *out, hs_error *err)
{
	char *eq = strchr(s, '=');
	if (eq == NULL)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s:%d: '%.80s' is not a `key = value` line", name, line,
		    s);
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	if (*key == '\0' || *value == '\0')
		return hsi_err(err, HS_INVALID_ARGUMENT, "%s:%d: %s", name,
		    line,
		    *key == '\0' ? "missing key "
				   "before '='" :
				   "missing value after '='");
	if (strcmp(key, "directory") == 0)
		return add_list(out->directories, &out->ndirectories, value,
		    name, line, key, err);
	if (strcmp(key, "pub") == 0)
		return add_list(out->pubs, &out->npubs, value, name, line, key,
		    err);
	if (strcmp(key, "cache") == 0)
		return set_one(out->cache, sizeof(out->cache), value, name,
		    line, key, err);
	if (strcmp(key, "cache_user") == 0)
		return set_one(out->cache_user, sizeof(out->cache_user), value,
		    name, line, key, err);
	if (strcmp(key, "cache_password_file") == 0)
		return set_path(out->cache_password_file,
		    sizeof(out->cache_password_file), value, dir, name, line,
		    key, err);
	if (strcmp(key, "replicator") == 0)
		return set_one(out->replicator, sizeof(out->replicator), value,
		    name, line, key, err);
	if (strcmp(key, "web") == 0) {
		if (strncmp(value, "http://", 7) != 0 &&
		    strncmp(value, "https://", 8) != 0)
			return hsi_err(err, HS_INVALID_ARGUMENT,
			    "%s:%d: web must be an http:// or https:// URL "
			    "such as http://127.0.0.1:7103, not '%.80s'",
			    name, line, value);
		return set_one(out->web, sizeof(out->web), value, name, line,
		    key, err);
	}
	if (strcmp(key, "key_file") == 0)
		return set_path(out->key_file, sizeof(out->key_file), value,
		    dir, name, line, key, err);
	if (strcmp(key, "roster") == 0)
		return set_path(out->roster, sizeof(out->roster), value, dir,
		    name, line, key, err);
	if (strcmp(key, "tls_ca") == 0)
		return set_path(out->tls_ca, sizeof(out->tls_ca), value, dir,
		    name, line, key, err);
	if (strcmp(key, "tls_cert") == 0)
		return set_path(out->tls_cert, sizeof(out->tls_cert), value,
		    dir, name, line, key, err);
	if (strcmp(key, "location_ttl") == 0) {
		int64_t ms;
		if (rt_parse_ms(value, &ms) != 0 || ms < 0)
			return hsi_err(err, HS_INVALID_ARGUMENT,
			    "%s:%d: "
			    "location_ttl must be a duration like 1s or 500ms "
			    "(0 turns it off), not '%.40s'",
			    name, line, value);
		out->location_ttl_ms = ms == 0 ? -1 : ms;
		return HS_OK;
	}
	return HS_OK; /* unknown key: written by a newer launcher */
}

hs_status
hs_cluster_parse(const char *text, const char *dir, const char *name,
    struct hs_cluster *out, hs_error *err)
{
	struct hs_cluster cl;
	memset(&cl, 0, sizeof(cl));
	char *copy = strdup(text);
	if (copy == NULL)
		return hsi_err(err, HS_RESOURCE_EXHAUSTED, "out of memory");
	hs_status st = HS_OK;
	int line = 0;
	for (char *save = NULL, *s = copy; st == HS_OK && s != NULL; s = save) {
		save = strchr(s, '\n');
		if (save != NULL)
			*save++ = '\0';
		line++;
		char *t = trim(s);
		if (*t == '\0' || *t == '#')
			continue;
		st = parse_line(t, dir, name, line, &cl, err);
	}
	free(copy);
	if (st != HS_OK)
		return st;
	if (cl.ndirectories == 0)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "%s: no `directory = tcp://HOST:PORT` line; the cluster "
		    "file must name at least one directory",
		    name);
	*out = cl;
	return HS_OK;
}

hs_status
hs_cluster_load(const char *path, struct hs_cluster *out, hs_error *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		return hsi_err(err, e == ENOENT ? HS_NOT_FOUND : HS_INTERNAL,
		    "cannot read the cluster file %s: %s; start a cluster with "
		    "`bazel run //tools:cluster -- up`, or name its file with "
		    "--cluster FILE or HS_CLUSTER",
		    path, strerror(e));
	}
	char *text = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (cap - len < 4096) {
			char *t = realloc(text, cap + 8192);
			if (t == NULL)
				break;
			text = t;
			cap += 8192;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0 || len > (1u << 20))
			break;
	}
	int bad = ferror(f) || text == NULL || len > (1u << 20);
	fclose(f);
	if (bad) {
		free(text);
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "cannot read the cluster file %s (unreadable or over 1 MiB)",
		    path);
	}
	text[len] = '\0';
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0'; /* a file in / */
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	hs_status st = hs_cluster_parse(text, dir, path, out, err);
	free(text);
	return st;
}

/* An environment variable into an unset field. */
static void
from_env(char *dst, size_t cap, const char *name)
{
	const char *v = getenv(name);
	if (dst[0] == '\0' && v != NULL)
		snprintf(dst, cap, "%s", v);
}

hs_status
hsi_tls_setup(struct hs_cluster *cfg, hs_error *err)
{
	char msg[1024];
	from_env(cfg->tls_ca, sizeof(cfg->tls_ca), "HS_TLS_CA");
	from_env(cfg->tls_cert, sizeof(cfg->tls_cert), "HS_TLS_CERT");
	if (cfg->tls_ca[0] == '\0' && cfg->tls_cert[0] == '\0')
		return HS_OK;
	if (rt_tls_setup(cfg->tls_ca, cfg->tls_cert, msg, sizeof(msg)) != 0)
		return hsi_err(err, HS_INVALID_ARGUMENT, "%s", msg);
	return HS_OK;
}
