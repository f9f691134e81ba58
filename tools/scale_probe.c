/* scale_probe: what each tier holds per photo, measured (docs/scale.md).
 *   bazel run //tools:scale_probe -- [--photos N] [--threads T]
 *       [--no-cluster] [--dir D] [--hash-listpack-value V]
 * This file measures, in this process and from the allocator's own
 * accounting (mallinfo2), the store engine's in-memory index over 10^6
 * needles and over one full 4 GiB volume of 4 KB, 64 KB and 1 MB photos,
 * the bytes a needle costs on disk (volume and hint file), the directory's
 * record table over 10^6 records and the replicator's rate table and task
 * queue over 10^6 photos. Then scale_probe_cluster.c measures a whole
 * cluster (see scale_probe.h). Memory and bytes are deterministic, so a
 * busy machine changes no figure here; nothing is timed. */
#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "directory.pb-c.h"
#include "directory/records.h"
#include "replicator/queue.h"
#include "replicator/rates.h"
#include "scale_probe.h"
#include "store/engine/engine.h"
#include "store/engine/needle.h"
#include "store/engine/volume_index.h"

#define MILLION 1000000ull
#define VOLUME (4ull << 30) /* MAX_VOLUME_SIZE's default */

uint64_t
probe_heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();
	return (uint64_t)m.uordblks + (uint64_t)m.hblkhd;
}

uint64_t
probe_key(uint32_t group, uint64_t i)
{
	/* A bijection of i on 48 bits (odd multiplier, xor-shift): keys of a
	 * group spread like the grant's permutation spreads them. */
	uint64_t s = (i + 1) * 0x9E3779B97F4A7C15ull & 0xffffffffffffull;
	s ^= s >> 23;
	return (uint64_t)group << 48 | (s & 0xffffffffffffull);
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "scale_probe: %s failed: %s (%d)\n", what,
	    store_strerror(rc), rc);
	exit(1);
}

static int
rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s, (void)f, (void)w;
	return remove(p);
}

/* Removes dir and everything under it (best effort). */
static void
probe_rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
fresh_dir(const char *base, const char *tag)
{
	static char p[4096];
	snprintf(p, sizeof(p), "%s/scale_probe_%s.XXXXXX", base, tag);
	if (mkdtemp(p) == NULL) {
		perror("scale_probe: mkdtemp");
		exit(1);
	}
	return p;
}

static uint64_t
file_size(const char *dir, const char *name)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The engine's index over n needles in its active volume: the index's own
 * accounting, and everything the engine allocated, per needle. Keys of 12
 * write groups, as a store in a dozen groups receives them. */
static void
engine_ram(const char *base, uint64_t n)
{
	char *dir = fresh_dir(base, "ram");
	struct store_options o;
	struct store_engine *se;
	struct store_stats st;
	uint8_t buf[100];
	int rc;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE; /* a bulk load: nothing is timed */
	memset(buf, 7, sizeof(buf));
	uint64_t h0 = probe_heap_bytes();
	if ((rc = store_engine_open(dir, &o, &se)) != 0)
		die("open", rc);
	for (uint64_t i = 0; i < n; i++)
		if ((rc = store_engine_put(se, probe_key(1 + i % 12, i), 1, buf,
			 sizeof(buf))) != 0)
			die("put", rc);
	uint64_t h1 = probe_heap_bytes();
	store_engine_stats(se, &st);
	printf("store index bytes/needle, %llu needles in the active volume "
	       "(index accounting): %.2f\n",
	    (unsigned long long)n, (double)st.index_bytes / st.index_entries);
	printf("store engine heap bytes/needle, %llu needles (all the engine "
	       "allocated): %.2f\n",
	    (unsigned long long)n, (double)(h1 - h0) / n);
	store_engine_close(se);
	h0 = probe_heap_bytes();
	if ((rc = store_engine_open(dir, &o, &se)) != 0)
		die("reopen", rc);
	h1 = probe_heap_bytes();
	printf("store engine heap bytes/needle after a reopen: %.2f\n",
	    (double)(h1 - h0) / n);
	store_engine_close(se);
	probe_rmtree(dir);
}

/* The index of one sealed, full 4 GiB volume of photos of p bytes. */
static void
sealed_volume(uint32_t p, const char *what)
{
	uint32_t len8 = needle_len8(p + NEEDLE_EXT_SIZE);
	uint64_t n = (VOLUME - SB_SIZE) / ((uint64_t)len8 * NEEDLE_ALIGN);
	struct vidx x;
	vidx_init(&x);
	for (uint64_t i = 0; i < n; i++)
		if (vidx_set(&x, probe_key(1 + i % 12, i),
			(uint32_t)(SB_SIZE / 8 + i * len8), len8) != 0)
			die("vidx_set", -ENOMEM);
	vidx_seal(&x);
	printf("store index bytes/needle, sealed 4 GiB volume of %s photos "
	       "(%llu needles): %.2f\n",
	    what, (unsigned long long)n, (double)vidx_bytes(&x) / n);
	vidx_free(&x);
}

/* Disk per needle of p-byte photos: volume bytes and hint bytes, and a
 * delete's record, from the files' sizes after n puts and n deletes. */
static void
disk_per_needle(const char *base, uint32_t p, const char *what, uint64_t n)
{
	char *dir = fresh_dir(base, "disk");
	struct store_options o;
	struct store_engine *se;
	uint8_t *buf = calloc(1, p);
	int rc;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE;
	if (buf == NULL || (rc = store_engine_open(dir, &o, &se)) != 0)
		die("open", buf == NULL ? -ENOMEM : rc);
	for (uint64_t i = 0; i < n; i++)
		if ((rc = store_engine_put(se, probe_key(1, i), 1, buf, p)) !=
		    0)
			die("put", rc);
	uint64_t dat = file_size(dir, "vol_00000001.dat");
	uint64_t idx = file_size(dir, "vol_00000001.idx");
	for (uint64_t i = 0; i < n; i++)
		if ((rc = store_engine_delete(se, probe_key(1, i))) != 0)
			die("delete", rc);
	uint64_t dat2 = file_size(dir, "vol_00000001.dat");
	uint64_t idx2 = file_size(dir, "vol_00000001.idx");
	store_engine_close(se);
	printf("store disk bytes/needle of a %s photo: volume %.1f (photo %u, "
	       "overhead %.1f), hint file %.1f; a delete adds %.1f + %.1f\n",
	    what, ((double)dat - SB_SIZE) / n, p,
	    ((double)dat - SB_SIZE) / n - p, ((double)idx - HINT_HDR_SIZE) / n,
	    ((double)dat2 - (double)dat) / n, ((double)idx2 - (double)idx) / n);
	free(buf);
	probe_rmtree(dir);
}

/* The directory's record table (every directory holds every record): n
 * records of a 4 KB photo on three stores, as an upload commits them. */
static void
directory_records(uint64_t n)
{
	static uint8_t sha[32] = { 9 };
	static uint32_t stores[3] = { 4, 17, 230 };
	dir_records *t;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	Hs__PhotoRecord r = HS__PHOTO_RECORD__INIT;
	r = (Hs__PhotoRecord){ .base = r.base,
		.id = &id,
		.size = 4096,
		.sha256 = { sizeof(sha), sha },
		.state = HS__PHOTO_STATE__PHOTO_ACTIVE,
		.n_stores = 3,
		.stores = stores,
		.target_replicas = 3 };
	uint64_t h0 = probe_heap_bytes();
	if (dir_records_open(&t) != 0)
		die("dir_records_open", -ENOMEM);
	for (uint64_t i = 0; i < n; i++) {
		id.key = probe_key(1 + i % 500, i);
		id.cookie = (uint32_t)i;
		r.created_ms = r.updated_ms = 1764633600000 + (int64_t)i;
		r.seq = i + 1;
		if (dir_records_apply(t, &r) != 1)
			die("dir_records_apply", -EINVAL);
	}
	uint64_t h1 = probe_heap_bytes();
	printf("directory record table heap bytes/photo at %llu records: "
	       "%.2f\n",
	    (unsigned long long)n, (double)(h1 - h0) / n);
	dir_records_close(t);
}

/* The replicator's per-photo state: access rates of photos being read,
 * and the task queue of photos needing work, each full at cap n. */
static void
replicator_state(uint64_t n)
{
	uint64_t h0 = probe_heap_bytes();
	repl_rates *r = repl_rates_open(n, 600000);
	for (uint64_t i = 0; r != NULL && i < n; i++)
		repl_rates_add(r, probe_key(1, i), 1, 3, 1000);
	uint64_t h1 = probe_heap_bytes();
	printf("replicator rate table heap bytes/photo tracked (cap %llu, "
	       "full): %.2f\n",
	    (unsigned long long)n, (double)(h1 - h0) / n);
	repl_rates_close(r);
	h0 = probe_heap_bytes();
	repl_queue *q = repl_queue_open(n);
	for (uint64_t i = 0; q != NULL && i < n; i++) {
		struct repl_task t = { .key = probe_key(1, i),
			.cookie = 1,
			.prio = REPL_NORMAL };
		repl_queue_push(q, &t);
	}
	h1 = probe_heap_bytes();
	printf("replicator task queue heap bytes/photo queued (cap %llu, "
	       "full): %.2f\n",
	    (unsigned long long)n, (double)(h1 - h0) / n);
	repl_queue_close(q);
}

/* What a store's heartbeat and one entry of ListStores weigh on the wire,
 * with addresses as a real deployment names them. */
static void
wire_sizes(void)
{
	Hs__StoreInfo si = HS__STORE_INFO__INIT;
	Hs__HeartbeatRequest hb = HS__HEARTBEAT_REQUEST__INIT;
	Hs__WriteGroup g = HS__WRITE_GROUP__INIT;
	uint32_t stores[3] = { 1021, 517, 33 };
	si.id = 1021;
	si.rpc_addr = "tls+tcp://store-1021.zone-b.photos.example:7170";
	si.pub_addr = "tls+tcp://store-1021.zone-b.photos.example:7171";
	si.zone = "zone-b";
	si.state = HS__STORE_STATE__STORE_UP;
	si.capacity_bytes = 16000000000000ull;
	si.free_bytes = 5123456789012ull;
	si.volumes = 3725;
	si.needles = 243876543;
	si.last_heartbeat_ms = 1764633600000;
	si.http_url = "https://store-1021.zone-b.photos.example";
	hb.store = &si;
	hb.hint_lease_ms = 3000;
	hb.principals_version = 12;
	g.id = 65535;
	g.stores = stores;
	g.n_stores = 3;
	g.writable = 1;
	printf("wire bytes: a heartbeat %zu, a store in ListStores %zu, a write "
	       "group in ListStores %zu\n",
	    hs__heartbeat_request__get_packed_size(&hb),
	    hs__store_info__get_packed_size(&si) + 3,
	    hs__write_group__get_packed_size(&g) + 2);
}

/* Everything measured in this process. */
static void
in_process(const char *base)
{
	engine_ram(base, MILLION);
	sealed_volume(4096, "4 KB");
	sealed_volume(65536, "64 KB");
	sealed_volume(1 << 20, "1 MB");
	disk_per_needle(base, 4096, "4 KB", 1000);
	disk_per_needle(base, 65536, "64 KB", 1000);
	directory_records(MILLION);
	replicator_state(MILLION);
	wire_sizes();
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	long photos = 20000;
	int threads = 8, cluster = 1, listpack = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--photos") == 0 && i + 1 < argc)
			photos = atol(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-cluster") == 0)
			cluster = 0;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--hash-listpack-value") == 0 &&
		    i + 1 < argc)
			listpack = atoi(argv[++i]);
		else {
			fprintf(stderr,
			    "usage: scale_probe [--photos N] [--threads T] "
			    "[--no-cluster] [--dir D] "
			    "[--hash-listpack-value V]\n");
			return 64;
		}
	}
	if (!cluster || listpack == 0)
		in_process(base);
	if (!cluster)
		return 0;
	char dir[600] = "";
	int rc = probe_cluster(argv[0], photos, threads, listpack, dir,
	    sizeof(dir));
	if (dir[0] != '\0')
		probe_rmtree(dir); /* its volumes: 1.4 GB at 10^5 photos */
	return rc;
}
