/* echo_server: the RPC runtime's example server. Prints its bound URL on
 * stdout once it serves, then serves until SIGINT/SIGTERM. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "echo_service.h"
#include "log.h"
#include "stop.h"

int
main(int argc, char **argv)
{
	const char *listen = NULL, *key_file = NULL;
	int64_t max_msg = 0;
	const struct rt_cfg_opt opts[] = {
		{ NULL, "listen", RT_CFG_STRING, &listen, 0, 0,
		    "tcp://127.0.0.1:0", "address to serve on" },
		{ "HS_KEY_FILE", "key-file", RT_CFG_STRING, &key_file, 0, 0, "",
		    "identity file (empty: a throwaway one, for a client in "
		    "this process)" },
		{ "HS_MAX_MSG", "max-msg", RT_CFG_BYTES, &max_msg, 1024,
		    1 << 30, "64MiB", "largest request accepted" },
	};
	char err[256], bound[256];
	rt_log_init("echo", 'E');
	int rc = rt_cfg_parse(opts, 3, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "echo_server: %s\n", err);
		return rc < 0 ? 64 : 0;
	}
	struct rpc_server_opts so = { .name = "echo",
		.max_msg = (size_t)max_msg };
	if (key_file[0] != '\0' ?
		rt_ident_load(&so.ident, key_file, NULL, err, sizeof(err)) :
		rt_ident_ephemeral(&so.ident, "echo", RT_ROLE_ADMIN)) {
		fprintf(stderr, "echo_server: %s\n", err);
		return 1;
	}
	rpc_server *s;
	rt_stop_block();
	if (rpc_server_open(&s, &so) != 0 || echo_service_add(s) != 0 ||
	    rpc_server_listen(s, listen, bound, sizeof(bound)) != 0 ||
	    rpc_server_start(s) != 0) {
		fprintf(stderr, "echo_server: cannot serve on %s\n", listen);
		return 1;
	}
	printf("%s\n", bound);
	fflush(stdout);
	rt_stop_wait(-1);
	echo_service_drain();
	rpc_server_close(s);
	rt_ident_free(so.ident);
	return 0;
}
