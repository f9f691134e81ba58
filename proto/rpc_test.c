/* The RPC runtime over real nng sockets (tcp and ipc on this machine): good
 * calls, 64 concurrent calls, deadlines, and every kind of bad request, each
 * answered with its code while the server keeps answering good calls. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "echo.pb-c.h"
#include "echo_service.h"
#include "log.h"
#include "rpc_batch.h"
#include "rpc_client.h"
#include "rpc_server.h"
#include "rpc_wire.h"

#define TEST_NAME "echo-test"

static rpc_server *srv;
static rpc_client *cli;
static char url[256];
/* The server and the good client are one principal talking to itself; an
 * impostor has the same name and another key. */
static rt_ident *ident, *impostor;

static void
key(rt_key *k)
{
	unsigned role;
	char err[128];
	rt_ident_pair(ident, TEST_NAME, k, &role, err, sizeof(err));
}

static rpc_client *
client_for(const char *u, rt_ident *who)
{
	struct rpc_client_opts co = { .ident = who };
	rpc_client *c = NULL;
	char err[256];
	if (rpc_client_open(&c, &u, 1, &co, err, sizeof(err)) != 0)
		fprintf(stderr, "client: %s\n", err);
	return c;
}

/* An echo server named name, as who (max_msg 0: the default bound),
 * listening on listen (the bound URL into url when it is not NULL) and
 * started. NULL after saying why. */
static rpc_server *
echo_server(const char *name, rt_ident *who, size_t max_msg, const char *listen,
    char *url_out, size_t len)
{
	struct rpc_server_opts so = { .name = name,
		.max_msg = max_msg,
		.ident = who };
	rpc_server *s = NULL;
	if (rpc_server_open(&s, &so) != 0) {
		fprintf(stderr, "cannot open the echo server %s\n", name);
		return NULL;
	}
	if (echo_service_add(s) != 0 ||
	    rpc_server_listen(s, listen, url_out, len) != 0 ||
	    rpc_server_start(s) != 0) {
		fprintf(stderr, "cannot start the echo server %s on %s\n", name,
		    listen);
		rpc_server_close(s);
		return NULL;
	}
	return s;
}

static void
start_server(const char *listen)
{
	srv = echo_server("echo-test", ident, 64u << 20, listen, url,
	    sizeof(url));
	if (srv == NULL)
		exit(1);
	cli = client_for(url, ident);
}

static void
stop_server(void)
{
	rpc_client_close(cli);
	echo_service_drain();
	rpc_server_close(srv);
}

/* One echo of `len` bytes through c; returns its status. */
static hs_status
echo(rpc_client *c, size_t len, uint32_t delay_ms, int64_t timeout_ms,
    struct rpc_error *err)
{
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	uint8_t *buf = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + len);
	req.data.data = buf;
	req.data.len = len;
	req.delay_ms = delay_ms;
	hs_status st = rpc_invoke(c, &hs__echo__descriptor, "Echo", &req.base,
	    &reply, timeout_ms, 0, err);
	if (st == HS_OK) {
		Hs__EchoReply *r = (Hs__EchoReply *)reply;
		if (r->data.len != len ||
		    (len > 0 && memcmp(r->data.data, buf, len) != 0))
			st = HS_DATA_LOSS;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	free(buf);
	return st;
}

/* One echo of len bytes through a server of its own named name on listen
 * and a client of its own, both as who. */
static hs_status
echo_once(const char *name, rt_ident *who, const char *listen, size_t len,
    struct rpc_error *e)
{
	char u[256];
	rpc_server *s = echo_server(name, who, 0, listen, u, sizeof(u));
	if (s == NULL) {
		snprintf(e->message, sizeof(e->message), "no echo server");
		return HS_UNAVAILABLE;
	}
	rpc_client *c = client_for(u, who);
	hs_status st = echo(c, len, 0, 5000, e);
	rpc_client_close(c);
	rpc_server_close(s);
	return st;
}

static int
good_call_works(void)
{
	struct rpc_error e;
	return echo(cli, 100, 0, 5000, &e) == HS_OK;
}

static void
test_echo_round_trip_tcp(void)
{
	struct rpc_error e;
	CHECK_STATUS(echo(cli, 0, 0, 5000, &e), HS_OK, e.message);
	CHECK_STATUS(echo(cli, 4096, 0, 5000, &e), HS_OK, e.message);
	CHECK_STATUS(echo(cli, 3u << 20, 0, 5000, &e), HS_OK, e.message);
}

static void
test_echo_round_trip_ipc(void)
{
	char path[128], u[160];
	snprintf(path, sizeof(path), "/tmp/hs-rpc-test-%d.ipc", (int)getpid());
	snprintf(u, sizeof(u), "ipc://%s", path);
	struct rpc_error e;
	hs_status st = echo_once("ipc", ident, u, 4096, &e);
	unlink(path);
	CHECK_STATUS(st, HS_OK, e.message);
}

static void
unused_handler(rpc_call *call, const ProtobufCMessage *req, void *arg)
{
	(void)req;
	(void)arg;
	rpc_fail(call, HS_INTERNAL, "never called");
}

/* Handlers are matched to the descriptor by name: a table row naming no
 * method, or one method twice, stops the service from being added. */
static void
test_handler_table_matched_by_name(void)
{
	static const struct rpc_method unknown[] = { { "Ech0", unused_handler,
	    RT_ROLES_ANY } };
	static const struct rpc_method twice[] = {
		{ "Echo", unused_handler, RT_ROLES_ANY },
		{ "Echo", unused_handler, RT_ROLES_ANY },
	};
	struct rpc_server_opts so = { .name = "table", .ident = ident };
	rpc_server *s;
	CHECK(rpc_server_open(&s, &so) == 0);
	int bad_name = rpc_server_add_service(s, &hs__echo__descriptor, unknown,
	    1, NULL);
	int bad_twice = rpc_server_add_service(s, &hs__echo__descriptor, twice,
	    2, NULL);
	int good = echo_service_add(s);
	rpc_server_close(s);
	CHECK_EQ(bad_name, NNG_EINVAL);
	CHECK_EQ(bad_twice, NNG_EINVAL);
	CHECK_EQ(good, 0);
}

struct concurrent {
	atomic_int done, ok;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void
concurrent_done(void *arg, ProtobufCMessage *reply, const struct rpc_error *err)
{
	struct concurrent *c = arg;
	if (err->code == HS_OK) {
		Hs__EchoReply *r = (Hs__EchoReply *)reply;
		if (r->data.len == 4096)
			atomic_fetch_add(&c->ok, 1);
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	pthread_mutex_lock(&c->mu);
	atomic_fetch_add(&c->done, 1);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* 64 calls in flight at once, each answered from its own handler thread
 * after 50 ms: all 64 must finish in far less than 64 x 50 ms, which shows
 * the contexts really run concurrently. */
static void
test_64_concurrent_calls(void)
{
	struct concurrent c = { .done = 0 };
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	req.reply_size = 4096;
	req.delay_ms = 50;
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	CHECK(good_call_works());
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < 64; i++)
		CHECK_EQ(rpc_invoke_async(cli, &hs__echo__descriptor, "Echo",
			     &req.base, 10000, 0, concurrent_done, &c),
		    0);
	pthread_mutex_lock(&c.mu);
	while (atomic_load(&c.done) < 64)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	int64_t took = check_mono_ms() - t0;
	CHECK_EQ(atomic_load(&c.ok), 64);
	printf("  64 concurrent 50 ms calls took %lld ms\n", (long long)took);
	CHECK(took < 64 * 50 / 2);
}

/* rpc_batch: 100 calls, at most 8 at once, each with its own bytes and
 * delay; every slot gets its own answer, a failing call and a call with
 * no client fail in their slots only. */
static void
test_batch_answers_every_slot(void)
{
	enum { N = 100 };
	static Hs__EchoRequest reqs[N];
	static struct rpc_batch_call calls[N];
	static uint32_t tags[N];
	for (int i = 0; i < N; i++) {
		hs__echo_request__init(&reqs[i]);
		tags[i] = (uint32_t)i * 2654435761u;
		reqs[i].data.data = (uint8_t *)&tags[i];
		reqs[i].data.len = sizeof(tags[i]);
		reqs[i].delay_ms = (uint32_t)(i % 7);
		calls[i] = (struct rpc_batch_call){ .client = cli,
			.svc = &hs__echo__descriptor,
			.method = "Echo",
			.req = &reqs[i].base };
	}
	reqs[10].fail_code = HS_NOT_FOUND;
	calls[20].client = NULL;
	rpc_batch_run(calls, N, 8, 5000);
	for (int i = 0; i < N; i++) {
		if (i == 10 || i == 20) {
			CHECK_EQ(calls[i].status,
			    i == 10 ? HS_NOT_FOUND : HS_UNAVAILABLE);
			CHECK(calls[i].reply == NULL);
			continue;
		}
		CHECK_STATUS(calls[i].status, HS_OK, calls[i].err.message);
		const Hs__EchoReply *r = (const Hs__EchoReply *)calls[i].reply;
		CHECK_EQ(r->data.len, sizeof(tags[i]));
		CHECK(memcmp(r->data.data, &tags[i], sizeof(tags[i])) == 0);
		protobuf_c_message_free_unpacked(calls[i].reply, NULL);
	}
}

static void
test_deadline_exceeded(void)
{
	struct rpc_error e;
	int64_t t0 = check_mono_ms();
	CHECK_STATUS(echo(cli, 10, 1000, 150, &e), HS_DEADLINE_EXCEEDED,
	    e.message);
	CHECK(check_mono_ms() - t0 < 900);
	CHECK(good_call_works());
}

static void
test_bad_mac_is_unauthenticated(void)
{
	rpc_client *c = client_for(url, impostor);
	struct rpc_error e;
	hs_status st = echo(c, 10, 0, 5000, &e);
	rpc_client_close(c);
	CHECK_STATUS(st, HS_UNAUTHENTICATED, e.message);
	CHECK(strstr(e.message, "MAC") != NULL);
	CHECK(good_call_works());
}

/* A frame as a client would build it, with fields to tamper with. */
static nng_msg *
build_frame(const char *service, const char *method, int64_t ts_offset_ms,
    uint64_t epoch)
{
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	Hs__Envelope env = HS__ENVELOPE__INIT;
	rt_key k;
	nng_msg *m = NULL;
	key(&k);
	req.data.data = (uint8_t *)"hello";
	req.data.len = 5;
	env.service = (char *)service;
	env.method = (char *)method;
	env.request_id = 42;
	env.timestamp_ms = rt_now_ms() + ts_offset_ms;
	env.epoch = epoch;
	env.key_id = TEST_NAME;
	rpc_wire_pack_request(&k, &env, &req.base, &m);
	return m;
}

static hs_status
send_frame(nng_msg *m, size_t len, struct rpc_error *e)
{
	hs_status st = rpc_invoke_raw(cli, nng_msg_body(m), len, 5000, e);
	nng_msg_free(m);
	return st;
}

static void
test_valid_raw_frame_is_served(void)
{
	nng_msg *m = build_frame("hs.Echo", "Echo", 0, 0);
	struct rpc_error e;
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_OK, e.message);
}

static void
test_replayed_old_timestamp_is_unauthenticated(void)
{
	nng_msg *m = build_frame("hs.Echo", "Echo", -10 * 60 * 1000, 0);
	struct rpc_error e;
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_UNAUTHENTICATED,
	    e.message);
	CHECK(strstr(e.message, "replay") != NULL);
	CHECK(good_call_works());
}

static void
test_garbage_bytes_are_invalid(void)
{
	uint8_t junk[777];
	struct rpc_error e;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 17);
	CHECK_STATUS(rpc_invoke_raw(cli, junk, sizeof(junk), 5000, &e),
	    HS_INVALID_ARGUMENT, e.message);
	CHECK_STATUS(rpc_invoke_raw(cli, "", 0, 5000, &e), HS_UNAUTHENTICATED,
	    e.message); /* an empty envelope parses but has no MAC */
	CHECK(good_call_works());
}

static void
test_truncated_envelope_is_invalid(void)
{
	nng_msg *m = build_frame("hs.Echo", "Echo", 0, 0);
	size_t full = nng_msg_len(m);
	struct rpc_error e;
	for (size_t cut = 1; cut < full; cut += 3) {
		nng_msg *c = build_frame("hs.Echo", "Echo", 0, 0);
		hs_status st = send_frame(c, cut, &e);
		/* Cut at a field boundary the envelope may still parse, but then
		 * the MAC fails; it is never served. */
		if (st != HS_INVALID_ARGUMENT && st != HS_UNAUTHENTICATED)
			fprintf(stderr, "cut at %zu of %zu: %s\n", cut, full,
			    hs_status_str(st));
		CHECK(st == HS_INVALID_ARGUMENT || st == HS_UNAUTHENTICATED);
	}
	nng_msg_free(m);
	m = build_frame("hs.Echo", "Echo", 0, 0);
	CHECK_STATUS(send_frame(m, full - 2, &e), HS_INVALID_ARGUMENT,
	    e.message);
	CHECK(good_call_works());
}

static void
test_100MB_frame_against_64MB_limit(void)
{
	struct rpc_error e;
	/* Past the frame bound the transport cuts the connection as soon as
	 * the frame's length arrives, unread (issue 12): no answer comes. */
	CHECK(echo(cli, 100u << 20, 0, 20000, &e) != HS_OK);
	CHECK(good_call_works());
	/* Within the envelope's slack the frame is read and answered. */
	CHECK_STATUS(echo(cli, (64u << 20) + 1, 0, 20000, &e),
	    HS_INVALID_ARGUMENT, e.message);
	CHECK(strstr(e.message, "limit") != NULL);
	CHECK(good_call_works());
}

static void
test_unknown_method_and_service(void)
{
	struct rpc_error e;
	nng_msg *m = build_frame("hs.Echo", "Shout", 0, 0);
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_UNIMPLEMENTED,
	    e.message);
	m = build_frame("hs.Nothing", "Echo", 0, 0);
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_UNIMPLEMENTED,
	    e.message);
	CHECK(good_call_works());
}

static void
test_stale_epoch_is_refused(void)
{
	struct rpc_error e;
	nng_msg *m = build_frame("hs.Echo", "Echo", 0, 7);
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_OK, e.message);
	CHECK_EQ(rpc_server_epoch(srv), 7);
	m = build_frame("hs.Echo", "Echo", 0, 6);
	CHECK_STATUS(send_frame(m, nng_msg_len(m), &e), HS_FAILED_PRECONDITION,
	    e.message);
	CHECK(strstr(e.message, "stale epoch") != NULL);
	CHECK(good_call_works()); /* epoch 0: not fenced */
}

static void
test_handler_errors_reach_the_caller(void)
{
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply;
	struct rpc_error e;
	req.fail_code = HS_NOT_FOUND;
	CHECK_STATUS(rpc_invoke(cli, &hs__echo__descriptor, "Echo", &req.base,
			 &reply, 5000, 0, &e),
	    HS_NOT_FOUND, e.message);
	CHECK(reply == NULL);
	CHECK(strcmp(e.message, "failed on request") == 0);
}

static void
test_no_server_is_unavailable_quickly(void)
{
	struct rpc_error e;
	rpc_client *c = client_for("tcp://127.0.0.1:1", ident);
	int64_t t0 = check_mono_ms();
	hs_status st = echo(c, 10, 0, 10000, &e);
	rpc_client_close(c);
	CHECK_STATUS(st, HS_UNAVAILABLE, e.message);
	CHECK(check_mono_ms() - t0 < 3000);
	CHECK(strstr(e.message, "127.0.0.1:1") != NULL);
}

/* 1: the fake server replays a genuine reply (right key) to another
 * request id; 0: it MACs under a key it guessed. */
static int forge_replay;

/* A fake server: answers one request OK with a reply that is not the
 * caller's: a MAC under a guessed key, or a genuine one for another id. */
static void *
forge_one(void *arg)
{
	nng_socket *rep = arg;
	nng_msg *m;
	if (nng_recvmsg(*rep, &m, 0) != 0)
		return NULL;
	Hs__Envelope *env = rpc_wire_unpack_request(nng_msg_body(m),
	    nng_msg_len(m));
	Hs__ReplyEnvelope r = HS__REPLY_ENVELOPE__INIT;
	Hs__EchoReply er = HS__ECHO_REPLY__INIT;
	rt_key guess;
	rt_key_from_string(&guess, "not-the-pair-key-0123456789");
	if (forge_replay)
		key(&guess);
	r.request_id = (env ? env->request_id : 0) + (uint64_t)forge_replay;
	r.server = TEST_NAME;
	er.data.data = (uint8_t *)"forged";
	er.data.len = 6;
	nng_msg *out = NULL;
	rpc_wire_free_request(env);
	nng_msg_free(m);
	if (rpc_wire_pack_reply(&guess, &r, &er.base, &out) == 0 &&
	    nng_sendmsg(*rep, out, 0) != 0)
		nng_msg_free(out);
	return NULL;
}

/* A reply not MAC'd under the key the caller shares with its server is
 * dropped: the call fails UNAUTHENTICATED, never returns the payload. */
static void
forged_reply_is_dropped(int replay)
{
	forge_replay = replay;
	nng_socket rep;
	nng_listener l;
	char u[64];
	int port = 0;
	CHECK(nng_rep0_open(&rep) == 0);
	CHECK(nng_listener_create(&l, rep, "tcp://127.0.0.1:0") == 0);
	CHECK(nng_listener_start(l, 0) == 0);
	nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
	snprintf(u, sizeof(u), "tcp://127.0.0.1:%d", port);
	pthread_t t;
	pthread_create(&t, NULL, forge_one, &rep);
	struct rpc_client_opts co = { .ident = ident, .peer = TEST_NAME };
	rpc_client *c = NULL;
	char err[256];
	const char *up = u;
	CHECK(rpc_client_open(&c, &up, 1, &co, err, sizeof(err)) == 0);
	struct rpc_error e;
	hs_status st = echo(c, 10, 0, 3000, &e);
	pthread_join(t, NULL);
	rpc_client_close(c);
	nng_close(rep);
	CHECK_STATUS(st, HS_UNAUTHENTICATED, e.message);
	CHECK(strstr(e.message, "failed authentication") != NULL);
}

static void
test_forged_reply_is_dropped(void)
{
	forged_reply_is_dropped(0);
}

/* A genuine reply to another call (a replay by someone on the path of a
 * plain-TCP connection) does not answer this one. */
static void
test_replayed_reply_is_dropped(void)
{
	forged_reply_is_dropped(1);
}

/* A client opened without naming its server takes the name the server's
 * first refusal gives only if it is a server's: an application holding a
 * credential must not pose as the directory. */
static void
test_learnt_peer_must_be_a_server(void)
{
	rt_ident *app;
	CHECK(rt_ident_ephemeral(&app, "app", RT_ROLE_CLIENT) == 0);
	struct rpc_error e;
	hs_status st = echo_once("posing", app, "tcp://127.0.0.1:0", 10, &e);
	rt_ident_free(app);
	CHECK_STATUS(st, HS_UNAUTHENTICATED, e.message);
	CHECK(good_call_works());
}

static void
test_address_schemes(void)
{
	struct rpc_client_opts co = { .ident = ident };
	rpc_client *c = NULL;
	char err[256];
	const char *tls = "tls+tcp://127.0.0.1:1";
	const char *bad = "carrier-pigeon://nowhere";
	/* A TLS address needs the process's TLS identity (runtime/tls.h);
	 * proto/rpc_tls_test.c has TLS with one. */
	CHECK(rpc_client_open(&c, &tls, 1, &co, err, sizeof(err)) != 0);
	CHECK(strstr(err, "HS_TLS_CA") != NULL);
	CHECK(rpc_client_open(&c, &bad, 1, &co, err, sizeof(err)) != 0);
	CHECK(strstr(err, "bad address") != NULL);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "echo round trip over tcp", test_echo_round_trip_tcp },
		{ "echo round trip over ipc", test_echo_round_trip_ipc },
		{ "64 concurrent calls", test_64_concurrent_calls },
		{ "batch answers every slot", test_batch_answers_every_slot },
		{ "deadline exceeded", test_deadline_exceeded },
		{ "bad MAC is UNAUTHENTICATED",
		    test_bad_mac_is_unauthenticated },
		{ "valid raw frame is served", test_valid_raw_frame_is_served },
		{ "replayed old timestamp is UNAUTHENTICATED",
		    test_replayed_old_timestamp_is_unauthenticated },
		{ "garbage bytes are INVALID_ARGUMENT",
		    test_garbage_bytes_are_invalid },
		{ "truncated envelope is refused",
		    test_truncated_envelope_is_invalid },
		{ "100 MB frame against a 64 MB limit",
		    test_100MB_frame_against_64MB_limit },
		{ "unknown method and service are UNIMPLEMENTED",
		    test_unknown_method_and_service },
		{ "stale epoch is refused", test_stale_epoch_is_refused },
		{ "handler errors reach the caller",
		    test_handler_errors_reach_the_caller },
		{ "no server is UNAVAILABLE quickly",
		    test_no_server_is_unavailable_quickly },
		{ "address schemes", test_address_schemes },
		{ "forged reply is dropped", test_forged_reply_is_dropped },
		{ "replayed reply is dropped", test_replayed_reply_is_dropped },
		{ "a learnt peer must be a server",
		    test_learnt_peer_must_be_a_server },
		{ "handler table matched by name",
		    test_handler_table_matched_by_name },
		{ NULL, NULL },
	};
	rt_log_init("rpc_test", 'T');
	/* a directory: its epochs raise the server's floor */
	if (rt_ident_ephemeral(&ident, TEST_NAME, RT_ROLE_DIRECTORY) != 0 ||
	    rt_ident_ephemeral(&impostor, TEST_NAME, RT_ROLE_DIRECTORY) != 0)
		return 1;
	start_server("tcp://127.0.0.1:0");
	int rc = check_run(cases, argc, argv);
	stop_server();
	rt_ident_free(impostor);
	rt_ident_free(ident);
	return rc;
}
