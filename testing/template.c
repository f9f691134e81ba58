/* Files made from the harness's templates (see template.h). */
#include "template.h"

#include <stdio.h>
#include <string.h>

#include "env.h"
#include "proc.h"

/* The value after @name@ in vars, or NULL. */
static const char *
lookup(const char *const *vars, const char *name, size_t len)
{
	for (int i = 0; vars[i] != NULL && vars[i + 1] != NULL; i += 2)
		if (strlen(vars[i]) == len && strncmp(vars[i], name, len) == 0)
			return vars[i + 1];
	return NULL;
}

int
test_template_fill(const char *rel, const char *path, const char *const *vars)
{
	char tpath[512], t[8192];
	test_runfile(tpath, sizeof(tpath), rel);
	test_read_file(tpath, t, sizeof(t), 0);
	FILE *f = fopen(path, "w");
	if (t[0] == '\0' || f == NULL) {
		fprintf(stderr, "cannot write %s from %s\n", path, tpath);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	for (const char *p = t; *p != '\0'; p++) {
		const char *end = *p == '@' ? strchr(p + 1, '@') : NULL;
		const char *v = end ?
		    lookup(vars, p + 1, (size_t)(end - p - 1)) :
		    NULL;
		if (v == NULL) {
			fputc(*p, f);
			continue;
		}
		fputs(v, f);
		p = end;
	}
	return fclose(f) == 0 ? 0 : -1;
}
