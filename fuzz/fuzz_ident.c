/* The fuzz targets' identities (fuzz.h): four principals whose private
 * keys and shared secret are constants, so a frame fuzz/seeds.c signs or
 * seals is one the targets' servers and subscribers accept. Written as
 * identity files and loaded with rt_ident_load, as a process loads its own.
 * Never a cluster's keys: the private keys are in this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const struct {
	const char *name;
	unsigned role;
	uint8_t priv_byte; /* the private key is 32 of it */
	const char *pub;   /* X25519 of that key: the roster's column */
} fixed[] = {
	{ RT_DIRECTORY_PRINCIPAL, RT_ROLE_DIRECTORY, 0x11,
	    "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13" },
	{ FUZZ_REPLICATOR, RT_ROLE_REPLICATOR, 0x22,
	    "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20" },
	{ FUZZ_ADMIN, RT_ROLE_ADMIN, 0x33,
	    "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14" },
	{ FUZZ_STORE, RT_ROLE_STORE, 0x44,
	    "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b" },
};
#define NFIXED (sizeof(fixed) / sizeof(fixed[0]))

void
fuzz_ident_files(const char *dir, const char *name)
{
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s/roster", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		abort();
	size_t me = NFIXED;
	for (size_t i = 0; i < NFIXED; i++) {
		fprintf(f, "%s %s %s\n", fixed[i].name,
		    rt_role_name(fixed[i].role), fixed[i].pub);
		me = strcmp(fixed[i].name, name) == 0 ? i : me;
	}
	if (fclose(f) != 0 || me == NFIXED)
		abort();
	uint8_t priv[32];
	rt_key secret = { .len = 32 };
	memset(priv, fixed[me].priv_byte, sizeof(priv));
	memset(secret.bytes, 0x5e, 32);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if (rt_ident_write(path, name, fixed[me].role, priv, &secret, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
}

rt_ident *
fuzz_ident(const char *name)
{
	char dir[] = "/dev/shm/hs-fuzz-ident-XXXXXX", path[512], err[256];
	rt_ident *id;
	if (mkdtemp(dir) == NULL)
		abort();
	fuzz_ident_files(dir, name);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if (rt_ident_load(&id, path, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/roster", dir);
	unlink(path);
	rmdir(dir);
	return id;
}
