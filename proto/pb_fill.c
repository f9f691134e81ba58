/* Messages of the wire contract filled field by field (see pb_fill.h). */
#include "pb_fill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int depth, int pick, uint64_t *next);

/* Writes a distinct non-default value of f's type at p. */
static void
fill_value(const ProtobufCFieldDescriptor *f, void *p, int depth, int pick,
    uint64_t *next)
{
	uint64_t v = (*next)++;
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
		*(ProtobufCMessage **)p = fill_message(f->descriptor, depth + 1,
		    pick, next);
		break;
	default:
		if (scalar_size(f->type) == 4)
			*(uint32_t *)p = (uint32_t)v;
		else
			*(uint64_t *)p = v;
	}
}

static ProtobufCMessage *
fill_message(const ProtobufCMessageDescriptor *d, int depth, int pick,
    uint64_t *next)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);
	d->message_init(m);
	if (depth > 3)
		return m;
	int oneof_seen = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (oneof_seen++ != pick) /* one member of the oneof */
				continue;
			*(uint32_t *)(base + f->quantifier_offset) = f->id;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t sz = scalar_size(f->type);
			void *arr = calloc(2, sz);
			fill_value(f, arr, depth, pick, next);
			fill_value(f, (char *)arr + sz, depth, pick, next);
			*(size_t *)(base + f->quantifier_offset) = 2;
			*(void **)(base + f->offset) = arr;
		} else {
			fill_value(f, base + f->offset, depth, pick, next);
		}
	}
	return m;
}

ProtobufCMessage *
pb_fill(const ProtobufCMessageDescriptor *d, int oneof_pick)
{
	uint64_t next = 1;
	return fill_message(d, 0, oneof_pick, &next);
}
