/* echo_client: calls the example server once and prints the answer and the
 * round-trip time, or the status and message of the failure. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "echo.pb-c.h"
#include "log.h"
#include "rpc_client.h"

int
main(int argc, char **argv)
{
	const char *server = NULL, *message = NULL, *key_file = NULL;
	int64_t timeout = 0;
	const struct rt_cfg_opt opts[] = {
		{ NULL, "server", RT_CFG_STRING, &server, 0, 0, NULL,
		    "address of an echo_server" },
		{ NULL, "message", RT_CFG_STRING, &message, 0, 0,
		    "hello, haystack", "text to send" },
		{ NULL, "timeout", RT_CFG_MS, &timeout, 1, 600000, "5s",
		    "deadline of the call" },
		{ "HS_KEY_FILE", "key-file", RT_CFG_STRING, &key_file, 0, 0,
		    NULL, "identity file (the server's roster must name it)" },
	};
	char err[256];
	rt_log_init("echo_client", 'C');
	int rc = rt_cfg_parse(opts, 4, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "echo_client: %s\n", err);
		return rc < 0 ? 64 : 0;
	}
	struct rpc_client_opts co = { .max_msg = 0 };
	rpc_client *c;
	if (rt_ident_load(&co.ident, key_file, NULL, err, sizeof(err)) != 0 ||
	    rpc_client_open(&c, &server, 1, &co, err, sizeof(err)) != 0) {
		fprintf(stderr, "echo_client: %s\n", err);
		return 64;
	}
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_error e;
	req.data.data = (uint8_t *)message;
	req.data.len = strlen(message);
	int64_t t0 = rt_mono_ms();
	hs_status st = rpc_invoke(c, &hs__echo__descriptor, "Echo", &req.base,
	    &reply, timeout, 0, &e);
	int64_t took = rt_mono_ms() - t0;
	if (st != HS_OK) {
		fprintf(stderr, "echo_client: %s: %s\n", hs_status_str(st),
		    e.message);
		rpc_client_close(c);
		return st == HS_UNAVAILABLE ? 3 : 1;
	}
	Hs__EchoReply *r = (Hs__EchoReply *)reply;
	printf("%s answered \"%.*s\" in %lld ms (MAC-checked, %zu bytes)\n",
	    server, (int)r->data.len, (const char *)r->data.data,
	    (long long)took, r->data.len);
	protobuf_c_message_free_unpacked(reply, NULL);
	rpc_client_close(c);
	return 0;
}
