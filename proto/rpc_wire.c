/* Zero-copy framing of the envelope's trailing payload field (see
 * rpc_wire.h). Only the top level of the envelope is scanned by hand; the
 * header fields are still decoded by protobuf-c. */
#include "rpc_wire.h"

#include <stddef.h>
#include <string.h>

#define ENVELOPE_PAYLOAD_FIELD 8
#define REPLY_PAYLOAD_FIELD 6

static size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t
varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Reads a varint at *pos; 0 or -1 if it runs past end or is too long. */
static int
varint_get(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = buf[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* Finds a length-delimited `field` that ends exactly at len. On success the
 * header is buf[0, *hdr_len) and the field's bytes follow at *data. */
static int
split_trailing_bytes(const uint8_t *buf, size_t len, uint32_t field,
    size_t *hdr_len, const uint8_t **data, size_t *data_len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t start = pos;
		uint64_t key, v;
		if (varint_get(buf, len, &pos, &key) != 0)
			return -1;
		switch (key & 7) {
		case 0:
			if (varint_get(buf, len, &pos, &v) != 0)
				return -1;
			break;
		case 1:
			pos += 8;
			break;
		case 5:
			pos += 4;
			break;
		case 2:
			if (varint_get(buf, len, &pos, &v) != 0 ||
			    v > len - pos)
				return -1;
			if ((key >> 3) == field && pos + v == len) {
				*hdr_len = start;
				*data = buf + pos;
				*data_len = (size_t)v;
				return 0;
			}
			pos += (size_t)v;
			break;
		default:
			return -1;
		}
	}
	return -1;
}

/* Allocates a message for hdr followed by `field` holding payload_size
 * bytes; returns where the payload goes. */
static int
alloc_framed(const ProtobufCMessage *hdr, uint32_t field, size_t payload_size,
    nng_msg **out, uint8_t **payload_at)
{
	size_t hsz = protobuf_c_message_get_packed_size(hdr);
	size_t tag = varint_size((uint64_t)field << 3 | 2);
	size_t total = hsz + tag + varint_size(payload_size) + payload_size;
	nng_msg *m;
	int rv = nng_msg_alloc(&m, total);
	if (rv != 0)
		return rv;
	uint8_t *p = nng_msg_body(m);
	p += protobuf_c_message_pack(hdr, p);
	p += varint_put(p, (uint64_t)field << 3 | 2);
	p += varint_put(p, payload_size);
	*payload_at = p;
	*out = m;
	return 0;
}

/* MAC of a header whose payload slot points at the packed payload. */
typedef void (
    *mac_fn)(const rt_key *key, const void *hdr, uint8_t mac[RT_MAC_LEN]);

static void
request_mac(const rt_key *key, const void *hdr, uint8_t mac[RT_MAC_LEN])
{
	rpc_envelope_mac(key, hdr, mac);
}

static void
reply_mac(const rt_key *key, const void *hdr, uint8_t mac[RT_MAC_LEN])
{
	rpc_reply_mac(key, hdr, mac);
}

/* Packs hdr with payload (may be NULL) as its trailing `field` into a new
 * message, MAC'd under key (NULL: none). The MAC covers the payload, so
 * the payload goes first into its final place, then the header, whose
 * size the placeholder MAC has fixed. pay and mac are hdr's slots. */
static int
pack_signed(ProtobufCMessage *hdr, uint32_t field, ProtobufCBinaryData *pay,
    ProtobufCBinaryData *macs, const ProtobufCMessage *payload,
    const rt_key *key, mac_fn sign, nng_msg **out)
{
	uint8_t mac[RT_MAC_LEN] = { 0 };
	size_t psz = payload ? protobuf_c_message_get_packed_size(payload) : 0;
	uint8_t *p;
	nng_msg *m;
	*pay = (ProtobufCBinaryData){ 0, NULL };
	*macs = (ProtobufCBinaryData){ key ? RT_MAC_LEN : 0, key ? mac : NULL };
	int rv = alloc_framed(hdr, field, psz, &m, &p);
	if (rv == 0 && payload != NULL)
		protobuf_c_message_pack(payload, p);
	if (rv == 0 && key != NULL) {
		*pay = (ProtobufCBinaryData){ psz, p };
		sign(key, hdr, mac);
		*pay = (ProtobufCBinaryData){ 0, NULL };
		protobuf_c_message_pack(hdr, nng_msg_body(m));
	}
	*macs = (ProtobufCBinaryData){ 0, NULL };
	if (rv == 0)
		*out = m;
	return rv;
}

int
rpc_wire_pack_request(const rt_key *key, Hs__Envelope *env,
    const ProtobufCMessage *req, nng_msg **out)
{
	return pack_signed(&env->base, ENVELOPE_PAYLOAD_FIELD, &env->payload,
	    &env->mac, req, key, request_mac, out);
}

int
rpc_wire_pack_reply(const rt_key *key, Hs__ReplyEnvelope *r,
    const ProtobufCMessage *payload, nng_msg **out)
{
	return pack_signed(&r->base, REPLY_PAYLOAD_FIELD, &r->payload, &r->mac,
	    payload, key, reply_mac, out);
}

/* Unpacks the header part of buf and points the payload field (at
 * payload_offset in the C struct) into buf. A payload that is not the last
 * field is refused: our senders always put it last, and borrowing it is what
 * saves the copy. A missing payload is an empty one. */
static ProtobufCMessage *
unpack_split(const ProtobufCMessageDescriptor *d, uint32_t field,
    const uint8_t *buf, size_t len, size_t payload_offset)
{
	size_t hdr_len = len, plen = 0;
	const uint8_t *pdata = NULL;
	int split = split_trailing_bytes(buf, len, field, &hdr_len, &pdata,
			&plen) == 0;
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, hdr_len, buf);
	if (m == NULL)
		return NULL;
	ProtobufCBinaryData *slot = (ProtobufCBinaryData *)((char *)m +
	    payload_offset);
	if (slot->data != NULL) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	if (split) {
		slot->data = (uint8_t *)pdata;
		slot->len = plen;
	}
	return m;
}

Hs__Envelope *
rpc_wire_unpack_request(const uint8_t *buf, size_t len)
{
	return (Hs__Envelope *)unpack_split(&hs__envelope__descriptor,
	    ENVELOPE_PAYLOAD_FIELD, buf, len, offsetof(Hs__Envelope, payload));
}

void
rpc_wire_free_request(Hs__Envelope *env)
{
	if (env == NULL)
		return;
	env->payload.data = NULL; /* borrowed from the receive buffer */
	env->payload.len = 0;
	protobuf_c_message_free_unpacked(&env->base, NULL);
}

Hs__ReplyEnvelope *
rpc_wire_unpack_reply(const uint8_t *buf, size_t len)
{
	return (
	    Hs__ReplyEnvelope *)unpack_split(&hs__reply_envelope__descriptor,
	    REPLY_PAYLOAD_FIELD, buf, len,
	    offsetof(Hs__ReplyEnvelope, payload));
}

void
rpc_wire_free_reply(Hs__ReplyEnvelope *r)
{
	if (r == NULL)
		return;
	r->payload.data = NULL;
	r->payload.len = 0;
	protobuf_c_message_free_unpacked(&r->base, NULL);
}
