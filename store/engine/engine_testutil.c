/* The engine tests' helpers (engine_testutil.h). */
#include "engine_testutil.h"

#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <unistd.h>

char *
test_mkdir(const char *tag)
{
	const char *base = getenv("TEST_TMPDIR");
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/%s.XXXXXX", base ? base : "/tmp", tag);
	if (!mkdtemp(p)) {
		perror("mkdtemp");
		abort();
	}
	return p;
}

static int
test_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
test_rmdir(char *dir)
{
	nftw(dir, test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

void
test_fill(uint64_t key, void *buf, size_t len)
{
	test_fill_bytes(buf, len, key * 0x9E3779B97F4A7C15ull + len);
}

int
test_put(struct store_engine *se, uint64_t key, uint32_t cookie, size_t len)
{
	uint8_t *b = malloc(len + 1);
	if (b == NULL)
		return -ENOMEM;
	test_fill(key, b, len);
	int rc = store_engine_put(se, key, cookie, b, len);
	free(b);
	return rc;
}

int
test_reopen(struct store_engine **se, const char *dir,
    const struct store_options *o)
{
	store_engine_close(*se);
	*se = NULL;
	return store_engine_open(dir, o, se);
}

int
test_expect(struct store_engine *se, uint64_t key, uint32_t cookie, size_t len)
{
	uint8_t *want = malloc(len + 1), *got = malloc(len + 1);
	size_t n = 0;
	test_fill(key, want, len);
	int rc = store_engine_get(se, key, cookie, got, len + 1, &n);
	if (!rc && (n != len || memcmp(want, got, len)))
		rc = -EBADMSG;
	free(want);
	free(got);
	return rc;
}

const char *
test_path(const char *dir, const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

struct store_options
test_opts(uint64_t max_volume_size)
{
	struct store_options o;
	store_options_default(&o);
	o.delete_retention_ms = 0; /* tests that keep deletes say so */
	if (max_volume_size)
		o.max_volume_size = max_volume_size;
	return o;
}
