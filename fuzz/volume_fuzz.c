/* Fuzz target: the store engine's volume loading (superblock, needle and
 * hint decoding, recovery's scan and truncation) and what runs on what it
 * loaded. The input is up to four chunks, each a 4-byte little-endian
 * length then that many bytes (the last may be short): vol_00000001.dat,
 * vol_00000001.idx, vol_00000002.dat, vol_00000002.idx, written into an
 * empty data directory on tmpfs and opened with store_engine_open, as a
 * store opens its disk. Then every listed needle is read, the volumes are
 * scrubbed, the sealed one compacted, and a put and a delete appended. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

static const char *const files[] = { "vol_00000001.dat", "vol_00000001.idx",
	"vol_00000002.dat", "vol_00000002.idx" };

/* One data directory for the process, emptied before each input. */
static const char *
data_dir(void)
{
	static char dir[64];
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/dev/shm/hs-fuzz-volume-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	mkdir(dir, 0700); /* made again if a cleanup of /dev/shm took it */
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[128];
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	return dir;
}

static void
write_chunks(const char *dir, const uint8_t *data, size_t len)
{
	char path[128];
	for (size_t i = 0; i < 4 && len >= 4; i++) {
		size_t n = (size_t)data[0] | (size_t)data[1] << 8 |
		    (size_t)data[2] << 16 | (size_t)data[3] << 24;
		data += 4;
		len -= 4;
		if (n > len)
			n = len;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, data, n) != (ssize_t)n)
			abort();
		close(fd);
		data += n;
		len -= n;
	}
}

/* Reads every listed live needle back whole (each checks its CRC). */
static void
read_all(struct store_engine *se)
{
	struct store_needle_info page[64];
	size_t n = 0;
	uint64_t after = 0;
	const uint64_t *ap = NULL;
	do {
		if (store_engine_list(se, ap, page, 64, &n) != 0)
			return;
		for (size_t i = 0; i < n; i++) {
			struct store_read r;
			if (!(page[i].flags & STORE_NF_DELETED) &&
			    store_engine_read(se, page[i].key, page[i].cookie,
				&r) == 0)
				store_read_free(&r);
			after = page[i].key;
		}
		ap = &after;
	} while (n == 64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *dir = data_dir();
	write_chunks(dir, data, len);
	struct store_options o;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE;
	o.max_volume_size = 1u << 20;
	struct store_engine *se;
	if (store_engine_open(dir, &o, &se) != 0)
		return 0;
	read_all(se);
	struct store_stats st;
	store_engine_stats(se, &st);
	store_engine_scrub_step(se, 4096, NULL, NULL); /* > any input's */
	if (store_engine_active_volume(se) != 1)
		store_engine_compact(se, 1);
	read_all(se);
	store_engine_put(se, 42, 7, "photo", 5);
	store_engine_delete(se, 42);
	store_engine_close(se);
	return 0;
}
