/* The fuzz targets' seed corpora that the code itself must make (tools/fuzz.sh
 * seeds): request frames of every method of every service and reply
 * envelopes, as rpc_wire packs them; every message of the contract (each
 * member of a oneof in turn); volumes written by the engine; and a backup
 * file as backup_fuzz.c takes it (without its SHA-256); event frames. The text
 * seeds (cluster files, ids, flags) are kept by hand in fuzz/corpus/.
 * Usage: seeds CORPUS_DIR */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "events.pb-c.h"
#include "fuzz.h"
#include "pb_fill.h"
#include "rpc_wire.h"

extern const ProtobufCMessageDescriptor *const all_messages[];

static void
put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
put_msg(const char *dir, const char *name, nng_msg *m)
{
	put_file(dir, name, nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
}

/* A signed request of each method, and a reply carrying its answer. */
static void
frames(const char *dir, const rt_key *key)
{
	for (size_t i = 0; i < FUZZ_NSERVICES; i++) {
		const ProtobufCServiceDescriptor *d = fuzz_services[i];
		for (unsigned j = 0; j < d->n_methods; j++) {
			const ProtobufCMethodDescriptor *md = &d->methods[j];
			Hs__Envelope env = HS__ENVELOPE__INIT;
			env.service = (char *)d->name;
			env.method = (char *)md->name;
			env.request_id = j + 1;
			env.timestamp_ms = FUZZ_NOW_MS;
			env.deadline_ms = FUZZ_NOW_MS + 5000;
			env.epoch = 3;
			ProtobufCMessage *req = pb_fill(md->input, 0);
			ProtobufCMessage *rep = pb_fill(md->output, 0);
			nng_msg *m;
			char name[128];
			snprintf(name, sizeof(name), "%s.%s", d->short_name,
			    md->name);
			if (rpc_wire_pack_request(key, &env, req, &m) != 0)
				exit(1);
			put_msg(dir, name, m);
			Hs__ReplyEnvelope r = HS__REPLY_ENVELOPE__INIT;
			r.request_id = j + 1;
			r.epoch = 3;
			snprintf(name, sizeof(name), "reply.%s.%s",
			    d->short_name, md->name);
			if (rpc_wire_pack_reply(&r, rep, &m) != 0)
				exit(1);
			put_msg(dir, name, m);
			protobuf_c_message_free_unpacked(req, NULL);
			protobuf_c_message_free_unpacked(rep, NULL);
		}
	}
}

static int
oneof_members(const ProtobufCMessageDescriptor *d)
{
	int n = 0;
	for (unsigned i = 0; i < d->n_fields; i++)
		n += (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
	return n;
}

/* Each message type, its index in all_messages as the first byte. */
static void
messages(const char *dir)
{
	for (int i = 0; all_messages[i] != NULL; i++) {
		const ProtobufCMessageDescriptor *d = all_messages[i];
		int picks = oneof_members(d) > 0 ? oneof_members(d) : 1;
		for (int pick = 0; pick < picks; pick++) {
			ProtobufCMessage *m = pb_fill(d, pick);
			size_t n = protobuf_c_message_get_packed_size(m);
			uint8_t *buf = malloc(n + 1);
			buf[0] = (uint8_t)i;
			protobuf_c_message_pack(m, buf + 1);
			char name[160];
			snprintf(name, sizeof(name), "%03d-%s-%d", i,
			    d->short_name, pick);
			put_file(dir, name, buf, n + 1);
			free(buf);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
}

/* Each body of an event as a subscriber receives it: topic, NUL, Event. */
static void
events(const char *dir)
{
	int picks = oneof_members(&hs__event__descriptor);
	for (int pick = 0; pick < picks; pick++) {
		Hs__Event *ev = (Hs__Event *)pb_fill(&hs__event__descriptor,
		    pick);
		size_t tlen = strlen(ev->topic) + 1;
		size_t n = hs__event__get_packed_size(ev);
		uint8_t *buf = malloc(tlen + n);
		memcpy(buf, ev->topic, tlen);
		hs__event__pack(ev, buf + tlen);
		char name[64];
		snprintf(name, sizeof(name), "event-%d", pick);
		put_file(dir, name, buf, tlen + n);
		free(buf);
		hs__event__free_unpacked(ev, NULL);
	}
}

/* Appends the 4-byte length and the bytes of dir/name to out. */
static size_t
chunk(uint8_t *out, const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, out + 4, 60000);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)((size_t)n >> (8 * i));
	return 4 + (size_t)n;
}

/* The engine's own files after puts, deletes of each kind and (with
 * rollover) a second volume, in volume_fuzz.c's chunk layout. */
static void
volume(const char *dir, const char *name, int nput, size_t size)
{
	char tmp[] = "/dev/shm/hs-fuzz-seed-XXXXXX";
	if (mkdtemp(tmp) == NULL)
		exit(1);
	struct store_options o;
	store_options_default(&o);
	o.sync_mode = STORE_SYNC_NONE;
	o.max_volume_size = 64 + 4096;
	struct store_engine *se;
	if (store_engine_open(tmp, &o, &se) != 0)
		exit(1);
	uint8_t photo[2048];
	for (int i = 0; i < nput; i++) {
		memset(photo, 'a' + i, size);
		store_engine_put(se, 100 + (uint64_t)i, 0xc0de + (uint32_t)i,
		    photo, size);
	}
	store_engine_delete_kind(se, 100, STORE_DEL_DELETE);
	store_engine_delete_kind(se, 101, STORE_DEL_TRIM);
	store_engine_close(se);
	static uint8_t out[4 * 60004];
	size_t n = 0;
	n += chunk(out + n, tmp, "vol_00000001.dat");
	n += chunk(out + n, tmp, "vol_00000001.idx");
	n += chunk(out + n, tmp, "vol_00000002.dat");
	n += chunk(out + n, tmp, "vol_00000002.idx");
	put_file(dir, name, out, n);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		exit(1);
}

static size_t
le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return (size_t)n;
}

/* docs/reliability.md's layout, as client/hs_backup.c writes it: header,
 * records, end mark and count (the SHA-256 is the target's to add). */
static void
backup(const char *dir)
{
	static uint8_t out[8192];
	size_t n = 0;
	memcpy(out, "HSBACKUP", 8);
	n = 8 + le_put(out + 8, 1, 4) + le_put(out + 12, 0, 4);
	n += le_put(out + n, (uint64_t)FUZZ_NOW_MS, 8);
	n += le_put(out + n, 42, 8);
	for (int pick = 0; pick < 3; pick++) {
		ProtobufCMessage *m = pb_fill(&hs__photo_record__descriptor,
		    pick);
		size_t len = protobuf_c_message_get_packed_size(m);
		n += le_put(out + n, len, 4);
		n += protobuf_c_message_pack(m, out + n);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	n += le_put(out + n, 0, 4);
	n += le_put(out + n, 3, 8);
	put_file(dir, "three-records", out, n);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds CORPUS_DIR\n");
		return 64;
	}
	char dir[512];
	rt_key key;
	rt_key_from_string(&key, FUZZ_KEY);
	snprintf(dir, sizeof(dir), "%s/rpc_dispatch", argv[1]);
	frames(dir, &key);
	snprintf(dir, sizeof(dir), "%s/proto_messages", argv[1]);
	messages(dir);
	snprintf(dir, sizeof(dir), "%s/volume", argv[1]);
	volume(dir, "one-volume", 3, 100);
	volume(dir, "two-volumes", 4, 1500);
	snprintf(dir, sizeof(dir), "%s/backup", argv[1]);
	backup(dir);
	snprintf(dir, sizeof(dir), "%s/events", argv[1]);
	events(dir);
	return 0;
}
