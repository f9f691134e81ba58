/* Round trip of every message type of the wire contract: each message is
 * filled field by field (nested messages to depth 3, repeated fields with
 * two elements), packed, unpacked and packed again; both encodings must be
 * identical and non-trivial, and every field must come back. */
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>

#include "check.h"

extern const ProtobufCMessageDescriptor *const all_messages[];

static uint64_t counter = 1;

static size_t
scalar_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
	case PROTOBUF_C_TYPE_BOOL:
		return 4;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 8;
	}
}

static ProtobufCMessage *fill_message(const ProtobufCMessageDescriptor *d,
    int depth);

/* Writes a distinct non-default value of f's type at p. */
static void
fill_value(const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	uint64_t v = counter++;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int *)p = e->values[e->n_values - 1].value;
		break;
	}
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = (float)v + 0.5f;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = (double)v + 0.25;
		break;
	case PROTOBUF_C_TYPE_STRING: {
		char *s = malloc(24);
		snprintf(s, 24, "s%llu", (unsigned long long)v);
		*(char **)p = s;
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->len = 5;
		b->data = malloc(5);
		memcpy(b->data, "\x00\xffx\x01y", 5);
		b->data[4] = (uint8_t)v;
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = fill_message(f->descriptor,
		    depth + 1);
		break;
	default:
		if (scalar_size(f->type) == 4)
			*(uint32_t *)p = (uint32_t)v;
		else
			*(uint64_t *)p = v;
	}
}

static ProtobufCMessage *
fill_message(const ProtobufCMessageDescriptor *d, int depth)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);
	d->message_init(m);
	if (depth > 3)
		return m;
	int oneof_done = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (oneof_done) /* one member of the oneof only */
				continue;
			oneof_done = 1;
			*(uint32_t *)(base + f->quantifier_offset) = f->id;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = scalar_size(f->type);
			void *arr = calloc(2, sz);
			fill_value(f, arr, depth);
			fill_value(f, (char *)arr + sz, depth);
			*(size_t *)(base + f->quantifier_offset) = 2;
			*(void **)(base + f->offset) = arr;
		} else {
			fill_value(f, base + f->offset, depth);
		}
	}
	return m;
}

/* Packs, unpacks and repacks one message type. fill_message builds with

 * malloc, so protobuf_c_message_free_unpacked frees it like an unpacked one. */
static void
roundtrip_one(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = fill_message(d, 0);
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
		ProtobufCMessage *m = fill_message(d, 0);
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
