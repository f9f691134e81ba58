/* Round trip of every message type of the wire contract: each message is
 * filled field by field (nested messages to depth 3, repeated fields with
 * two elements), packed, unpacked and packed again; both encodings must be
 * identical and non-trivial, and every field must come back (pb_fill.h). */
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>

#include "check.h"
#include "pb_fill.h"

extern const ProtobufCMessageDescriptor *const all_messages[];

/* Packs, unpacks and repacks one message type. */
static void
roundtrip_one(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = pb_fill(d, 0);
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *a = malloc(n + 1), *b = malloc(n + 1);
	CHECK_EQ(protobuf_c_message_pack(m, a), n);
	CHECK(protobuf_c_message_check(m));
	ProtobufCMessage *u = protobuf_c_message_unpack(d, NULL, n, a);
	if (u == NULL)
		fprintf(stderr, "cannot unpack %s\n", d->name);
	CHECK(u != NULL);
	CHECK_EQ(protobuf_c_message_get_packed_size(u), n);
	protobuf_c_message_pack(u, b);
	if (memcmp(a, b, n) != 0)
		fprintf(stderr, "%s changed in a round trip\n", d->name);
	CHECK(memcmp(a, b, n) == 0);
	/* A message with fields must not encode to nothing. */
	CHECK(d->n_fields == 0 || n > 0);
	protobuf_c_message_free_unpacked(u, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	free(a);
	free(b);
}

static void
test_every_message_round_trips(void)
{
	int n = 0;
	for (int i = 0; all_messages[i] != NULL; i++, n++)
		roundtrip_one(all_messages[i]);
	printf("  %d message types\n", n);
	CHECK(n >= 60);
}

static void
test_truncated_encodings_are_refused(void)
{
	for (int i = 0; all_messages[i] != NULL; i++) {
		const ProtobufCMessageDescriptor *d = all_messages[i];
		ProtobufCMessage *m = pb_fill(d, 0);
		size_t n = protobuf_c_message_get_packed_size(m);
		uint8_t *a = malloc(n);
		protobuf_c_message_pack(m, a);
		/* Cutting inside the first length-delimited field must fail;
		 * cutting one byte off the end of any non-empty encoding whose
		 * last field is length-delimited too. Check the simple case:
		 * one byte off. */
		if (n > 0) {
			ProtobufCMessage *u = protobuf_c_message_unpack(d, NULL,
			    n - 1, a);
			/* A varint field's last byte removed can still parse
			 * only if it was a complete earlier field; any message
			 * ending in a string, bytes or sub-message must fail. */
			const ProtobufCFieldDescriptor
			    *last = &d->fields[d->n_fields - 1];
			int ends_len = last->type == PROTOBUF_C_TYPE_STRING ||
			    last->type == PROTOBUF_C_TYPE_BYTES ||
			    last->type == PROTOBUF_C_TYPE_MESSAGE;
			if (ends_len &&
			    !(last->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
				CHECK(u == NULL);
			if (u != NULL)
				protobuf_c_message_free_unpacked(u, NULL);
		}
		protobuf_c_message_free_unpacked(m, NULL);
		free(a);
	}
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "every message round-trips", test_every_message_round_trips },
		{ "truncated encodings are refused",
		    test_truncated_encodings_are_refused },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
