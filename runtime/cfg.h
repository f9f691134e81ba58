/* Table-driven configuration shared by every service: each option has an
 * environment variable (the original system's names, e.g. LEADER_TIMEOUT),
 * a flag (--leader-timeout), a type, bounds and a default. A flag beats the
 * environment, which beats the default. Bad values stop start-up with a
 * message naming the option, the value and the allowed range. */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rt_cfg_type {
	RT_CFG_INT,    /* int64_t */
	RT_CFG_DOUBLE, /* double */
	RT_CFG_STRING, /* char * (points into argv/environ or the default) */
	RT_CFG_BOOL,   /* int: 1/0, true/false, yes/no */
	RT_CFG_MS,     /* int64_t ms; given as seconds when bare: "10", "0.5",
			  or with a unit: "1500ms", "2s", "1m", "1h" */
	RT_CFG_BYTES,  /* int64_t bytes: "4096", "64KiB", "32MiB", "1GiB" */
};

struct rt_cfg_opt {
	const char *env;  /* e.g. "LEADER_TIMEOUT"; NULL for flag-only */
	const char *flag; /* e.g. "leader-timeout" (without the dashes) */
	enum rt_cfg_type type;
	void *target;
	double min, max; /* inclusive bounds for numbers; ignored otherwise */
	const char *def; /* default as text; NULL = required */
	const char *help;
};

/* A row whose target is a field of the struct a pointer named cfg points
 * at: how every service writes its one option table. */
#define RT_CFG_FIELD(env, flag, type, field, lo, hi, def, help)                \
	{                                                                      \
		env, flag, type, &cfg->field, lo, hi, def, help                \
	}

/* Parses argv (--flag=value or --flag value) and the environment into the
 * targets. Returns 0, 1 when --help was asked (usage already printed), or -1
 * with a message for people in err. Unknown flags are errors. */
int rt_cfg_parse(const struct rt_cfg_opt *opts, size_t n, int argc, char **argv,
    char *err, size_t errlen);

void rt_cfg_usage(FILE *out, const char *prog, const char *about,
    const struct rt_cfg_opt *opts, size_t n);

/* Logs the effective value of every option once, at start-up. */
void rt_cfg_log(const struct rt_cfg_opt *opts, size_t n);

/* Every service's start-up: parses, then finish(cfg) checks the rules
 * between options and fills derived values (0, or -1 with err), then logs
 * the effective options. Returns as rt_cfg_parse. */
int rt_cfg_load(const struct rt_cfg_opt *opts, size_t n, int argc, char **argv,
    int (*finish)(void *cfg, char *err, size_t errlen), void *cfg, char *err,
    size_t errlen);

/* The rule the directory and the replicator both hold their replica
 * counts to: 1 <= MIN_REPLICA_COUNT <= DEFAULT_REPLICA_COUNT <=
 * MAX_REPLICA_COUNT. 0, or -1 with a message in err. */
int rt_cfg_check_replicas(int64_t min, int64_t def, int64_t max, char *err,
    size_t errlen);

/* main's answer to a non-zero rt_cfg_load: prints "prog: err" for an error
 * and returns the exit code, 64 (EX_USAGE) or 0 after --help. */
int rt_cfg_exit(const char *prog, int rc, const char *err);

/* Parsers used by the table, exposed for tests and CLIs. 0 or -1. */
int rt_parse_ms(const char *s, int64_t *out);
int rt_parse_bytes(const char *s, int64_t *out);

#endif
