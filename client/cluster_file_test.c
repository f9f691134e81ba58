/* The cluster file: a full file parses into every field, lists work as
 * repeated lines or comma lists, a relative key or TLS file path resolves
 * against the file's folder, and a missing file or a bad line is refused with a
 * message naming the file and the line. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "hs.h"

static const char full[] =
    "# written by the launcher\n"
    "\n"
    "directory = tcp://127.0.0.1:7100\n"
    "directory = tcp://127.0.0.1:7101, tcp://127.0.0.1:7102\n"
    "  cache=127.0.0.1:6380  \n"
    "cache_user = client\n"
    "cache_password_file = secrets/client.password\n"
    "replicator = tcp://127.0.0.1:7300\n"
    "web = http://127.0.0.1:7103\n"
    "key_file = keys/cluster.key\n"
    "pub = tcp://127.0.0.1:7201 tcp://127.0.0.1:7202\n"
    "location_ttl = 250ms\n"
    "tls_ca = tls/ca.pem\n"
    "tls_cert = /etc/hs/client.pem\n"
    "zones = a,b,c\n"; /* unknown: from a newer launcher */

static void
test_full_file_parses(void)
{
	struct hs_cluster cl;
	hs_error e;
	CHECK_STATUS(hs_cluster_parse(full, "/srv/hs", "cluster", &cl, &e),
	    HS_OK, e.message);
	CHECK_EQ(cl.ndirectories, 3);
	CHECK(strcmp(cl.directories[0], "tcp://127.0.0.1:7100") == 0);
	CHECK(strcmp(cl.directories[2], "tcp://127.0.0.1:7102") == 0);
	CHECK_EQ(cl.npubs, 2);
	CHECK(strcmp(cl.pubs[1], "tcp://127.0.0.1:7202") == 0);
	CHECK(strcmp(cl.cache, "127.0.0.1:6380") == 0);
	CHECK(strcmp(cl.cache_user, "client") == 0);
	CHECK(strcmp(cl.cache_password_file,
		  "/srv/hs/secrets/client.password") == 0);
	CHECK(strcmp(cl.replicator, "tcp://127.0.0.1:7300") == 0);
	CHECK(strcmp(cl.web, "http://127.0.0.1:7103") == 0);
	CHECK(strcmp(cl.key_file, "/srv/hs/keys/cluster.key") == 0);
	CHECK_EQ(cl.location_ttl_ms, 250);
	/* TLS files: relative to the file's folder, like the key. */
	CHECK(strcmp(cl.tls_ca, "/srv/hs/tls/ca.pem") == 0);
	CHECK(strcmp(cl.tls_cert, "/etc/hs/client.pem") == 0);
}

static void
test_absolute_key_path_kept(void)
{
	struct hs_cluster cl;
	hs_error e;
	CHECK_STATUS(hs_cluster_parse("directory=tcp://h:1\nkey_file=/k\n",
			 "/srv", "c", &cl, &e),
	    HS_OK, e.message);
	CHECK(strcmp(cl.key_file, "/k") == 0);
	CHECK(cl.cache[0] == '\0' && cl.replicator[0] == '\0');
	CHECK_EQ(cl.npubs, 0);
	CHECK_EQ(cl.location_ttl_ms, 0); /* the default */
	CHECK_STATUS(hs_cluster_parse("directory=tcp://h:1\nlocation_ttl=0\n",
			 "/srv", "c", &cl, &e),
	    HS_OK, e.message);
	CHECK_EQ(cl.location_ttl_ms, -1); /* off */
}

/* Each bad text, and a piece the message must contain. */
static const struct {
	const char *text, *want;
} bad_cases[] = {
	{ "directory = tcp://h:1\nthis line has no equals sign\n", "c:2:" },
	{ "directory = tcp://h:1\n= value\n", "missing key" },
	{ "directory =\n", "missing value" },
	{ "cache = h:1\n", "no `directory" },
	{ "", "no `directory" },
	{ "directory=tcp://h:1\ncache=a:1\ncache=b:2\n", "given twice" },
	{ "directory=a b c d e f g h i j k l m n o p q\n", "more than 16" },
	{ "directory=tcp://h:1\nlocation_ttl=soon\n", "c:2: location_ttl" },
	{ "directory=tcp://h:1\nweb=127.0.0.1:7103\n", "c:2: web must be" },
	{ "directory=tcp://h:1\ntls_cert=/a\ntls_cert=/b\n", "given twice" },
};

static void
test_bad_lines_are_refused_with_their_number(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct hs_cluster cl;
		hs_error e = { .code = HS_OK };
		CHECK_STATUS(hs_cluster_parse(bad_cases[i].text, NULL, "c", &cl,
				 &e),
		    HS_INVALID_ARGUMENT, bad_cases[i].text);
		if (strstr(e.message, bad_cases[i].want) == NULL) {
			fprintf(stderr, "message '%s' lacks '%s'\n", e.message,
			    bad_cases[i].want);
			CHECK(0);
		}
	}
}

static void
test_missing_file_is_not_found_and_says_what_to_do(void)
{
	struct hs_cluster cl;
	hs_error e;
	CHECK_STATUS(hs_cluster_load("/nonexistent/hs/cluster", &cl, &e),
	    HS_NOT_FOUND, e.message);
	CHECK(strstr(e.message, "/nonexistent/hs/cluster") != NULL);
	CHECK(strstr(e.message, "//tools:cluster -- up") != NULL);
}

static void
test_load_resolves_key_against_the_files_folder(void)
{
	char dir[] = "/tmp/hs-cluster-test-XXXXXX", path[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/cluster", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(full, f);
	fclose(f);
	struct hs_cluster cl;
	hs_error e;
	hs_status st = hs_cluster_load(path, &cl, &e);
	unlink(path);
	rmdir(dir);
	CHECK_STATUS(st, HS_OK, e.message);
	char want[300];
	snprintf(want, sizeof(want), "%s/keys/cluster.key", dir);
	CHECK(strcmp(cl.key_file, want) == 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "full file parses", test_full_file_parses },
		{ "absolute key path kept", test_absolute_key_path_kept },
		{ "bad lines are refused with their number",
		    test_bad_lines_are_refused_with_their_number },
		{ "missing file is NOT_FOUND and says what to do",
		    test_missing_file_is_not_found_and_says_what_to_do },
		{ "load resolves key against the file's folder",
		    test_load_resolves_key_against_the_files_folder },
		{ NULL, NULL },
	};
	unsetenv("HS_KEY_FILE");
	return check_run(cases, argc, argv);
}
