/* Ports, folders, runfiles and the key file of a test (see env.h). */
#include "env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident.h"

/* Ports are drawn at random from 20000-32767, below Linux's ephemeral
 * range (32768-60999): a port handed out here cannot be taken meanwhile by
 * some process's outgoing connection, as a kernel-chosen free port can.
 * None is handed out twice by one test process: a cluster picks all its
 * ports before any process binds them. */
#define PORT_BASE 20000
#define PORT_SPAN 12768

/* The ports handed out so far. Process-wide on purpose: one test's
 * clusters and helpers must never share a port. */
static uint8_t given[PORT_SPAN / 8 + 1];
static pthread_mutex_t given_mu = PTHREAD_MUTEX_INITIALIZER;

/* Marks slot as handed out; 1 if it already was. */
static int
take_slot(int slot)
{
	pthread_mutex_lock(&given_mu);
	int taken = given[slot / 8] & (1u << (slot % 8));
	given[slot / 8] |= (uint8_t)(1u << (slot % 8));
	pthread_mutex_unlock(&given_mu);
	return taken != 0;
}

static int
bindable(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int
test_free_port(void)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)rand();
		int slot = (int)(r % PORT_SPAN);
		if (!take_slot(slot) && bindable(PORT_BASE + slot))
			return PORT_BASE + slot;
	}
	return -1;
}

int
test_temp_dir(char *path, size_t len, const char *tag)
{
	const char *base = getenv("TEST_TMPDIR");
	snprintf(path, len, "%s/%s-XXXXXX", base ? base : "/tmp", tag);
	return mkdtemp(path) ? 0 : -1;
}

char *
test_runfile(char *out, size_t len, const char *rel)
{
	const char *srcdir = getenv("TEST_SRCDIR");
	char cwd[1024];
	if (srcdir != NULL)
		snprintf(out, len, "%s/haystack_c/%s", srcdir, rel);
	else
		snprintf(out, len, "%s/%s",
		    getcwd(cwd, sizeof(cwd)) ? cwd : ".", rel);
	return out;
}

int
test_key_file(char *path, size_t len, const char *dir)
{
	const char *names[TEST_STORES_MAX + 4] = { RT_DIRECTORY_PRINCIPAL,
		"replicator", "admin", "client" };
	unsigned roles[TEST_STORES_MAX + 4] = { RT_ROLE_DIRECTORY,
		RT_ROLE_REPLICATOR, RT_ROLE_ADMIN, RT_ROLE_CLIENT };
	char stores[TEST_STORES_MAX][RT_NAME_MAX], keys[900], err[512];
	for (int i = 0; i < TEST_STORES_MAX; i++) {
		rt_store_principal((uint32_t)i + 1, stores[i]);
		names[4 + i] = stores[i];
		roles[4 + i] = RT_ROLE_STORE;
	}
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	mkdir(keys, 0700);
	if (rt_ident_provision(keys, names, roles, TEST_STORES_MAX + 4, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "test keys: %s\n", err);
		return -1;
	}
	snprintf(path, len, "%s/admin.key", keys);
	return 0;
}

char *
test_identity(char *out, size_t len, const char *keyfile, const char *name)
{
	const char *slash = strrchr(keyfile, '/');
	snprintf(out, len, "%.*s/%s.key", slash ? (int)(slash - keyfile) : 1,
	    slash ? keyfile : ".", name);
	return out;
}

char *
test_store_identity(char *out, size_t len, const char *keyfile, long store_id)
{
	char name[RT_NAME_MAX];
	rt_store_principal((uint32_t)store_id, name);
	return test_identity(out, len, keyfile, name);
}
