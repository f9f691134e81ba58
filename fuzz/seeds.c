/* The fuzz targets' seed corpora that the code itself must make (tools/fuzz.sh
 * seeds): request frames of every method of every service and reply
 * envelopes, as rpc_wire packs them; every message of the contract (each
 * member of a oneof in turn); volumes written by the engine; and a backup
 * file as backup_fuzz.c takes it (without its SHA-256); event frames sealed
 * by the directory, the replicator and a store; the fixed identities and
 * their roster as ident_fuzz.c takes them. The identities are fuzz.h's fixed ones. The text
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
#include "feed_seal.h"
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

/* A request of each method the directory signed to itself, and a signed
 * reply carrying its answer (rpc_dispatch_fuzz.c's server is that
 * directory). */
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
			env.key_id = RT_DIRECTORY_PRINCIPAL;
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
			if (rpc_wire_pack_reply(key, &r, rep, &m) != 0)
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

/* Who may publish each body (runtime/feed_open.c), and a topic of its
 * family there. */
static const struct {
	Hs__Event__BodyCase body;
	const char *publisher, *topic;
} event_families[] = {
	{ HS__EVENT__BODY_PHOTO, RT_DIRECTORY_PRINCIPAL, "photo.fuzz" },
	{ HS__EVENT__BODY_STORE, RT_DIRECTORY_PRINCIPAL, "store.fuzz" },
	{ HS__EVENT__BODY_LEADER, RT_DIRECTORY_PRINCIPAL, "leader.fuzz" },
	{ HS__EVENT__BODY_TASK, FUZZ_REPLICATOR, "task.fuzz" },
	{ HS__EVENT__BODY_AUDIT, FUZZ_REPLICATOR, "audit.fuzz" },
	{ HS__EVENT__BODY_NEEDLE, FUZZ_STORE, "needle.fuzz" },
	{ HS__EVENT__BODY_COMPACTION, FUZZ_STORE, "store.fuzz" },
};

/* The frame (topic, NUL, SealedEvent) pub's publisher seals for ev, into
 * dir/name. */
static void
sealed(const char *dir, const char *name, const char *pub, Hs__Event *ev)
{
	rt_sealer *sealer;
	rt_ident *id = fuzz_ident(pub);
	nng_msg *m;
	if (rt_sealer_new(&sealer, id) != 0 || rt_seal_frame(sealer, ev, &m))
		exit(1);
	put_msg(dir, name, m);
	rt_sealer_free(sealer);
	rt_ident_free(id);
}

/* Each body of an event as a publisher whose role may send it seals it
 * (MAC'd for the directory events_fuzz.c subscribes as, and encrypted when
 * it names photos), under the topic pb_fill gives it and under a topic of
 * its family, so both the family check and the whole opening path are
 * seeded. */
static void
events(const char *dir)
{
	for (size_t i = 0; i < sizeof(event_families) / sizeof(*event_families);
	     i++) {
		int pick = 0;
		Hs__Event *ev;
		/* pb_fill's pick-th oneof member, in field order */
		for (;; pick++) {
			ev = (Hs__Event *)pb_fill(&hs__event__descriptor, pick);
			if (ev->body_case == event_families[i].body)
				break;
			hs__event__free_unpacked(ev, NULL);
			if (pick > 64)
				exit(1); /* a body events.proto lost */
		}
		char *topic = ev->topic, name[64];
		snprintf(name, sizeof(name), "sealed-%d", (int)ev->body_case);
		sealed(dir, name, event_families[i].publisher, ev);
		ev->topic = (char *)event_families[i].topic;
		snprintf(name, sizeof(name), "sealed-%d-family",
		    (int)ev->body_case);
		sealed(dir, name, event_families[i].publisher, ev);
		ev->topic = topic;
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

/* Appends dir/name's bytes to buf at *n (up to cap). */
static void
append_file(uint8_t *buf, size_t *n, size_t cap, const char *dir,
    const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		exit(1);
	*n += fread(buf + *n, 1, cap - *n, f);
	fclose(f);
	unlink(path);
}

/* Each fixed identity as ident_fuzz.c takes it: its identity file, a NUL,
 * the roster. */
static void
idents(const char *dir)
{
	static const char *const names[] = { RT_DIRECTORY_PRINCIPAL,
		FUZZ_REPLICATOR, FUZZ_ADMIN, FUZZ_STORE };
	char tmp[] = "/dev/shm/hs-fuzz-seed-XXXXXX", file[96];
	if (mkdtemp(tmp) == NULL)
		exit(1);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		uint8_t buf[4096];
		size_t n = 0;
		fuzz_ident_files(tmp, names[i]);
		snprintf(file, sizeof(file), "%s.key", names[i]);
		append_file(buf, &n, sizeof(buf) - 1, tmp, file);
		buf[n++] = '\0';
		append_file(buf, &n, sizeof(buf), tmp, "roster");
		put_file(dir, names[i], buf, n);
	}
	rmdir(tmp);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds CORPUS_DIR\n");
		return 64;
	}
	char dir[512], err[256];
	rt_key key;
	unsigned role;
	rt_ident *id = fuzz_ident(RT_DIRECTORY_PRINCIPAL);
	if (rt_ident_pair(id, RT_DIRECTORY_PRINCIPAL, &key, &role, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "seeds: %s\n", err);
		return 1;
	}
	rt_ident_free(id);
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
	snprintf(dir, sizeof(dir), "%s/ident", argv[1]);
	idents(dir);
	return 0;
}
