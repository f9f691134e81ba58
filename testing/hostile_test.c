/* Hostile peers are bounded (issue 12, section 5), against real stored and
 * directoryd processes attacked over TCP from here: frames over the limit
 * are cut off unread, slow senders are cut off and the store's resident
 * memory (VmRSS and its peak, VmHWM, from /proc) stays within the bound,
 * connections past --max-conns are closed, a request that would unpack
 * into too much memory is refused, a crafted deadline or timestamp holds
 * nothing, a store copies only to stores in its table (never to an address
 * a request names), forged heartbeats cannot fill the directory's store
 * table, and a request's strings cannot forge log lines. After each attack a good
 * call still works. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "cluster.h"
#include "directory.pb-c.h"
#include "env.h"
#include "grant.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"
#include "rpc_limits.h"
#include "rpc_pool.h"
#include "rpc_wire.h"
#include "store.pb-c.h"
#include "token.h"

#define MiB (1u << 20)
#define MAX_MSG (72u * MiB) /* stored's default HS_MAX_MSG */
#define SLACK (16u * MiB)   /* allocator and thread noise in RSS */
#define NSLOW 4

enum { A, B, NSTORES }; /* A: the attacked store; B: a low --max-conns */

static char dir[512], keyfile[600], bin[512];
static rt_key key;
static struct test_proc procs[NSTORES];
static int ports[NSTORES];
static rpc_client *clients[NSTORES];

static void
start_store(int i, const char *conns, const char *idle)
{
	char idf[32], listen[64], data[600], kf[640], name[16];
	snprintf(name, sizeof(name), "store-%c", 'A' + i);
	snprintf(idf, sizeof(idf), "--id=%d", i + 1);
	snprintf(listen, sizeof(listen), "--listen=tcp://127.0.0.1:%d",
	    ports[i]);
	snprintf(data, sizeof(data), "--data-dir=%s/%s", dir, name);
	mkdir(data + strlen("--data-dir="), 0755);
	snprintf(kf, sizeof(kf), "--key-file=");
	test_store_identity(kf + 11, sizeof(kf) - 11, keyfile, i + 1);
	char *argv[] = { bin, idf, listen, data, kf,
		"--directories=tcp://127.0.0.1:9", "--heartbeat-interval=5s",
		"--scrub-rate=0", "--min-replicas=1", "--max-call=1s",
		(char *)conns, (char *)idle, NULL };
	const char *env[] = { "HS_LOG_LEVEL=debug", NULL };
	struct test_proc_opts o = { .env = env };
	test_proc_start_opts(&procs[i], name, dir, argv, &o);
}

/* 1 when store i answers Stats (a good call). */
static int
store_answers(int i)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	if (rpc_invoke(clients[i], &hs__store__descriptor, "Stats", &req.base,
		&reply, 2000, 0, &e) != HS_OK)
		return 0;
	protobuf_c_message_free_unpacked(reply, NULL);
	return 1;
}

static long
rss_mib(int i)
{
	return test_proc_status_kib(procs[i].pid, "VmRSS") / 1024;
}

/* --- a raw SP-over-TCP peer with no credential --- */

/* Connects to port and does the SP handshake as a REQ socket; -1 on
 * failure. Sends and receives give up after 5 s. */
static int
raw_connect(int port)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	struct timeval tv = { 5, 0 };
	uint8_t peer[8];
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello) ||
	    recv(fd, peer, sizeof(peer), MSG_WAITALL) != sizeof(peer)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Declares a frame of len bytes (its 8-byte big-endian length). */
static int
raw_declare(int fd, uint64_t len)
{
	uint8_t h[8];
	for (int i = 0; i < 8; i++)
		h[i] = (uint8_t)(len >> (56 - 8 * i));
	return send(fd, h, sizeof(h), MSG_NOSIGNAL) == sizeof(h) ? 0 : -1;
}

/* Sends n bytes of the frame (stops early if the server cut us off). */
static void
raw_send(int fd, size_t n)
{
	static uint8_t chunk[1 << 20];
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		ssize_t w = send(fd, chunk, k, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		n -= (size_t)w;
	}
}

/* 1 once the server has closed fd's connection. */
static int
raw_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN);
}

static int
all_closed(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (!raw_closed(fds[i]))
			return 0;
	return 1;
}

static int
count_closed(const int *fds, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += raw_closed(fds[i]);
	return k;
}

static void
close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* The attack: frames declared over the limit (120 MiB, under the
 * old twice-the-limit bound) are cut off at their length, before the
 * store reads or allocates any of them; the store keeps serving. */
static void
test_frame_over_the_limit_is_cut_off_unread(void)
{
	int fds[NSLOW];
	long rss0 = rss_mib(A);
	for (int i = 0; i < NSLOW; i++) {
		fds[i] = raw_connect(ports[A]);
		CHECK(fds[i] >= 0);
		CHECK(raw_declare(fds[i], 120u * MiB) == 0);
	}
	int64_t t0 = check_mono_ms();
	for (int i = 0; i < NSLOW; i++)
		raw_send(fds[i], 32u * MiB);
	fprintf(stderr, "store RSS %ld MiB before, %ld MiB under attack\n",
	    rss0, rss_mib(A));
	CHECK_MSG(rss_mib(A) <= rss0 + (long)(SLACK / MiB),
	    "RSS %ld MiB, was %ld", rss_mib(A), rss0);
	/* Well before --conn-idle (1 s) could close them. */
	CHECK(CHECK_WAIT_UNTIL(all_closed(fds, NSLOW),
	    700 - (check_mono_ms() - t0)));
	close_all(fds, NSLOW);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* Frames of an allowed size sent half and then stalled: each connection
 * holds at most one frame (the bound: rpc_frame_max per connection), and
 * is closed after --conn-idle, when the memory is given back. */
static void
test_slow_senders_are_cut_off_and_memory_stays_bounded(void)
{
	int fds[NSLOW];
	long rss0 = rss_mib(A);
	long bound = rss0 +
	    (long)((NSLOW * rpc_frame_max(MAX_MSG) + SLACK) / MiB);
	for (int i = 0; i < NSLOW; i++) {
		fds[i] = raw_connect(ports[A]);
		CHECK(fds[i] >= 0);
		CHECK(raw_declare(fds[i], 64u * MiB) == 0);
		raw_send(fds[i], 32u * MiB);
	}
	fprintf(stderr, "store RSS %ld MiB before, %ld MiB under attack\n",
	    rss0, rss_mib(A));
	CHECK_MSG(rss_mib(A) <= bound, "RSS %ld MiB, bound %ld", rss_mib(A),
	    bound);
	CHECK(CHECK_WAIT_UNTIL(all_closed(fds, NSLOW), 5000));
#ifndef __SANITIZE_ADDRESS__ /* ASan keeps freed memory in quarantine */
	CHECK_MSG(CHECK_WAIT_UNTIL(rss_mib(A) <= rss0 + (long)(SLACK / MiB),
		      5000),
	    "RSS %ld MiB after the cut, was %ld", rss_mib(A), rss0);
#endif
	close_all(fds, NSLOW);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* Store B keeps 8 connections (--max-conns=8, --conn-idle=60s); the
 * test's client holds one. Of 12 more, 5 are closed at once (which ones
 * depends on the order their handshakes finish) and 7 stay; once they are
 * gone a new client connects. */
static void
test_connections_past_the_cap_are_closed(void)
{
	enum { N = 12, ROOM = 8 - 1 };
	int fds[N];
	CHECK(store_answers(B));
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(ports[B]);
		CHECK(fds[i] >= 0);
	}
	CHECK(CHECK_WAIT_UNTIL(count_closed(fds, N) == N - ROOM, 3000));
	CHECK(!CHECK_WAIT_UNTIL(count_closed(fds, N) > N - ROOM, 300));
	CHECK(store_answers(B));
	close_all(fds, N);
	rpc_client *fresh = test_rpc_open_port(ports[B], keyfile);
	rpc_client *held = clients[B];
	clients[B] = fresh;
	CHECK(CHECK_WAIT_UNTIL(store_answers(B), 5000));
	clients[B] = held;
	test_rpc_close(fresh);
}

/* 4 Mi empty needles: 8 MiB on the wire, about 450 MiB unpacked without a
 * budget. Refused before it is unpacked; the store's peak RSS barely
 * moves. */
static void
test_request_unpacking_past_its_budget_is_refused(void)
{
	enum { N = 4 << 20 };
	Hs__Needle empty = HS__NEEDLE__INIT;
	Hs__Needle **many = malloc(N * sizeof(*many));
	for (size_t i = 0; i < N; i++)
		many[i] = &empty;
	Hs__ReplicateRequest req = HS__REPLICATE_REQUEST__INIT;
	req.needles = many;
	req.n_needles = N;
	long hwm0 = test_proc_status_kib(procs[A].pid, "VmHWM") / 1024;
	long rss0 = rss_mib(A);
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	char as[600]; /* a peer store: Replicate is the stores' */
	hs_status st = test_rpc_call(ports[A],
	    test_store_identity(as, sizeof(as), keyfile, 2),
	    &hs__store__descriptor, "Replicate", &req.base, &reply, 20000, &e);
	free(many);
	if (st == HS_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
	CHECK_STATUS(st, HS_INVALID_ARGUMENT, e.message);
	CHECK(strstr(e.message, "more than") != NULL);
	long hwm = test_proc_status_kib(procs[A].pid, "VmHWM") / 1024;
	CHECK_MSG(hwm <= (hwm0 > rss0 + 96 ? hwm0 : rss0 + 96),
	    "peak RSS %ld MiB (was %ld, RSS %ld)", hwm, hwm0, rss0);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* Sends env (its service, method, times set by the caller) with req as a
 * raw frame MAC'd as the admin speaking to store A; the reply's code. */
static hs_status
send_envelope(Hs__Envelope *env, const ProtobufCMessage *req,
    int64_t timeout_ms, struct rpc_error *e)
{
	nng_msg *m = NULL;
	rt_key pair;
	unsigned role;
	char why[200];
	env->request_id = (uint64_t)rt_now_ms();
	env->key_id = "admin";
	if (rt_ident_pair(test_ident(keyfile), "store-1", &pair, &role, why,
		sizeof(why)) != 0 ||
	    rpc_wire_pack_request(&pair, env, req, &m) != 0)
		return HS_INTERNAL;
	/* Store A closes connections idle for 1 s; a call racing that close
	 * is lost unanswered, and is sent again. */
	hs_status st;
	int tries = 0;
	do
		st = rpc_invoke_raw(clients[A], nng_msg_body(m), nng_msg_len(m),
		    timeout_ms, e);
	while (st == HS_UNAVAILABLE && !e->answered && ++tries < 3);
	nng_msg_free(m);
	return st;
}

/* A grant Write registers with the directory, waiting up to its deadline;
 * the store has none. A deadline of INT64_MAX (once nng's "forever") is
 * held at most --max-call (1 s). */
static void
test_crafted_deadline_holds_at_most_max_call(void)
{
	uint32_t s1 = 1;
	uint8_t data[100] = { 1 }, sha[32];
	Hs__WriteRequest req = HS__WRITE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	Hs__Envelope env = HS__ENVELOPE__INIT;
	struct rpc_error e;
	uint8_t *tok = NULL;
	size_t toklen = 0;
	id.key = rt_grant_key(&key, 7, 42);
	id.cookie = rt_grant_cookie(&key, id.key);
	rt_token_make_grant(&key, 7, 40, 8, "admin", &s1, 1,
	    rt_now_ms() + 60000, &tok, &toklen);
	SHA256(data, sizeof(data), sha);
	req.id = &id;
	req.data = (ProtobufCBinaryData){ sizeof(data), data };
	req.sha256 = (ProtobufCBinaryData){ 32, sha };
	req.write_token = (ProtobufCBinaryData){ toklen, tok };
	env.service = "hs.Store";
	env.method = "Write";
	env.timestamp_ms = rt_now_ms();
	env.deadline_ms = INT64_MAX;
	int64_t t0 = check_mono_ms();
	hs_status st = send_envelope(&env, &req.base, 20000, &e);
	int64_t took = check_mono_ms() - t0;
	free(tok);
	CHECK(st != HS_OK);
	CHECK(e.answered);
	CHECK_MSG(took < 5000, "the call took %lld ms", (long long)took);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* Timestamps at the ends of int64 (now - ts once overflowed, and one of
 * them passed the window) are outside the window. */
static void
test_timestamp_window_cannot_overflow(void)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	struct rpc_error e;
	int64_t now = rt_now_ms();
	int64_t stamps[] = { INT64_MIN + now, INT64_MIN, INT64_MAX,
		now + INT64_MAX / 2 };
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		Hs__Envelope env = HS__ENVELOPE__INIT;
		env.service = "hs.Store";
		env.method = "Stats";
		env.timestamp_ms = stamps[i];
		CHECK_STATUS(send_envelope(&env, &req.base, 5000, &e),
		    HS_UNAUTHENTICATED, e.message);
	}
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* A method name with a newline is logged escaped, on one line. */
static void
test_strings_from_the_network_cannot_forge_log_lines(void)
{
	Hs__StoreStatsRequest req = HS__STORE_STATS_REQUEST__INIT;
	Hs__Envelope env = HS__ENVELOPE__INIT;
	struct rpc_error e;
	static char log[1 << 20];
	env.service = "hs.Store";
	env.method = "Nope\n00:00:00.000 1 forged L E \033[2Jinjected";
	env.timestamp_ms = rt_now_ms();
	CHECK_STATUS(send_envelope(&env, &req.base, 5000, &e), HS_UNIMPLEMENTED,
	    e.message);
	test_read_file(procs[A].log, log, sizeof(log), 1);
	CHECK(strstr(log, "Nope\\x0a00:00:00.000 1 forged") != NULL);
	CHECK(strstr(log, "\n00:00:00.000 1 forged") == NULL);
	CHECK(strchr(log, '\033') == NULL);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* A listening socket nobody should dial: the address a forged request
 * names. Its fd, and its URL in url. */
static int
bait_listen(char *url, size_t len)
{
	int port = test_free_port();
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0)
		return -1;
	snprintf(url, len, "tcp://127.0.0.1:%d", port);
	return fd;
}

/* 1 once someone connected to the bait. */
static int
bait_dialed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

/* A Write naming a peer (store 5, unknown to store A: no directory, no
 * --peers) at the bait's address, and a Push aimed at it: the store copies
 * to neither, and never dials the address the requests name. */
static void
test_forwarding_goes_only_to_the_tables_stores(void)
{
	char url[64];
	int bait = bait_listen(url, sizeof(url));
	CHECK(bait >= 0);
	uint32_t stores[] = { 1, 5 };
	uint8_t data[100] = { 7 }, sha[32], *tok = NULL;
	size_t toklen = 0;
	Hs__WriteRequest w = HS__WRITE_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	Hs__Replica peer = HS__REPLICA__INIT, *peers[] = { &peer };
	ProtobufCMessage *reply = NULL;
	struct rpc_error e;
	id.key = 0x5eed5eed;
	id.cookie = 77;
	rt_token_make(&key, id.key, id.cookie, stores, 2, rt_now_ms() + 60000,
	    &tok, &toklen);
	SHA256(data, sizeof(data), sha);
	peer.store_id = 5;
	peer.rpc_addr = url;
	w.id = &id;
	w.data = (ProtobufCBinaryData){ sizeof(data), data };
	w.sha256 = (ProtobufCBinaryData){ 32, sha };
	w.write_token = (ProtobufCBinaryData){ toklen, tok };
	w.peers = peers;
	w.n_peers = 1;
	w.min_replicas = 1;
	hs_status st = rpc_invoke(clients[A], &hs__store__descriptor, "Write",
	    &w.base, &reply, 5000, 0, &e);
	free(tok);
	if (st == HS_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
	CHECK(!CHECK_WAIT_UNTIL(bait_dialed(bait), 1000));
	Hs__PushRequest push = HS__PUSH_REQUEST__INIT;
	Hs__PhotoId *ids[] = { &id };
	push.ids = ids;
	push.n_ids = 1;
	push.target = &peer;
	push.repl_epoch = 1;
	char as[600]; /* Push is the replicator's */
	CHECK_STATUS(test_rpc_call(ports[A],
			 test_identity(as, sizeof(as), keyfile, "replicator"),
			 &hs__store__descriptor, "Push", &push.base, &reply,
			 5000, &e),
	    HS_FAILED_PRECONDITION, e.message);
	CHECK(strstr(e.message, "store 5") != NULL);
	CHECK(!CHECK_WAIT_UNTIL(bait_dialed(bait), 500));
	close(bait);
	CHECK(CHECK_WAIT_UNTIL(store_answers(A), 5000));
}

/* A pool dials at most its limit of addresses and says so. */
static void
test_peer_pool_is_bounded(void)
{
	struct rpc_client_opts o = { .ident = test_ident(keyfile) };
	rpc_pool *p = NULL;
	char err[256] = "";
	CHECK(rpc_pool_open(&p, &o) == 0);
	rpc_pool_set_max(p, 2);
	CHECK(rpc_pool_get(p, "tcp://127.0.0.1:9", "store-1", err,
		  sizeof(err)) != NULL);
	CHECK(rpc_pool_get(p, "tcp://127.0.0.1:10", "store-1", err,
		  sizeof(err)) != NULL);
	CHECK(rpc_pool_get(p, "tcp://127.0.0.1:9", "store-1", err,
		  sizeof(err)) != NULL);
	CHECK(rpc_pool_get(p, "tcp://127.0.0.1:11", "store-1", err,
		  sizeof(err)) == NULL);
	CHECK(strstr(err, "limit") != NULL);
	test_close_bounded((void (*)(void *))rpc_pool_close, p, "the pool");
}

/* With --max-stores=2 and both stores in, a heartbeat with a new id is
 * refused; the stores in the table stay UP. */
static void
test_forged_heartbeats_cannot_fill_the_store_table(void)
{
	struct test_cluster c;
	struct test_cluster_opts o = { .ndirs = 1,
		.nstores = 2,
		.dir_args = "--max-stores=2" };
	if (test_cluster_start(&c, &o) != 0) {
		CHECK(0);
		return;
	}
	int failures = check_failures;
	for (uint32_t id = 100; id < 103; id++) {
		Hs__HeartbeatRequest hb = HS__HEARTBEAT_REQUEST__INIT;
		Hs__StoreInfo si = HS__STORE_INFO__INIT;
		ProtobufCMessage *reply = NULL;
		struct rpc_error e;
		si.id = id;
		si.rpc_addr = "tcp://127.0.0.1:1";
		hb.store = &si;
		/* as the directory tier, which may forward any store's
		 * heartbeat: the cap itself is under test, not the roles */
		char as[600];
		hs_status st = test_rpc_call(c.p_dir[0],
		    test_identity(as, sizeof(as), c.keyfile,
			RT_DIRECTORY_PRINCIPAL),
		    &hs__directory__descriptor, "Heartbeat", &hb.base, &reply,
		    2000, &e);
		if (reply != NULL)
			protobuf_c_message_free_unpacked(reply, NULL);
		CHECK_STATUS(st, HS_RESOURCE_EXHAUSTED, e.message);
		CHECK(strstr(e.message, "--max-stores") != NULL);
	}
	/* The stores in the table go on heartbeating and stay UP. */
	CHECK(test_cluster_wait_stores_up(&c, 2, 2000));
	if (check_failures != failures)
		test_cluster_dump_logs(&c);
	test_cluster_stop(&c);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "frame over the limit is cut off unread",
		    test_frame_over_the_limit_is_cut_off_unread },
		{ "slow senders are cut off and memory stays bounded",
		    test_slow_senders_are_cut_off_and_memory_stays_bounded },
		{ "connections past the cap are closed",
		    test_connections_past_the_cap_are_closed },
		{ "request unpacking past its budget is refused",
		    test_request_unpacking_past_its_budget_is_refused },
		{ "crafted deadline holds at most max-call",
		    test_crafted_deadline_holds_at_most_max_call },
		{ "timestamp window cannot overflow",
		    test_timestamp_window_cannot_overflow },
		{ "strings from the network cannot forge log lines",
		    test_strings_from_the_network_cannot_forge_log_lines },
		{ "forwarding goes only to the table's stores",
		    test_forwarding_goes_only_to_the_tables_stores },
		{ "peer pool is bounded", test_peer_pool_is_bounded },
		{ "forged heartbeats cannot fill the store table",
		    test_forged_heartbeats_cannot_fill_the_store_table },
		{ NULL, NULL },
	};
	rt_log_init("hostile_test", 'T');
	test_temp_dir(dir, sizeof(dir), "hostile");
	test_key_file(keyfile, sizeof(keyfile), dir);
	test_secret(keyfile, &key);
	test_runfile(bin, sizeof(bin), "store/stored");
	for (int i = 0; i < NSTORES; i++)
		ports[i] = test_free_port();
	start_store(A, "--max-conns=16", "--conn-idle=1s");
	start_store(B, "--max-conns=8", "--conn-idle=60s");
	for (int i = 0; i < NSTORES; i++) {
		clients[i] = test_rpc_open_port(ports[i], keyfile);
		if (!CHECK_WAIT_UNTIL(store_answers(i), 10000)) {
			test_proc_dump_log(&procs[i]);
			return 1;
		}
	}
	int rc = check_run(cases, argc, argv);
	for (int i = 0; i < NSTORES; i++) {
		if (rc != 0)
			test_proc_dump_log(&procs[i]);
		test_rpc_close(clients[i]);
		test_proc_kill(&procs[i], SIGTERM);
		test_proc_free(&procs[i]);
	}
	return rc;
}
