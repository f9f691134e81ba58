/* Any protobuf-c message as JSON, walked from its descriptor, so `hs tap`,
 * `stats`, `health` and `audit` print every field of the wire contract,
 * including fields added later, without a hand-kept list. */
#include <string.h>

#include "hs.h"
#include "json.h"

/* How protobuf-c holds a field of each wire type in its struct. */
enum held {
	H_INT,
	H_UINT,
	H_FLOAT,
	H_DOUBLE,
	H_BOOL,
	H_ENUM,
	H_STRING,
	H_BYTES,
	H_MESSAGE
};

static const struct {
	enum held held;
	size_t size; /* of one element of a repeated field */
} types[] = {
	[PROTOBUF_C_TYPE_INT32] = { H_INT, 4 },
	[PROTOBUF_C_TYPE_SINT32] = { H_INT, 4 },
	[PROTOBUF_C_TYPE_SFIXED32] = { H_INT, 4 },
	[PROTOBUF_C_TYPE_INT64] = { H_INT, 8 },
	[PROTOBUF_C_TYPE_SINT64] = { H_INT, 8 },
	[PROTOBUF_C_TYPE_SFIXED64] = { H_INT, 8 },
	[PROTOBUF_C_TYPE_UINT32] = { H_UINT, 4 },
	[PROTOBUF_C_TYPE_FIXED32] = { H_UINT, 4 },
	[PROTOBUF_C_TYPE_UINT64] = { H_UINT, 8 },
	[PROTOBUF_C_TYPE_FIXED64] = { H_UINT, 8 },
	[PROTOBUF_C_TYPE_FLOAT] = { H_FLOAT, sizeof(float) },
	[PROTOBUF_C_TYPE_DOUBLE] = { H_DOUBLE, sizeof(double) },
	[PROTOBUF_C_TYPE_BOOL] = { H_BOOL, sizeof(protobuf_c_boolean) },
	[PROTOBUF_C_TYPE_ENUM] = { H_ENUM, sizeof(int) },
	[PROTOBUF_C_TYPE_STRING] = { H_STRING, sizeof(char *) },
	[PROTOBUF_C_TYPE_BYTES] = { H_BYTES, sizeof(ProtobufCBinaryData) },
	[PROTOBUF_C_TYPE_MESSAGE] = { H_MESSAGE, sizeof(ProtobufCMessage *) },
};

static void
enum_value(struct json *j, const ProtobufCFieldDescriptor *f, int v)
{
	const ProtobufCEnumValue
	    *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
	if (ev != NULL)
		json_str(j, ev->name);
	else
		json_int(j, v);
}

/* One value of field f, held at p. */
static void
value(struct json *j, const ProtobufCFieldDescriptor *f, const void *p)
{
	int wide = types[f->type].size == 8;
	switch (types[f->type].held) {
	case H_INT:
		json_int(j, wide ? *(const int64_t *)p : *(const int32_t *)p);
		break;
	case H_UINT:
		json_uint(j,
		    wide ? *(const uint64_t *)p : *(const uint32_t *)p);
		break;
	case H_FLOAT:
		json_double(j, *(const float *)p);
		break;
	case H_DOUBLE:
		json_double(j, *(const double *)p);
		break;
	case H_BOOL:
		json_bool(j, *(const protobuf_c_boolean *)p);
		break;
	case H_ENUM:
		enum_value(j, f, *(const int *)p);
		break;
	case H_STRING:
		json_str(j, *(char *const *)p);
		break;
	case H_BYTES:
		json_hex(j, ((const ProtobufCBinaryData *)p)->data,
		    ((const ProtobufCBinaryData *)p)->len);
		break;
	case H_MESSAGE:
		if (*(ProtobufCMessage *const *)p == NULL)
			json_null(j);
		else
			json_pb(j, *(ProtobufCMessage *const *)p);
		break;
	}
}

void
json_pb_fields(struct json *j, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(
			    const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;
			json_key(j, f->name);
			json_arr_begin(j);
			for (size_t k = 0; k < n; k++)
				value(j, f, arr + k * types[f->type].size);
			json_arr_end(j);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    *(ProtobufCMessage *const *)p == NULL)
			continue;
		json_key(j, f->name);
		value(j, f, p);
	}
}

void
json_pb(struct json *j, const ProtobufCMessage *m)
{
	if (m->descriptor == &hs__photo_id__descriptor) {
		const Hs__PhotoId *id = (const Hs__PhotoId *)m;
		char hex[HS_ID_HEX_LEN + 1];
		hs_id_format((hs_photo_id){ id->key, id->cookie }, hex);
		json_str(j, hex);
		return;
	}
	json_obj_begin(j);
	json_pb_fields(j, m);
	json_obj_end(j);
}
