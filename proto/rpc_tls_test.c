/* TLS under the RPC runtime and the event feed (runtime/tls.h), with
 * certificates made by tools/certs: a tls+tcp://localhost:0 listener
 * reports its real port; a client of the same CA is answered; a client
 * with another CA's certificate, with no certificate, or speaking plain
 * tcp:// is not (UNAVAILABLE) while the good one keeps being answered; a
 * subscriber of another CA gets no event; and the identity's mistakes
 * (a certificate without a CA, a key readable by others, a missing or
 * unparsable file, a TLS address with no identity) stop start-up with a
 * message saying what to do. */
#include <netinet/in.h>
#include <nng/nng.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "echo.pb-c.h"
#include "echo_service.h"
#include "env.h"
#include "key.h"
#include "pubsub.h"
#include "rpc_client.h"
#include "rpc_server.h"
#include "tls.h"

/* The server, the client, the publisher and its subscribers: one
 * principal (a directory, which may publish photo events) talking to
 * itself; TLS is what is under test. */
static rt_ident *ident;

static char tmp[512], ca[700], good[700], other_ca[700], other[700];

static int
set(const char *c, const char *cert)
{
	char err[512];
	int rv = rt_tls_setup(c, cert, err, sizeof(err));
	if (rv != 0)
		fprintf(stderr, "rt_tls_setup: %s\n", err);
	return rv;
}

/* One echo through a new client of url under the identity set now,
 * within ms. */
static hs_status
echo_within(const char *url, int64_t ms)
{
	struct rpc_client_opts co = { .connect_wait_ms = 1000,
		.ident = ident,
		.peer = RT_DIRECTORY_PRINCIPAL };
	rpc_client *c;
	char err[512];
	if (rpc_client_open(&c, &url, 1, &co, err, sizeof(err)) != 0) {
		fprintf(stderr, "client: %s\n", err);
		return HS_INVALID_ARGUMENT;
	}
	Hs__EchoRequest req = HS__ECHO_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	uint8_t b[64] = { 1, 2, 3 };
	req.data.data = b;
	req.data.len = sizeof(b);
	hs_status st = rpc_invoke(c, &hs__echo__descriptor, "Echo", &req.base,
	    &reply, ms, 0, NULL);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	rpc_client_close(c);
	return st;
}

static hs_status
echo_once(const char *url)
{
	return echo_within(url, 3000);
}

/* Echoes as a client that retries does, until ms pass: a listener that
 * is listened on again drops its connections, and their calls. */
static hs_status
echo_retrying(const char *url, int64_t ms)
{
	int64_t until = check_mono_ms() + ms;
	hs_status st;
	while ((st = echo_within(url, until - check_mono_ms())) ==
		HS_UNAVAILABLE &&
	    check_mono_ms() < until)
		;
	return st;
}

/* An echo server on tls+tcp://localhost:0 under the good certificate;
 * the address it listens on into url. */
static rpc_server *
echo_server(const char *name, char *url, size_t len)
{
	rpc_server *s;
	struct rpc_server_opts so = { .name = name, .ident = ident };
	CHECK_EQ(set(ca, good), 0);
	CHECK_EQ(rpc_server_open(&s, &so), 0);
	CHECK_EQ(echo_service_add(s), 0);
	CHECK_EQ(rpc_server_listen(s, "tls+tcp://localhost:0", url, len), 0);
	CHECK_EQ(rpc_server_start(s), 0);
	return s;
}

static void
test_rpc_mutual_auth(void)
{
	char url[256], plain[256];
	rpc_server *s = echo_server("tls-echo", url, sizeof(url));
	CHECK_MSG(strcmp(url, "tls+tcp://localhost:0") != 0 &&
		strncmp(url, "tls+tcp://localhost:", 20) == 0,
	    "bound url %s", url);
	snprintf(plain, sizeof(plain), "tcp://127.0.0.1:%s", url + 20);

	CHECK_STATUS(echo_once(url), HS_OK, "the same CA");
	CHECK_EQ(set(ca, other), 0); /* a certificate of another CA */
	CHECK_STATUS(echo_once(url), HS_UNAVAILABLE, "another CA's client");
	CHECK_EQ(set(ca, ""), 0); /* no certificate at all */
	CHECK_STATUS(echo_once(url), HS_UNAVAILABLE, "no client certificate");
	CHECK_EQ(set(other_ca, other), 0); /* does not trust the server */
	CHECK_STATUS(echo_once(url), HS_UNAVAILABLE, "server of another CA");
	CHECK_STATUS(echo_once(plain), HS_UNAVAILABLE, "plain tcp");
	CHECK_EQ(set(ca, good), 0);
	CHECK_STATUS(echo_once(url), HS_OK, "the good client still works");

	echo_service_drain();
	rpc_server_close(s);
}

/* Bytes the handshake wrote into wb, onto fd. */
static void
flush_to(BIO *wb, int fd)
{
	char buf[16384];
	int n;
	while ((n = BIO_read(wb, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return;
}

/* A peer with the good certificate that hangs up in the middle of its TLS
 * 1.2 handshake: after its first flight (ClientHello), or after its
 * second (certificate, key exchange, Finished) without waiting for the
 * server's Finished. Debian's nng 1.5.2 ends a listener's accept loop for
 * good when such a negotiation fails with "closed" (nng issue 1518): then
 * every later client connects, sends, and is never answered. */
static void
hang_up_after_flight(int port, int flight)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(ctx != NULL && fd >= 0);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	CHECK(SSL_CTX_use_certificate_file(ctx, good, SSL_FILETYPE_PEM) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx, good, SSL_FILETYPE_PEM) == 1);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	SSL_do_handshake(ssl);
	flush_to(wb, fd);
	if (flight == 2) {
		char buf[16384];
		ssize_t n;
		while (SSL_do_handshake(ssl) != 1 &&
		    BIO_ctrl_pending(wb) == 0 &&
		    (n = read(fd, buf, sizeof(buf))) > 0)
			BIO_write(rb, buf, (int)n);
		flush_to(wb, fd);
	}
	close(fd);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

/* One such hang-up ends the accept loop about one time in eight here, so
 * 48 of them almost surely do. */
static void
hang_up_during_handshakes(int port)
{
	for (int i = 0; i < 24; i++) {
		hang_up_after_flight(port, 1);
		hang_up_after_flight(port, 2);
	}
}

static void
test_hang_ups_leave_the_listener_serving(void)
{
	char url[256];
	rpc_server *s = echo_server("tls-hangup", url, sizeof(url));
	hang_up_during_handshakes(atoi(url + 20));
	/* The guard probes every RT_LISTEN_PROBE_MS and waits at most twice
	 * 5 s: a deaf listener is back well within 20 s. */
	CHECK_STATUS(echo_retrying(url, 20000), HS_OK,
	    "a new client after the hang-ups");
	echo_service_drain();
	rpc_server_close(s);
}

/* Publishes until sub has an event or ms pass; 1 if it had one. */
static int
hears(rt_pub *p, rt_sub *sub, int64_t ms)
{
	int64_t until = check_mono_ms() + ms;
	while (check_mono_ms() < until) {
		Hs__Event ev = HS__EVENT__INIT, *got = NULL;
		uint64_t gap;
		ev.topic = "photo.test";
		rt_pub_publish(p, &ev);
		if (rt_sub_recv(sub, &got, &gap, 50) == 0) {
			hs__event__free_unpacked(got, NULL);
			return 1;
		}
	}
	return 0;
}

static void
test_pubsub_mutual_auth(void)
{
	rt_pub *p;
	rt_sub *good_sub, *bad_sub;
	char url[64];
	const char *prefix = "";
	int port = test_free_port();
	snprintf(url, sizeof(url), "tls+tcp://localhost:%d", port);
	const char *u = url;
	CHECK_EQ(set(ca, good), 0);
	CHECK_EQ(rt_pub_open(&p, url, "tls-test", ident), 0);
	CHECK_EQ(set(ca, other), 0);
	CHECK_EQ(rt_sub_open(&bad_sub, &u, 1, &prefix, 1, ident), 0);
	CHECK_EQ(set(ca, good), 0);
	CHECK_EQ(rt_sub_open(&good_sub, &u, 1, &prefix, 1, ident), 0);
	CHECK_MSG(hears(p, good_sub, 2000),
	    "the same CA's subscriber got nothing");
	CHECK_MSG(!hears(p, bad_sub, 2000),
	    "another CA's subscriber got events");
	rt_sub_close(good_sub);
	/* A subscriber that comes after peers hung up mid-handshake. */
	hang_up_during_handshakes(port);
	CHECK_EQ(rt_sub_open(&good_sub, &u, 1, &prefix, 1, ident), 0);
	CHECK_MSG(hears(p, good_sub, 20000),
	    "a subscriber after the hang-ups got nothing");
	rt_sub_close(good_sub);
	rt_sub_close(bad_sub);
	rt_pub_close(p);
}

static void
test_identity_mistakes_refused(void)
{
	char err[512], loose[800], junk[800];
	CHECK(rt_tls_setup("", good, err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "HS_TLS_CA") != NULL, "%s", err);
	snprintf(loose, sizeof(loose), "%s/loose.pem", tmp);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 644 '%s'", good,
	    loose, loose);
	CHECK_EQ(system(cmd), 0);
	CHECK(rt_tls_setup(ca, loose, err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "chmod 600") != NULL, "%s", err);
	CHECK(rt_tls_setup(ca, "/nonexistent/x.pem", err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "tools/certs") != NULL, "%s", err);
	snprintf(junk, sizeof(junk), "%s/junk.pem", tmp);
	FILE *f = fopen(junk, "w");
	CHECK(f != NULL);
	fputs("not a certificate\n", f);
	fclose(f);
	chmod(junk, 0600);
	CHECK(rt_tls_setup(junk, good, err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "CA file") != NULL, "%s", err);

	/* No identity: a TLS address is refused with what to set. */
	rpc_client *c;
	const char *u = "tls+tcp://localhost:1";
	struct rpc_client_opts co = { .connect_wait_ms = 100 };
	CHECK_EQ(set("", ""), 0);
	CHECK(rpc_client_open(&c, &u, 1, &co, err, sizeof(err)) != 0);
	CHECK_MSG(strstr(err, "HS_TLS_CA") != NULL, "%s", err);
	/* A CA alone is a client: a server needs a certificate to show. */
	rpc_server *s;
	struct rpc_server_opts so = { .name = "tls-nocert" };
	CHECK_EQ(set(ca, ""), 0);
	CHECK_EQ(rpc_server_open(&s, &so), 0);
	int rv = rpc_server_listen(s, "tls+tcp://localhost:0", NULL, 0);
	rpc_server_close(s);
	CHECK(rv != 0);
	CHECK_EQ(set(ca, good), 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "rpc_mutual_auth", test_rpc_mutual_auth },
		{ "pubsub_mutual_auth", test_pubsub_mutual_auth },
		{ "hang-ups leave the listener serving",
		    test_hang_ups_leave_the_listener_serving },
		{ "identity_mistakes_refused", test_identity_mistakes_refused },
		{ NULL, NULL },
	};
	char certs[600], cmd[4096];
	if (test_temp_dir(tmp, sizeof(tmp), "rpc-tls") != 0 ||
	    rt_ident_ephemeral(&ident, RT_DIRECTORY_PRINCIPAL,
		RT_ROLE_DIRECTORY) != 0)
		return 1;
	test_runfile(certs, sizeof(certs), "tools/certs");
	snprintf(cmd, sizeof(cmd),
	    "'%s' '%s/a' --stores 0 >/dev/null && "
	    "'%s' '%s/b' --stores 0 >/dev/null",
	    certs, tmp, certs, tmp);
	if (system(cmd) != 0) {
		fprintf(stderr, "tools/certs failed\n");
		return 1;
	}
	snprintf(ca, sizeof(ca), "%s/a/ca.pem", tmp);
	snprintf(good, sizeof(good), "%s/a/client.pem", tmp);
	snprintf(other_ca, sizeof(other_ca), "%s/b/ca.pem", tmp);
	snprintf(other, sizeof(other), "%s/b/client.pem", tmp);
	int rc = check_run(cases, argc, argv);
	rt_ident_free(ident);
	return rc;
}
