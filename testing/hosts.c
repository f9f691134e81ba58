/* Hosts in network namespaces and the cuts between them (see hosts.h). */
#include "hosts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

#define NETNS_DIR "/var/run/netns"

/* What removes run pid's hosts, as one shell command: made before any
 * signal can come, run from the handler (fork and exec only). */
static char down_cmd[512];

static void
make_down_cmd(char *out, size_t len, long pid)
{
	/* A run that was SIGKILLed left its processes too: end them. */
	snprintf(out, len,
	    "for n in " NETNS_DIR "/hst%ld-*; do [ -e \"$n\" ] || continue; "
	    "n=${n##*/}; ip netns pids $n | xargs -r kill -9; "
	    "ip netns del $n; done; ip link del hsb%ld; true",
	    pid, pid);
}

/* Runs a shell command with its output thrown away; async-signal-safe. */
static int
run_quiet(const char *cmd)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
down_at_exit(void)
{
	if (down_cmd[0] != '\0')
		run_quiet(down_cmd);
}

/* Runs `ip ARGS`; 0, or -1 after printing the command that failed. */
static int
ip(const char *fmt, ...)
{
	char args[512], cmd[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ip %s", args);
	int rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr, "hosts: `%s` failed (status %d)\n", cmd, rc);
		return -1;
	}
	return 0;
}

int
test_hosts_possible(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "network namespaces need root (uid %d)",
		    (int)geteuid());
		return 0;
	}
	/* Root is not always enough (a container without CAP_SYS_ADMIN):
	 * make and remove one namespace to know. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd),
	    "ip netns add hsprobe%ld >/dev/null 2>&1 && "
	    "ip netns del hsprobe%ld >/dev/null 2>&1",
	    (long)getpid(), (long)getpid());
	if (system(cmd) != 0) {
		snprintf(why, len,
		    "cannot make a network namespace here (`ip netns add` "
		    "failed: iproute2 missing, or no CAP_SYS_ADMIN)");
		return 0;
	}
	return 1;
}

/* The pid in a name "<pfx><pid>-..." or "<pfx><pid>", or 0. */
static long
owner(const char *name, const char *pfx)
{
	size_t n = strlen(pfx);
	if (strncmp(name, pfx, n) != 0)
		return 0;
	char *end;
	long pid = strtol(name + n, &end, 10);
	return pid > 0 && (*end == '-' || *end == '\0') ? pid : 0;
}

/* Removes the hosts of runs that are gone (a run SIGKILLed at its
 * timeout cannot remove its own). */
static void
remove_stale(const char *dir, const char *pfx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		long pid = owner(e->d_name, pfx);
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			char cmd[512];
			make_down_cmd(cmd, sizeof(cmd), pid);
			run_quiet(cmd);
		}
	}
	if (d != NULL)
		closedir(d);
}

/* A /24 in 10.200.0.0-10.249.255.0 no address or route here uses yet,
 * starting from one the pid picks so that concurrent runs differ. */
static int
pick_subnet(struct test_hosts *hs)
{
	long start = (long)getpid() % (50 * 256);
	for (long k = 0; k < 50 * 256; k++) {
		long v = (start + k) % (50 * 256);
		char cmd[160];
		snprintf(hs->subnet, sizeof(hs->subnet), "10.%ld.%ld",
		    200 + v / 256, v % 256);
		snprintf(cmd, sizeof(cmd),
		    "{ ip -4 -o addr; ip -4 route; } | grep -qF '%s.'",
		    hs->subnet);
		if (system(cmd) != 0)
			return 0;
	}
	fprintf(stderr, "hosts: no free /24 in 10.200.0.0/11\n");
	return -1;
}

int
test_hosts_init(struct test_hosts *hs)
{
	memset(hs, 0, sizeof(*hs));
	remove_stale(NETNS_DIR, "hst");
	remove_stale("/sys/class/net", "hsb");
	snprintf(hs->prefix, sizeof(hs->prefix), "hst%ld", (long)getpid());
	snprintf(hs->bridge, sizeof(hs->bridge), "hsb%ld", (long)getpid());
	make_down_cmd(down_cmd, sizeof(down_cmd), (long)getpid());
	test_proc_on_exit(down_at_exit);
	if (pick_subnet(hs) != 0)
		return -1;
	hs->n = 1;
	snprintf(hs->h[0].ip, sizeof(hs->h[0].ip), "%s.1", hs->subnet);
	if (ip("link add %s type bridge", hs->bridge) != 0 ||
	    ip("addr add %s/24 dev %s", hs->h[0].ip, hs->bridge) != 0 ||
	    ip("link set %s up", hs->bridge) != 0) {
		test_hosts_down(hs);
		return -1;
	}
	return 0;
}

int
test_hosts_add(struct test_hosts *hs, const char *role, const char *zone)
{
	if (hs->n >= TEST_HOSTS_MAX) {
		fprintf(stderr, "hosts: more than %d hosts\n", TEST_HOSTS_MAX);
		return -1;
	}
	int i = hs->n;
	struct test_host *h = &hs->h[i];
	char hv[16], hp[16];
	long pid = (long)getpid();
	snprintf(h->name, sizeof(h->name), "%s-%s", hs->prefix, role);
	snprintf(h->ip, sizeof(h->ip), "%s.%u", hs->subnet,
	    10u + (unsigned)i % 100);
	snprintf(h->zone, sizeof(h->zone), "%s", zone ? zone : "");
	/* An interface name has at most 15 characters; a pid 7 digits. */
	snprintf(hv, sizeof(hv), "hv%lu-%u", (unsigned long)pid % 10000000,
	    (unsigned)i % 100);
	snprintf(hp, sizeof(hp), "hp%lu-%u", (unsigned long)pid % 10000000,
	    (unsigned)i % 100);
	if (ip("netns add %s", h->name) != 0 ||
	    ip("link add %s type veth peer name %s netns %s", hv, hp,
		h->name) != 0 ||
	    ip("-n %s link set %s name eth0", h->name, hp) != 0 ||
	    ip("-n %s addr add %s/24 dev eth0", h->name, h->ip) != 0 ||
	    ip("-n %s link set eth0 up", h->name) != 0 ||
	    ip("-n %s link set lo up", h->name) != 0 ||
	    ip("link set %s master %s up", hv, hs->bridge) != 0)
		return -1;
	hs->n++;
	return i;
}

int
test_hosts_place(struct test_hosts *hs, const char *role, const char *zone,
    char ip[16])
{
	int i = hs != NULL ? test_hosts_add(hs, role, zone) : 0;
	if (ip != NULL)
		snprintf(ip, 16, "%s", i > 0 ? hs->h[i].ip : "127.0.0.1");
	return i;
}

/* Adds or deletes the route refusing a's packets to b. */
static int
route(struct test_hosts *hs, int a, int b, int add)
{
	if (a == b || a < 0 || b < 0 || a >= hs->n || b >= hs->n)
		return -1;
	if (a == 0) { /* the root namespace stays as it is */
		a = b;
		b = 0;
	}
	if (hs->cut[a][b] == add)
		return 0;
	if (ip("-n %s route %s prohibit %s/32", hs->h[a].name,
		add ? "add" : "del", hs->h[b].ip) != 0)
		return -1;
	hs->cut[a][b] = (char)add;
	return 0;
}

int
test_hosts_cut(struct test_hosts *hs, int a, int b, int both)
{
	return route(hs, a, b, 1) | (both ? route(hs, b, a, 1) : 0);
}

int
test_hosts_heal(struct test_hosts *hs, int a, int b, int both)
{
	return route(hs, a, b, 0) | (both ? route(hs, b, a, 0) : 0);
}

static int
set_link(struct test_hosts *hs, int a, int up)
{
	if (a <= 0 || a >= hs->n)
		return -1;
	if (hs->h[a].off == !up)
		return 0;
	if (ip("-n %s link set eth0 %s", hs->h[a].name, up ? "up" : "down") !=
	    0)
		return -1;
	hs->h[a].off = !up;
	return 0;
}

int
test_hosts_reach(struct test_hosts *hs, int a, const char *ip, int port)
{
	char script[128];
	snprintf(script, sizeof(script), "exec 3<>/dev/tcp/%s/%d", ip, port);
	char *argv[] = { "timeout", "2", "bash", "-c", script, NULL };
	struct test_proc_opts o = { .netns = a > 0 ? hs->h[a].name : NULL };
	const char *tmp = getenv("TEST_TMPDIR");
	return test_proc_run(argv, &o, tmp ? tmp : "/tmp", NULL, 0, NULL, 0,
		   5000) == 0;
}

int
test_hosts_cut_off(struct test_hosts *hs, int a)
{
	return set_link(hs, a, 0);
}

int
test_hosts_heal_off(struct test_hosts *hs, int a)
{
	return set_link(hs, a, 1);
}

static int
zone_routes(struct test_hosts *hs, const char *zone, int add)
{
	int rc = 0;
	for (int a = 1; a < hs->n; a++) {
		if (strcmp(hs->h[a].zone, zone) != 0)
			continue;
		for (int b = 0; b < hs->n; b++)
			if (strcmp(hs->h[b].zone, zone) != 0)
				rc |= route(hs, a, b, add) |
				    (b != 0 ? route(hs, b, a, add) : 0);
	}
	return rc;
}

int
test_hosts_cut_zone(struct test_hosts *hs, const char *zone)
{
	return zone_routes(hs, zone, 1);
}

int
test_hosts_heal_zone(struct test_hosts *hs, const char *zone)
{
	return zone_routes(hs, zone, 0);
}

int
test_hosts_heal_all(struct test_hosts *hs)
{
	int rc = 0;
	for (int a = 1; a < hs->n; a++) {
		rc |= set_link(hs, a, 1);
		for (int b = 0; b < hs->n; b++)
			if (hs->cut[a][b])
				rc |= route(hs, a, b, 0);
	}
	return rc;
}

void
test_hosts_down(struct test_hosts *hs)
{
	if (hs->prefix[0] == '\0')
		return;
	test_proc_on_exit(NULL);
	run_quiet(down_cmd);
	down_cmd[0] = '\0';
	hs->n = 0;
	hs->prefix[0] = '\0';
}
