/* Fuzz target: backup files as `hs restore` reads them (client/hs_backup.c:
 * header, length-prefixed PhotoRecords, trailer, SHA-256). The input is
 * the file without its last 32 bytes: the target appends the SHA-256 a
 * genuine file would end with, so the fuzzer gets past the hash into the
 * records and the trailer. A file that verifies is then sent to a client
 * whose directory address has nobody listening, with a 1 ms deadline, so
 * the restore's second pass reads it again and fails without a cluster.
 * The client is an admin (fuzz.h's identity and roster), as hs restore's
 * user is. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "hs.h"
#include "log.h"

static char dir[64];
static hs_client *client;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/dev/shm/hs-fuzz-backup-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	rt_log_set_level(RT_LOG_ERROR);
	struct hs_cluster *cl = calloc(1, sizeof(*cl));
	snprintf(cl->directories[0], HS_ADDR_MAX, "tcp://127.0.0.1:1");
	cl->ndirectories = 1;
	/* An admin's identity and the roster beside it (fuzz.h). */
	fuzz_ident_files(dir, FUZZ_ADMIN);
	snprintf(cl->key_file, sizeof(cl->key_file), "%s/%s.key", dir,
	    FUZZ_ADMIN);
	hs_error err;
	if (hs_open(&client, cl, &err) != HS_OK) {
		fprintf(stderr, "backup_fuzz: %s\n", err.message);
		abort();
	}
	free(cl);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char path[128];
	uint8_t sha[32];
	snprintf(path, sizeof(path), "%s/backup", dir);
	/* Made again if it went: another session's cleanup of /dev/shm once
	 * took it during a long run (hs_open has read the identity). */
	mkdir(dir, 0700);
	EVP_Digest(data, len, sha, NULL, EVP_sha256(), NULL);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len ||
	    fwrite(sha, 1, 32, f) != 32 || fclose(f) != 0)
		abort();
	struct hs_wayback_stats s;
	hs_error err;
	hs_restore(client, path, NULL, NULL, 1, &s, &err);
	return 0;
}
