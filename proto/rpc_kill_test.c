/* A real server process (//proto:echo_server) SIGKILLed while a call is in
 * flight: the caller gets UNAVAILABLE at once, not at its deadline, and the
 * same client works again as soon as the server is back on its address. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "echo.pb-c.h"
#include "env.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"

static char server_bin[512], dir[512], keyfile[600];

/* Starts echo_server on listen; its bound URL is p->ready. 0 or -1. */
static int
spawn_server(struct test_proc *p, const char *name, const char *listen)
{
	char flag[300], kf[640];
	snprintf(flag, sizeof(flag), "--listen=%s", listen);
	/* a server's identity: a client learns only a server's name */
	snprintf(kf, sizeof(kf), "--key-file=");
	test_identity(kf + 11, sizeof(kf) - 11, keyfile, "replicator");
	char *argv[] = { server_bin, flag, kf, NULL };
	struct test_proc_opts o = { .ready_ms = 10000 };
	return test_proc_start_opts(p, name, dir, argv, &o);
}

static hs_status
call(rpc_client *c, uint32_t delay_ms, struct rpc_error *e)
{
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	req.data.data = (uint8_t *)"ping";
	req.data.len = 4;
	req.delay_ms = delay_ms;
	hs_status st = rpc_invoke(c, &hs__echo__descriptor, "Echo", &req.base,
	    &reply, 20000, 0, e);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return st;
}

struct bg_call {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	struct rpc_error e;
	int64_t t0, took_ms;
};

static void
bg_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct bg_call *b = arg;
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	pthread_mutex_lock(&b->mu);
	b->e = *err;
	b->took_ms = check_mono_ms() - b->t0;
	b->done = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void
test_server_killed_mid_call_then_back(void)
{
	struct test_proc srv;
	CHECK(spawn_server(&srv, "echo", "tcp://127.0.0.1:0") == 0);
	const char *u = srv.ready;
	rpc_client *c = test_rpc_open(&u, 1, keyfile, 0);
	CHECK(c != NULL);
	struct rpc_error e;
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);

	/* A call the server will answer only after 15 s; then a quick one
	 * behind it on the same connection: when the quick one is answered,
	 * the server has read the slow one, so it is truly mid-call. */
	struct bg_call b = { .done = 0 };
	Hs__EchoRequest slow = HS__ECHO_REQUEST__INIT;
	slow.delay_ms = 15000;
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	b.t0 = check_mono_ms();
	CHECK_EQ(rpc_invoke_async(c, &hs__echo__descriptor, "Echo", &slow.base,
		     20000, 0, bg_done, &b),
	    0);
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	test_proc_kill(&srv, SIGKILL);
	pthread_mutex_lock(&b.mu);
	while (!b.done)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	CHECK_STATUS(b.e.code, HS_UNAVAILABLE, b.e.message);
	printf("  in-flight call failed %lld ms after it started: %s\n",
	    (long long)b.took_ms, b.e.message);
	CHECK(b.took_ms < 5000);

	/* While the server is down, new calls fail fast and clearly. */
	CHECK_STATUS(call(c, 0, &e), HS_UNAVAILABLE, e.message);

	/* Back on the same address: the same client recovers by itself. */
	struct test_proc again;
	CHECK(spawn_server(&again, "echo-again", srv.ready) == 0);
	test_proc_free(&srv);
	CHECK(CHECK_WAIT_UNTIL(rpc_client_connected(c) > 0, 5000));
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	test_proc_kill(&again, SIGTERM);
	test_proc_free(&again);
	test_rpc_close(c);
}

/* Two servers behind one client: calls in flight on the one that dies are
 * resent to the other, and every call succeeds. */
static void
test_calls_on_a_dead_peer_are_resent_elsewhere(void)
{
	struct test_proc pa, pb;
	int sa = spawn_server(&pa, "echo-a", "tcp://127.0.0.1:0");
	int sb = spawn_server(&pb, "echo-b", "tcp://127.0.0.1:0");
	CHECK(sa == 0 && sb == 0);
	const char *urls[] = { pa.ready, pb.ready };
	rpc_client *c = test_rpc_open(urls, 2, keyfile, 0);
	CHECK(c != NULL);
	CHECK(CHECK_WAIT_UNTIL(rpc_client_connected(c) == 2, 5000));

	enum { N = 8 };
	struct bg_call calls[N];
	Hs__EchoRequest slow = HS__ECHO_REQUEST__INIT;
	slow.delay_ms = 300;
	for (int i = 0; i < N; i++) {
		calls[i] = (struct bg_call){ .done = 0, .t0 = check_mono_ms() };
		pthread_mutex_init(&calls[i].mu, NULL);
		pthread_cond_init(&calls[i].cv, NULL);
		CHECK_EQ(rpc_invoke_async(c, &hs__echo__descriptor, "Echo",
			     &slow.base, 10000, 0, bg_done, &calls[i]),
		    0);
	}
	struct rpc_error e;
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	test_proc_kill(&pa, SIGKILL);
	test_proc_free(&pa);
	for (int i = 0; i < N; i++) {
		pthread_mutex_lock(&calls[i].mu);
		while (!calls[i].done)
			pthread_cond_wait(&calls[i].cv, &calls[i].mu);
		pthread_mutex_unlock(&calls[i].mu);
		CHECK_STATUS(calls[i].e.code, HS_OK, calls[i].e.message);
	}
	test_proc_kill(&pb, SIGTERM);
	test_proc_free(&pb);
	test_rpc_close(c);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "server killed mid-call, then back",
		    test_server_killed_mid_call_then_back },
		{ "calls on a dead peer are resent elsewhere",
		    test_calls_on_a_dead_peer_are_resent_elsewhere },
		{ NULL, NULL },
	};
	test_runfile(server_bin, sizeof(server_bin), "proto/echo_server");
	if (test_temp_dir(dir, sizeof(dir), "rpc-kill") != 0 ||
	    test_key_file(keyfile, sizeof(keyfile), dir) != 0)
		return 1;
	rt_log_init("rpc_kill_test", 'T');
	return check_run(cases, argc, argv);
}
