/* Table-driven configuration: parse, validate and report every option. */
#include "cfg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* A number with an optional unit suffix; a bare number is in units of
 * bare (seconds for durations, as the original system's variables are). */
static int
parse_scaled(const char *s, int64_t *out, const char *const *suffixes,
    const int64_t *scales, size_t nsuffix, int64_t bare)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno != 0 || v < 0 || isnan(v))
		return -1;
	int64_t scale = bare;
	if (*end != '\0') {
		size_t i;
		for (i = 0; i < nsuffix; i++)
			if (strcasecmp(end, suffixes[i]) == 0)
				break;
		if (i == nsuffix)
			return -1;
		scale = scales[i];
	}
	double r = v * (double)scale;
	if (r > 9.2e18)
		return -1;
	*out = (int64_t)llround(r);
	return 0;
}

int
rt_parse_ms(const char *s, int64_t *out)
{
	static const char *const suf[] = { "ms", "s", "m", "h" };
	static const int64_t sc[] = { 1, 1000, 60000, 3600000 };
	return parse_scaled(s, out, suf, sc, 4, 1000);
}

int
rt_parse_bytes(const char *s, int64_t *out)
{
	static const char *const suf[] = { "b", "k", "kb", "kib", "m", "mb",
		"mib", "g", "gb", "gib", "t", "tb", "tib" };
	static const int64_t sc[] = { 1, 1 << 10, 1 << 10, 1 << 10, 1 << 20,
		1 << 20, 1 << 20, 1LL << 30, 1LL << 30, 1LL << 30, 1LL << 40,
		1LL << 40, 1LL << 40 };
	return parse_scaled(s, out, suf, sc, 13, 1);
}

static const char *
opt_name(const struct rt_cfg_opt *o)
{
	return o->env != NULL ? o->env : o->flag;
}

/* Durations are given and shown in seconds, as the variables are. */
static void
range_error(const struct rt_cfg_opt *o, const char *v, char *err, size_t errlen)
{
	if (o->type == RT_CFG_MS)
		snprintf(err, errlen,
		    "%s=%s is out of range: allowed %gs to %gs "
		    "(a bare number is seconds)",
		    opt_name(o), v, o->min / 1000, o->max / 1000);
	else
		snprintf(err, errlen,
		    "%s=%s is out of range: allowed %g to %g%s", opt_name(o), v,
		    o->min, o->max, o->type == RT_CFG_BYTES ? " bytes" : "");
}

static int
set_value(const struct rt_cfg_opt *o, const char *v, char *err, size_t errlen)
{
	double num = 0;
	int64_t i64 = 0;
	char *end = NULL;

	switch (o->type) {
	case RT_CFG_STRING:
		*(const char **)o->target = v;
		return 0;
	case RT_CFG_BOOL:
		if (!strcasecmp(v, "1") || !strcasecmp(v, "true") ||
		    !strcasecmp(v, "yes")) {
			*(int *)o->target = 1;
			return 0;
		}
		if (!strcasecmp(v, "0") || !strcasecmp(v, "false") ||
		    !strcasecmp(v, "no")) {
			*(int *)o->target = 0;
			return 0;
		}
		snprintf(err, errlen,
		    "%s=%s is not a boolean: use true or false", opt_name(o),
		    v);
		return -1;
	case RT_CFG_INT:
		errno = 0;
		i64 = strtoll(v, &end, 10);
		if (end == v || *end != '\0' || errno != 0)
			goto bad;
		num = (double)i64;
		break;
	case RT_CFG_DOUBLE:
		errno = 0;
		num = strtod(v, &end);
		if (end == v || *end != '\0' || errno != 0 || isnan(num))
			goto bad;
		break;
	case RT_CFG_MS:
		if (rt_parse_ms(v, &i64) != 0)
			goto bad;
		num = (double)i64;
		break;
	case RT_CFG_BYTES:
		if (rt_parse_bytes(v, &i64) != 0)
			goto bad;
		num = (double)i64;
		break;
	}
	if (num < o->min || num > o->max) {
		range_error(o, v, err, errlen);
		return -1;
	}
	if (o->type == RT_CFG_DOUBLE)
		*(double *)o->target = num;
	else
		*(int64_t *)o->target = i64;
	return 0;
bad:
	snprintf(err, errlen, "%s=%s is not a valid %s", opt_name(o), v,
	    o->type == RT_CFG_MS	? "duration (e.g. 1500ms, 2s, 1m)" :
		o->type == RT_CFG_BYTES ? "size (e.g. 4096, 64MiB, 1GiB)" :
					  "number");
	return -1;
}

static const struct rt_cfg_opt *
find_flag(const struct rt_cfg_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].flag != NULL && strlen(opts[i].flag) == len &&
		    strncmp(opts[i].flag, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* Flags first into a table of values, so the environment only fills gaps. */
int
rt_cfg_parse(const struct rt_cfg_opt *opts, size_t n, int argc, char **argv,
    char *err, size_t errlen)
{
	const char **given = calloc(n ? n : 1, sizeof(*given));
	int rc = -1;

	if (given == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			rt_cfg_usage(stdout, argv[0], NULL, opts, n);
			rc = 1;
			goto out;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen,
			    "unexpected argument '%s' (see --help)", arg);
			goto out;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct rt_cfg_opt *o = find_flag(opts, n, name, len);
		if (o == NULL) {
			snprintf(err, errlen,
			    "unknown flag '--%.*s' (see --help)", (int)len,
			    name);
			goto out;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (val == NULL && o->type == RT_CFG_BOOL)
			val = "true";
		if (val == NULL && a + 1 < argc)
			val = argv[++a];
		if (val == NULL) {
			snprintf(err, errlen, "flag --%s needs a value",
			    o->flag);
			goto out;
		}
		given[o - opts] = val;
	}
	for (size_t i = 0; i < n; i++) {
		const char *v = given[i];
		if (v == NULL && opts[i].env != NULL)
			v = getenv(opts[i].env);
		if (v == NULL)
			v = opts[i].def;
		if (v == NULL) {
			snprintf(err, errlen, "%s is required: set --%s or %s",
			    opt_name(&opts[i]), opts[i].flag,
			    opts[i].env ? opts[i].env : "(no env)");
			goto out;
		}
		if (set_value(&opts[i], v, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	free(given);
	return rc;
}

void
rt_cfg_usage(FILE *out, const char *prog, const char *about,
    const struct rt_cfg_opt *opts, size_t n)
{
	fprintf(out, "usage: %s [--flag=value ...]\n", prog);
	if (about != NULL)
		fprintf(out, "%s\n", about);
	fprintf(out, "\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  --%-28s %s%s%s [default: %s]\n", opts[i].flag,
		    opts[i].help, opts[i].env ? "; env " : "",
		    opts[i].env ? opts[i].env : "",
		    opts[i].def ? opts[i].def : "required");
}

void
rt_cfg_log(const struct rt_cfg_opt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct rt_cfg_opt *o = &opts[i];
		switch (o->type) {
		case RT_CFG_STRING:
			rt_log_info("config %s=%s", opt_name(o),
			    *(const char **)o->target);
			break;
		case RT_CFG_BOOL:
			rt_log_info("config %s=%s", opt_name(o),
			    *(int *)o->target ? "true" : "false");
			break;
		case RT_CFG_DOUBLE:
			rt_log_info("config %s=%g", opt_name(o),
			    *(double *)o->target);
			break;
		default:
			rt_log_info("config %s=%lld%s", opt_name(o),
			    (long long)*(int64_t *)o->target,
			    o->type == RT_CFG_MS ? "ms" : "");
		}
	}
}

int
rt_cfg_load(const struct rt_cfg_opt *opts, size_t n, int argc, char **argv,
    int (*finish)(void *cfg, char *err, size_t errlen), void *cfg, char *err,
    size_t errlen)
{
	int rc = rt_cfg_parse(opts, n, argc, argv, err, errlen);
	if (rc != 0)
		return rc;
	if (finish != NULL && finish(cfg, err, errlen) != 0)
		return -1;
	rt_cfg_log(opts, n);
	return 0;
}

int
rt_cfg_exit(const char *prog, int rc, const char *err)
{
	if (rc > 0)
		return 0;
	fprintf(stderr, "%s: %s\n", prog, err);
	return 64;
}

int
rt_cfg_check_replicas(int64_t min, int64_t def, int64_t max, char *err,
    size_t errlen)
{
	if (1 <= min && min <= def && def <= max)
		return 0;
	snprintf(err, errlen,
	    "need 1 <= MIN_REPLICA_COUNT (%lld) <= "
	    "DEFAULT_REPLICA_COUNT (%lld) <= MAX_REPLICA_COUNT (%lld)",
	    (long long)min, (long long)def, (long long)max);
	return -1;
}
