/* A small streaming JSON writer for the CLI's --json output, so no command
 * prints JSON by hand: it places commas and escapes strings (quotes,
 * backslashes, control characters, and invalid UTF-8, which becomes
 * U+FFFD), so every line it writes is valid JSON whatever the input bytes. */
#ifndef HS_JSON_H
#define HS_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

/* Plain data on the caller's stack; out stays the caller's. */
struct json {
	FILE *out;
	int depth;
	int need_comma[JSON_MAX_DEPTH];
	int after_key; /* a key was written; the value needs no comma */
};

void json_init(struct json *j, FILE *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
/* Ends a top-level value with a newline and flushes (one object a line). */
void json_line_end(struct json *j);

void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s); /* NULL writes null */
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_double(struct json *j, double v); /* NaN/Inf write null */
void json_bool(struct json *j, int v);
void json_null(struct json *j);
void json_hex(struct json *j, const uint8_t *b, size_t n); /* "0a1b.." */

/* key + value in one call. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_kint(struct json *j, const char *key, int64_t v);
void json_kuint(struct json *j, const char *key, uint64_t v);
void json_kbool(struct json *j, const char *key, int v);

/* Any protobuf-c message as an object: fields by their .proto names,
 * enums by name, bytes as hex, hs.PhotoId as its 24-hex form, unset oneof
 * members and absent sub-messages left out. m stays the caller's. */
void json_pb(struct json *j, const ProtobufCMessage *m);

/* The fields of m written into the object already open in j. */
void json_pb_fields(struct json *j, const ProtobufCMessage *m);

#endif
