/* A TLS cluster as a person starts it, `tools/cluster.sh up --tls` (every
 * RPC and PUB socket on tls+tcp://localhost with mutual authentication,
 * certificates by tools/certs), and the real `hs` against it: the whole
 * user journey (upload, download, status, tap, delete) works with the
 * cluster file the launcher wrote, while a client with no certificate,
 * one whose certificate another CA signed, or one speaking plain tcp://
 * cannot call (UNAVAILABLE, exit 3) nor read the event feed, and the good
 * client keeps working. */
#include <glob.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "curl.h"
#include "env.h"
#include "proc.h"

#define SPAN 81 /* ports the launcher takes from its base (cluster.sh) */

static char tmp[512], cdir[600], hs_bin[600], launcher[600];
static char good[700], photo[700];
static int base;

/* 1 when nobody listens on 127.0.0.1:port now. */
static int
port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A base whose SPAN ports are all free, below the kernel's ephemeral range
 * so no other test's free-port pick lands in it meanwhile. */
static int
pick_base(void)
{
	srand((unsigned)getpid());
	for (int tries = 0; tries < 200; tries++) {
		int b = 20000 + (rand() % 140) * 90, i = 0;
		while (i < SPAN && port_free(b + i))
			i++;
		if (i == SPAN)
			return b;
	}
	return -1;
}

/* Runs argv (NULL-ended) to completion; its exit code, output in out. */
static int
run(const char *const *argv, char *out, size_t outlen, int timeout_ms)
{
	static char err[8192];
	char rf[600];
	snprintf(rf, sizeof(rf), "RUNFILES_DIR=%s",
	    getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : ".");
	const char *env[] = { rf, "HS_CLUSTER", "HS_TLS_CA", "HS_TLS_CERT",
		"BUILD_WORKSPACE_DIRECTORY", NULL };
	struct test_proc_opts o = { .env = env, .cwd = tmp };
	int rc = test_proc_run((char *const *)argv, &o, tmp, out, outlen, err,
	    sizeof(err), timeout_ms);
	if (rc != 0) /* expected for strangers; the reason, for people */
		fprintf(stderr, "exit %d: %s", rc, err);
	return rc;
}

/* hs --cluster FILE ARGS... The deadline is long: TLS handshakes under a
 * loaded machine (the suite runs tests side by side) take seconds, and a
 * stranger is refused at connect long before it. */
static int
hs(const char *file, const char *a, const char *b, char *out, size_t outlen)
{
	const char *argv[] = { hs_bin, "--cluster", file, "--timeout", "20s", a,
		b, NULL };
	return run(argv, out, outlen, 60000);
}

/* Copies the launcher's cluster file to name with its lines rewritten
 * by sed expression expr; the new file's path into path. */
static int
variant(const char *name, const char *expr, char *path, size_t len)
{
	char cmd[4096];
	snprintf(path, len, "%s/%s.cluster", tmp, name);
	if ((size_t)snprintf(cmd, sizeof(cmd), "sed '%s' '%s' > '%s'", expr,
		good, path) >= sizeof(cmd))
		return -1;
	return system(cmd);
}

/* Starts `hs tap` on file with its output in tmp/name.out. */
static int
tap(struct test_proc *p, const char *name, const char *file, char *outp,
    size_t len)
{
	snprintf(outp, len, "%s/%s.out", tmp, name);
	char *argv[] = { hs_bin, "--cluster", (char *)file, "tap", NULL };
	struct test_proc_opts o = { .out = outp };
	return test_proc_start_opts(p, name, tmp, argv, &o);
}

static int
contains(const char *path, const char *what)
{
	static char buf[1 << 16];
	test_read_file(path, buf, sizeof(buf), 0);
	return strstr(buf, what) != NULL;
}

/* What a stranger gets: no answer (exit 3), whatever it asks. */
static void
check_refused(const char *file, const char *id)
{
	char out[4096];
	CHECK_EQ(hs(file, "upload", photo, out, sizeof(out)), 3);
	CHECK_EQ(hs(file, "status", id, out, sizeof(out)), 3);
}

static void
test_journey_and_strangers_refused(void)
{
	char out[16384], id[64], file[700], nocert[700], other[700], plain[700];
	char tap_good[700], tap_bad[700];
	struct test_proc tg = { 0 }, tb = { 0 };

	/* The launcher's cluster file carries the TLS lines hs needs. */
	CHECK(contains(good, "tls+tcp://localhost:"));
	CHECK(contains(good, "tls_cert = "));
	/* Strangers: no certificate; a certificate from another CA; plain
	 * tcp:// to the same ports. */
	CHECK_EQ(variant("nocert", "/^tls_cert/d", nocert, sizeof(nocert)), 0);
	char expr[1024];
	snprintf(expr, sizeof(expr),
	    "s#^tls_cert = .*#tls_cert = %s/other/client.pem#", tmp);
	CHECK_EQ(variant("other", expr, other, sizeof(other)), 0);
	CHECK_EQ(variant("plain",
		     "s#tls+tcp://localhost#tcp://127.0.0.1#g; /^tls_/d", plain,
		     sizeof(plain)),
	    0);

	CHECK_EQ(tap(&tg, "tap-good", good, tap_good, sizeof(tap_good)), 0);
	CHECK_EQ(tap(&tb, "tap-nocert", nocert, tap_bad, sizeof(tap_bad)), 0);

	/* Upload, download, status over TLS. */
	CHECK_EQ(hs(good, "upload", photo, out, sizeof(out)), 0);
	CHECK(sscanf(out, "%63s", id) == 1 && strlen(id) == 24);
	snprintf(file, sizeof(file), "%s/back.bin", tmp);
	const char *dl[] = { hs_bin, "--cluster", good, "download", id, file,
		NULL };
	CHECK_EQ(run(dl, out, sizeof(out), 60000), 0);
	char cmp[2048];
	snprintf(cmp, sizeof(cmp), "cmp -s '%s' '%s'", photo, file);
	CHECK_EQ(system(cmp), 0);
	CHECK_EQ(hs(good, "status", id, out, sizeof(out)), 0);
	CHECK_MSG(strstr(out, "ACTIVE") && strstr(out, "tls+tcp://localhost"),
	    "status: %s", out);

	/* Strangers cannot call, before and after the good client's calls. */
	check_refused(nocert, id);
	check_refused(other, id);
	check_refused(plain, id);

	/* Delete; the good tap saw the photo's events, the stranger's none. */
	CHECK_EQ(hs(good, "delete", id, out, sizeof(out)), 0);
	CHECK_WAIT_UNTIL(contains(tap_good, "photo.deleted") &&
		contains(tap_good, id),
	    15000);
	CHECK_EQ(hs(good, "status", id, out, sizeof(out)), 2);
	test_proc_term(&tb);
	test_proc_term(&tg);
	CHECK_MSG(!contains(tap_bad, "topic"),
	    "a tap without a certificate "
	    "read events");
	test_proc_free(&tb);
	test_proc_free(&tg);

	/* The good client still works after the strangers' attempts. */
	CHECK_EQ(hs(good, "upload", photo, out, sizeof(out)), 0);
}

/* The web face speaks https with the process's certificate: a client
 * that trusts the cluster's CA gets answers from every kind of process,
 * plain http to the same port gets none, and a client that does not
 * trust the CA is refused by its own check. */
static void
test_web_face_over_https(void)
{
	char url[128], ca[700];
	/* p_dirhttp 1, p_storehttp 1, p_replhttp (tools/cluster.sh). */
	const int ports[] = { base + 61, base + 71, base + 80 };
	struct test_http_resp r;
	snprintf(ca, sizeof(ca), "%s/tls/ca.pem", cdir);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		setenv("HS_TLS_CA", ca, 1);
		snprintf(url, sizeof(url), "https://localhost:%d/health",
		    ports[i]);
		CHECK_MSG(test_http("GET", url, NULL, &r) == 0 &&
			r.status == 200 && strncmp(r.body, "ok ", 3) == 0,
		    "%s: status %d", url, r.status);
		test_http_free(&r);
		unsetenv("HS_TLS_CA");
		CHECK_MSG(test_http("GET", url, NULL, &r) != 0,
		    "%s answered a client that does not trust its CA", url);
		snprintf(url, sizeof(url), "http://localhost:%d/health",
		    ports[i]);
		CHECK_MSG(test_http("GET", url, NULL, &r) != 0 ||
			r.status != 200,
		    "%s answered plain http", url);
		test_http_free(&r);
	}
}

static int
cluster_up(void)
{
	char out[8192], b[16], other[700];
	snprintf(b, sizeof(b), "%d", base);
	snprintf(other, sizeof(other), "%s/other", tmp);
	const char *certs[] = { "/bin/sh", "-c",
		"exec \"$0\" \"$1\" --stores 0", NULL, other, NULL };
	char certs_bin[600];
	certs[3] = test_runfile(certs_bin, sizeof(certs_bin), "tools/certs");
	if (run(certs, out, sizeof(out), 60000) != 0)
		return -1;
	const char *up[] = { launcher, "up", "--tls", "--dir", cdir,
		"--base-port", b, NULL };
	return run(up, out, sizeof(out), 120000) == 0 ? 0 : -1;
}

/* The end of every process's log, for a failure's reader. */
static void
dump_logs(void)
{
	char pat[700], tail[4096];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/logs/*.log", cdir);
	if (glob(pat, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		test_read_file(g.gl_pathv[i], tail, sizeof(tail), 1);
		fprintf(stderr, "---- end of %s ----\n%s", g.gl_pathv[i], tail);
	}
	globfree(&g);
}

static void
cluster_down(void)
{
	char out[4096];
	const char *down[] = { launcher, "down", "--dir", cdir, NULL };
	run(down, out, sizeof(out), 60000);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "journey_and_strangers_refused",
		    test_journey_and_strangers_refused },
		{ "web face over https", test_web_face_over_https },
		{ NULL, NULL },
	};
	if (test_temp_dir(tmp, sizeof(tmp), "tls") != 0 ||
	    (base = pick_base()) < 0) {
		fprintf(stderr, "no temp dir or no free block of ports\n");
		return 1;
	}
	snprintf(cdir, sizeof(cdir), "%s/cluster", tmp);
	snprintf(good, sizeof(good), "%s/cluster", cdir);
	snprintf(photo, sizeof(photo), "%s/photo.bin", tmp);
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	test_runfile(launcher, sizeof(launcher), "tools/cluster");
	FILE *f = fopen(photo, "w");
	uint8_t *bytes = test_bytes(4096, 12);
	if (f == NULL || fwrite(bytes, 1, 4096, f) != 4096 || fclose(f) != 0)
		return 1;
	free(bytes);
	int rc = 1;
	if (cluster_up() == 0)
		rc = check_run(cases, argc, argv);
	else
		fprintf(stderr, "the TLS cluster did not come up\n");
	if (rc != 0)
		dump_logs();
	cluster_down();
	return rc;
}
