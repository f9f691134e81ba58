/* Fuzz target: configuration values (runtime/cfg.c), as every service
 * parses its flags: the input, cut at NUL bytes, is an argv for a table
 * with one option of each type, bounded as services bound theirs; and the
 * whole input is parsed as a duration and as a size on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

#define MAX_ARGS 16

struct fuzz_cfg {
	int64_t i, ms, bytes;
	double d;
	const char *s;
	int b;
};

static void
parse_argv(char *text, size_t len)
{
	struct fuzz_cfg c, *cfg = &c;
	const struct rt_cfg_opt opts[] = {
		RT_CFG_FIELD("HS_FUZZ_INT", "int", RT_CFG_INT, i, 1, 1024, "3",
		    "an integer"),
		RT_CFG_FIELD("HS_FUZZ_MS", "ms", RT_CFG_MS, ms, 0, 86400000,
		    "10", "a duration"),
		RT_CFG_FIELD("HS_FUZZ_BYTES", "bytes", RT_CFG_BYTES, bytes,
		    4096, 1e12, "64MiB", "a size"),
		RT_CFG_FIELD("HS_FUZZ_DOUBLE", "double", RT_CFG_DOUBLE, d, 0, 1,
		    "0.5", "a fraction"),
		RT_CFG_FIELD(NULL, "string", RT_CFG_STRING, s, 0, 0, "x",
		    "a string"),
		RT_CFG_FIELD("HS_FUZZ_BOOL", "bool", RT_CFG_BOOL, b, 0, 0,
		    "false", "a boolean"),
	};
	char *argv[MAX_ARGS + 1] = { "fuzz" };
	int argc = 1;
	for (char *p = text; p < text + len && argc < MAX_ARGS;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	char err[512];
	rt_cfg_parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv, err,
	    sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	int64_t v;
	rt_parse_ms(text, &v);
	rt_parse_bytes(text, &v);
	parse_argv(text, len);
	free(text);
	return 0;
}
