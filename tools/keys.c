/* tools:keys: makes a cluster's identities (docs/security.md).
 *   bazel run //tools:keys -- init DIR [--stores N]
 * writes DIR/roster and one private identity file per principal: the
 * directory tier, store-1..N, the replicator, an admin and a client. Clients
 * beyond the first are added at run time with `hs cred add`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ident.h"

#define MAX_STORES 64

int
main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "init") != 0) {
		fprintf(stderr, "usage: keys init DIR [--stores N]\n");
		return 2;
	}
	long stores = 5;
	if (argc == 5 && strcmp(argv[3], "--stores") == 0)
		stores = strtol(argv[4], NULL, 10);
	if (stores < 1 || stores > MAX_STORES) {
		fprintf(stderr, "keys: --stores takes 1..%d\n", MAX_STORES);
		return 2;
	}
	const char *names[MAX_STORES + 4];
	unsigned roles[MAX_STORES + 4];
	char store_names[MAX_STORES][RT_NAME_MAX];
	size_t n = 0;
	names[n] = RT_DIRECTORY_PRINCIPAL, roles[n++] = RT_ROLE_DIRECTORY;
	names[n] = "replicator", roles[n++] = RT_ROLE_REPLICATOR;
	names[n] = "admin", roles[n++] = RT_ROLE_ADMIN;
	names[n] = "client", roles[n++] = RT_ROLE_CLIENT;
	for (long i = 0; i < stores; i++) {
		rt_store_principal((uint32_t)i + 1, store_names[i]);
		names[n] = store_names[i], roles[n++] = RT_ROLE_STORE;
	}
	char err[512];
	mkdir(argv[2], 0700);
	if (rt_ident_provision(argv[2], names, roles, n, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "keys: %s\n", err);
		return 1;
	}
	printf("keys: %zu identities and the roster in %s\n", n, argv[2]);
	return 0;
}
