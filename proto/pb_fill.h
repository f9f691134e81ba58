/* Messages of the wire contract filled field by field, for tests and the
 * fuzzers' seeds: every field gets a distinct non-default value, nested
 * messages to depth 3, repeated fields two elements, and of a oneof only
 * the member numbered oneof_pick (0 = the first; none when out of range).
 * Everything is malloc'd, so protobuf_c_message_free_unpacked(m, NULL)
 * frees the message like an unpacked one. */
#ifndef HS_PB_FILL_H
#define HS_PB_FILL_H

#include <protobuf-c/protobuf-c.h>

ProtobufCMessage *pb_fill(const ProtobufCMessageDescriptor *d, int oneof_pick);

#endif
