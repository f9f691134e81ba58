/* A real server process (//proto:echo_server) SIGKILLed while a call is in
 * flight: the caller gets UNAVAILABLE at once, not at its deadline, and the
 * same client works again as soon as the server is back on its address. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "echo.pb-c.h"
#include "log.h"
#include "rpc_client.h"

#define TEST_KEY "haystack-test-key-not-secret" /* echo_server's test key */

static char server_bin[512];

/* Starts echo_server on listen and reads its bound URL into url. */
static pid_t
spawn_server(const char *listen, char *url, size_t urllen)
{
	int fds[2];
	char flag[300];
	if (pipe(fds) != 0)
		return -1;
	snprintf(flag, sizeof(flag), "--listen=%s", listen);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(server_bin, server_bin, flag, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	if (f == NULL || fgets(url, (int)urllen, f) == NULL) {
		fprintf(stderr, "echo_server printed no address\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	url[strcspn(url, "\n")] = '\0';
	fclose(f);
	return pid;
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
	char url[256], url2[256];
	pid_t pid = spawn_server("tcp://127.0.0.1:0", url, sizeof(url));
	CHECK(pid > 0);
	struct rpc_client_opts co = { .max_msg = 0 };
	rt_key_from_string(&co.key, TEST_KEY);
	rpc_client *c;
	char err[256];
	const char *u = url;
	CHECK_EQ(rpc_client_open(&c, &u, 1, &co, err, sizeof(err)), 0);
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
	    20000, 0, bg_done, &b), 0);
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
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
	pid = spawn_server(url, url2, sizeof(url2));
	CHECK(pid > 0);
	CHECK(CHECK_WAIT_UNTIL(rpc_client_connected(c) > 0, 5000));
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	rpc_client_close(c);
}

/* Two servers behind one client: calls in flight on the one that dies are
 * resent to the other, and every call succeeds. */
static void
test_calls_on_a_dead_peer_are_resent_elsewhere(void)
{
	char a[256], b[256];
	pid_t pa = spawn_server("tcp://127.0.0.1:0", a, sizeof(a));
	pid_t pb = spawn_server("tcp://127.0.0.1:0", b, sizeof(b));
	CHECK(pa > 0 && pb > 0);
	struct rpc_client_opts co = { .max_msg = 0 };
	rt_key_from_string(&co.key, TEST_KEY);
	rpc_client *c;
	char err[256];
	const char *urls[] = { a, b };
	CHECK_EQ(rpc_client_open(&c, urls, 2, &co, err, sizeof(err)), 0);
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
		    &slow.base, 10000, 0, bg_done, &calls[i]), 0);
	}
	struct rpc_error e;
	CHECK_STATUS(call(c, 0, &e), HS_OK, e.message);
	kill(pa, SIGKILL);
	waitpid(pa, NULL, 0);
	for (int i = 0; i < N; i++) {
		pthread_mutex_lock(&calls[i].mu);
		while (!calls[i].done)
			pthread_cond_wait(&calls[i].cv, &calls[i].mu);
		pthread_mutex_unlock(&calls[i].mu);
		CHECK_STATUS(calls[i].e.code, HS_OK, calls[i].e.message);
	}
	kill(pb, SIGTERM);
	waitpid(pb, NULL, 0);
	rpc_client_close(c);
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
	const char *srcdir = getenv("TEST_SRCDIR");
	snprintf(server_bin, sizeof(server_bin), "%s/haystack_c/proto/echo_server",
	    srcdir ? srcdir : ".");
	rt_log_init("rpc_kill_test", 'T');
	return check_run(cases, argc, argv);
}
