/* Fuzz target: the cluster file libhs and `hs` read (client/cluster_file.c),
 * given as text: every line kind, with relative key paths resolved against
 * a directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	struct hs_cluster *cl = malloc(sizeof(*cl));
	hs_error err;
	hs_cluster_parse(text, "/etc/haystack", "fuzz.cluster", cl, &err);
	free(cl);
	free(text);
	return 0;
}
