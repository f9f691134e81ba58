/* The real `hs` binary (from runfiles) on the failure paths a person meets
 * first, with no cluster running: each exit code of the contract
 * (0 help, 64 usage and malformed ids, 1 missing files, 3 unreachable
 * cluster) and a message that names what failed and what to do, and
 * --json errors that are valid JSON. The happy paths are tested end to end
 * in testing/ against the real services. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "env.h"
#include "json_check.h"
#include "proc.h"

static char hs_bin[512], tmp[256], cluster[300], keyfile[300];

struct run {
	int code;
	int64_t ms;
	char out[16384], err[16384];
};

/* Runs hs with args (NULL-terminated) and HS_CLUSTER=cluster_env (NULL:
 * unset), from the folder tmp. */
static void
run(struct run *r, const char *cluster_env, const char *const *args)
{
	char hsc[340];
	const char *argv[32] = { hs_bin };
	int n = 1;
	while (args[n - 1] != NULL && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	snprintf(hsc, sizeof(hsc), "HS_CLUSTER=%s",
	    cluster_env ? cluster_env : "");
	const char *env[] = { "BUILD_WORKING_DIRECTORY",
		"BUILD_WORKSPACE_DIRECTORY", cluster_env ? hsc : "HS_CLUSTER",
		NULL };
	struct test_proc_opts o = { .env = env, .cwd = tmp };
	int64_t t0 = check_mono_ms();
	r->code = test_proc_run((char *const *)argv, &o, tmp, r->out,
	    sizeof(r->out), r->err, sizeof(r->err), 60000);
	r->ms = check_mono_ms() - t0;
}

#define HAS(hay, needle)                                                       \
	CHECK_MSG(strstr((hay), (needle)) != NULL, "'%s' not in: %s",          \
	    (needle), (hay))

static void
test_help_exits_0(void)
{
	struct run r;
	run(&r, cluster, (const char *[]){ "--help", NULL });
	CHECK_EQ(r.code, 0);
	HAS(r.out, "upload");
	HAS(r.out, "Exit codes");
	static const char *const cmds[] = { "upload", "download", "status",
		"delete", "stats", "health", "check", "tap", "audit" };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run(&r, cluster, (const char *[]){ cmds[i], "--help", NULL });
		CHECK_EQ(r.code, 0);
		HAS(r.out, cmds[i]);
	}
}

static void
test_no_or_unknown_command_is_usage_64(void)
{
	struct run r;
	run(&r, cluster, (const char *[]){ "frobnicate", NULL });
	CHECK_EQ(r.code, 64);
	HAS(r.err, "unknown command 'frobnicate'");
	HAS(r.err, "hs --help");
	run(&r, cluster, (const char *[]){ NULL });
	CHECK_EQ(r.code, 64);
	HAS(r.err, "usage:");
	run(&r, cluster,
	    (const char *[]){ "--timeout", "soon", "stats", NULL });
	CHECK_EQ(r.code, 64);
	HAS(r.err, "--timeout");
	run(&r, cluster, (const char *[]){ "download", NULL });
	CHECK_EQ(r.code, 64);
}

static void
test_malformed_id_is_usage_64(void)
{
	static const char *const cmds[] = { "download", "status", "delete" };
	for (size_t i = 0; i < 3; i++) {
		struct run r;
		run(&r, cluster,
		    (const char *[]){ cmds[i], "not-an-id", NULL });
		CHECK_EQ(r.code, 64);
		HAS(r.err, "'not-an-id' is not a photo id");
		HAS(r.err, "24 hex digits");
		CHECK(r.ms < 2000); /* refused before any network work */
	}
}

static void
test_missing_upload_file_is_1_and_named(void)
{
	struct run r;
	run(&r, cluster,
	    (const char *[]){ "upload", "no-such-photo.jpg", NULL });
	CHECK_EQ(r.code, 1);
	HAS(r.err, "no-such-photo.jpg");
	HAS(r.err, "No such file");
	CHECK(r.out[0] == '\0');
}

static void
test_unreachable_cluster_is_3_quickly(void)
{
	static const char *const cmds[][3] = {
		{ "status", "00000000000004d2cafef00d", NULL },
		{ "download", "00000000000004d2cafef00d", NULL },
		{ "delete", "00000000000004d2cafef00d", NULL },
		{ "stats", NULL, NULL },
		{ "health", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run r;
		run(&r, cluster,
		    (const char *[]){ "--timeout", "20s", cmds[i][0],
			cmds[i][1], NULL });
		CHECK_EQ(r.code, 3);
		CHECK(r.ms < 5000);
		HAS(r.err, "cannot reach the cluster at tcp://127.0.0.1:");
		HAS(r.err, "bazel run //tools:cluster -- up");
	}
	/* An upload names the cluster too, after its file checked out. */
	char photo[300];
	snprintf(photo, sizeof(photo), "%s/photo.jpg", tmp);
	FILE *f = fopen(photo, "w");
	CHECK(f != NULL);
	fputs("jpeg", f);
	fclose(f);
	struct run r;
	run(&r, cluster, (const char *[]){ "upload", "photo.jpg", NULL });
	unlink(photo);
	CHECK_EQ(r.code, 3);
	HAS(r.err, "hs upload: photo.jpg: ");
	HAS(r.err, "cannot reach the cluster");
}

static void
test_missing_cluster_file_is_3_and_says_how(void)
{
	struct run r;
	run(&r, "/nonexistent/cluster", (const char *[]){ "stats", NULL });
	CHECK_EQ(r.code, 3);
	HAS(r.err, "/nonexistent/cluster");
	HAS(r.err, "//tools:cluster -- up");
	/* With no HS_CLUSTER the default is .hs/cluster under the repo root
	 * (here: tmp, made a root by its WORKSPACE file, so the test never
	 * finds a real cluster's file). */
	char ws[320], want[340];
	snprintf(ws, sizeof(ws), "%s/WORKSPACE", tmp);
	FILE *f = fopen(ws, "w");
	CHECK(f != NULL);
	fclose(f);
	run(&r, NULL, (const char *[]){ "stats", NULL });
	unlink(ws);
	CHECK_EQ(r.code, 3);
	snprintf(want, sizeof(want), "%s/.hs/cluster", tmp);
	HAS(r.err, want);
}

static void
test_json_errors_are_valid_json(void)
{
	static const char *const cases[][4] = {
		{ "--json", "download", "zz\"z\\", NULL },
		{ "--json", "status", "00000000000004d2cafef00d", NULL },
		{ "--json", "upload", "missing \"quoted\".jpg", NULL },
		{ "--json", "frobnicate", NULL, NULL },
		{ "--json", NULL, NULL, NULL },
	};
	static const int codes[] = { 64, 3, 1, 64, 64 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct run r;
		size_t where = 0;
		run(&r, cluster,
		    (const char *[]){ cases[i][0], cases[i][1], cases[i][2],
			cases[i][3] });
		CHECK_EQ(r.code, codes[i]);
		if (!json_lines_valid(r.out, &where)) {
			fprintf(stderr, "invalid JSON at %zu: %s\n", where,
			    r.out);
			CHECK(0);
		}
		HAS(r.out, "\"ok\":false");
		HAS(r.out, "\"error\":");
		char want[32];
		snprintf(want, sizeof(want), "\"exit\":%d", codes[i]);
		HAS(r.out, want);
	}
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "--help exits 0", test_help_exits_0 },
		{ "no or unknown command is usage 64",
		    test_no_or_unknown_command_is_usage_64 },
		{ "malformed id is usage 64", test_malformed_id_is_usage_64 },
		{ "missing upload file is 1 and named",
		    test_missing_upload_file_is_1_and_named },
		{ "unreachable cluster is 3 quickly",
		    test_unreachable_cluster_is_3_quickly },
		{ "missing cluster file is 3 and says how",
		    test_missing_cluster_file_is_3_and_says_how },
		{ "--json errors are valid JSON",
		    test_json_errors_are_valid_json },
		{ NULL, NULL },
	};
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	if (test_temp_dir(tmp, sizeof(tmp), "cli-test") != 0 ||
	    test_key_file(keyfile, sizeof(keyfile), tmp) != 0)
		return 1;
	snprintf(cluster, sizeof(cluster), "%s/cluster", tmp);
	FILE *g = fopen(cluster, "w");
	if (g == NULL)
		return 1;
	fprintf(g,
	    "# a cluster that is not running\n"
	    "directory = tcp://127.0.0.1:%d\nkey_file = keys/admin.key\n"
	    "cache = 127.0.0.1:%d\n",
	    test_free_port(), test_free_port());
	fclose(g);
	int rc = check_run(cases, argc, argv);
	unlink(keyfile);
	unlink(cluster);
	rmdir(tmp);
	return rc;
}
