/* Fuzz target: request frames through the RPC server's own admission
 * (rpc_server_admit_frame: the size bound, the envelope decode, the MAC,
 * the key id and the pair key, the timestamp window, the deadline, the
 * service and method, the caller's role, the fencing epoch and the request
 * decode of every method of every service: proto/rpc_admit.c), and the
 * same bytes as a reply envelope with its MAC checked (what a client
 * decodes).
 *
 * A fuzzed frame almost never carries a valid MAC, so each input that
 * decodes as an envelope is also sent again re-signed under the server's
 * key with a fresh timestamp: that is what lets the fuzzer reach the
 * request decoders behind the MAC. The server is the directory principal
 * (fuzz.h), whose role every method admits, and a frame is re-signed as the
 * directory calling itself (key id and pair key), so the role check lets
 * it through too. The server is opened per input so the
 * fencing floor one input raises does not change how the next one is
 * judged. */
#include <nng/nng.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "rpc_server.h"
#include "rpc_wire.h"

#define MAX_FRAME (32u << 10) /* below -max_len: the bound is fuzzed too */

/* Never called: admission stops before the handler. */
static void
no_handler(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	abort();
}

/* A server serving every method of every service, not listening. */
static rt_ident *ident;
static rt_key pair; /* the directory's key with itself */

static rpc_server *
open_server(void)
{
	struct rpc_server_opts o = { .name = "fuzz",
		.ident = ident,
		.max_msg = MAX_FRAME };
	rpc_server *s;
	if (rpc_server_open(&s, &o) != 0)
		abort();
	for (size_t i = 0; i < FUZZ_NSERVICES; i++) {
		const ProtobufCServiceDescriptor *d = fuzz_services[i];
		struct rpc_method rows[64];
		for (unsigned m = 0; m < d->n_methods; m++)
			rows[m] = (struct rpc_method){ d->methods[m].name,
				no_handler, RT_ROLES_ANY };
		if (rpc_server_add_service(s, d, rows, d->n_methods, NULL) != 0)
			abort();
	}
	return s;
}

static void
admit(rpc_server *s, const uint8_t *data, size_t len)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, len) != 0)
		abort();
	memcpy(nng_msg_body(m), data, len);
	rpc_server_admit_frame(s, m, FUZZ_NOW_MS);
}

/* The envelope in data signed as the directory with the server's time,
 * packed. */
static void
admit_resigned(rpc_server *s, const uint8_t *data, size_t len)
{
	Hs__Envelope *env = rpc_wire_unpack_request(data, len);
	if (env == NULL)
		return;
	uint8_t mac[RT_MAC_LEN];
	ProtobufCBinaryData old = env->mac;
	char *old_id = env->key_id;
	env->timestamp_ms = FUZZ_NOW_MS;
	env->key_id = RT_DIRECTORY_PRINCIPAL;
	rpc_envelope_mac(&pair, env, mac);
	env->mac = (ProtobufCBinaryData){ RT_MAC_LEN, mac };
	size_t n = protobuf_c_message_get_packed_size(&env->base);
	uint8_t *buf = malloc(n);
	protobuf_c_message_pack(&env->base, buf);
	env->mac = old;
	env->key_id = old_id;
	rpc_wire_free_request(env);
	admit(s, buf, n);
	free(buf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	unsigned role;
	rt_log_set_level(RT_LOG_ERROR);
	ident = fuzz_ident(RT_DIRECTORY_PRINCIPAL);
	if (rt_ident_pair(ident, RT_DIRECTORY_PRINCIPAL, &pair, &role, err,
		sizeof(err)) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	rpc_server *s = open_server();
	admit(s, data, len);
	admit_resigned(s, data, len);
	rpc_server_close(s);
	Hs__ReplyEnvelope *r = rpc_wire_unpack_reply(data, len);
	if (r != NULL) {
		protobuf_c_message_check(&r->base);
		rpc_reply_mac_ok(&pair, r);
	}
	rpc_wire_free_reply(r);
	return 0;
}
