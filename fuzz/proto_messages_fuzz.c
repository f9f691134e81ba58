/* Fuzz target: every message of the wire contract (every .proto of proto/: each
 * service's requests and replies, the envelopes, the events), the first
 * byte picking the message type. What decodes and passes the library's
 * check must pack to the size it claims; what it packs is decoded again.
 * That second decode may fail and is not asserted: protobuf-c keeps
 * unknown fields (field number 0 and non-minimal tags included) and writes
 * them back in a form it does not always read (docs/security.md). */
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern const ProtobufCMessageDescriptor *const all_messages[];

static size_t
count_messages(void)
{
	size_t n = 0;
	while (all_messages[n] != NULL)
		n++;
	return n;
}

/* Packs m, decodes that and packs again. */
static void
repack(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *a = malloc(n + 1);
	if (protobuf_c_message_pack(m, a) != n)
		abort();
	ProtobufCMessage *u = protobuf_c_message_unpack(d, NULL, n, a);
	if (u != NULL && protobuf_c_message_check(u)) {
		size_t un = protobuf_c_message_get_packed_size(u);
		uint8_t *b = malloc(un + 1);
		if (protobuf_c_message_pack(u, b) != un)
			abort();
		free(b);
	}
	if (u != NULL)
		protobuf_c_message_free_unpacked(u, NULL);
	free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return 0;
	const ProtobufCMessageDescriptor
	    *d = all_messages[data[0] % count_messages()];
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len - 1,
	    data + 1);
	if (m == NULL)
		return 0;
	if (protobuf_c_message_check(m))
		repack(d, m);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
