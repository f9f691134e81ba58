/* Hosts for tests: each a Linux network namespace of its own with one
 * address on a bridge, so that links between processes can be cut the way
 * a network partition cuts them (docs/hosts.md). Host 0 is the test
 * process itself, in the root namespace, on the bridge's own address;
 * every other host is named <prefix><pid>-<role> and its veth
 * hv<pid>-<index>, so that concurrent runs never collide, and each run
 * takes a /24 of its own. Everything is removed on test_hosts_down, on a
 * fatal signal, at exit, and (for a run that was SIGKILLed) by the next
 * run. Cuts are iproute2 alone: a "prohibit" route in the sending host
 * for one direction of a link, the host's link set down to cut it off. */
#ifndef HS_TEST_HOSTS_H
#define HS_TEST_HOSTS_H

#include <stddef.h>

#define TEST_HOSTS_MAX 24 /* a sentinel cluster needs 18 */

struct test_host {
	char name[64]; /* its namespace ("" for host 0, the root) */
	char ip[20];
	char zone[16]; /* "" outside the zones */
	int off;       /* cut off by test_hosts_cut_off */
};

struct test_hosts {
	int n;
	struct test_host h[TEST_HOSTS_MAX];
	char cut[TEST_HOSTS_MAX][TEST_HOSTS_MAX]; /* a's packets to b refused */
	char prefix[32];			  /* "hst<pid>" */
	char bridge[16];			  /* "hsb<pid>" */
	char subnet[12];			  /* "10.A.B" */
};

/* 1 when this process may make namespaces (root and iproute2); else 0
 * with the reason in why. */
int test_hosts_possible(char *why, size_t len);

/* The bridge and host 0 on a free /24; first removes what runs that no
 * longer live left behind. 0, or -1 after printing what failed. */
int test_hosts_init(struct test_hosts *hs);

/* A new host named <prefix>-<role>, in zone (NULL: none): its index, or
 * -1 after printing what failed. */
int test_hosts_add(struct test_hosts *hs, const char *role, const char *zone);

/* test_hosts_add where hs is not NULL (its index), else 0; the host's
 * address, or 127.0.0.1 without hosts, into ip (unless NULL). */
int test_hosts_place(struct test_hosts *hs, const char *role, const char *zone,
    char ip[16]);

/* Cuts (heals) the link between hosts a and b: a's packets to b are
 * refused, and with both also b's to a. TCP needs both ways, so a one-way
 * cut breaks connections in either direction too, with different symptoms:
 * a's sends fail at once, b's time out. A cut touching host 0 is made in
 * the other host (the root namespace is never changed). 0 or -1. */
int test_hosts_cut(struct test_hosts *hs, int a, int b, int both);
int test_hosts_heal(struct test_hosts *hs, int a, int b, int both);

/* 1 if a TCP connection from host a to ip:port opens within 2 s: whether
 * a cut is in force, seen from inside. */
int test_hosts_reach(struct test_hosts *hs, int a, const char *ip, int port);

/* Takes host a's link down (up): it reaches nobody, nobody reaches it. */
int test_hosts_cut_off(struct test_hosts *hs, int a);
int test_hosts_heal_off(struct test_hosts *hs, int a);

/* Cuts (heals) every link between a host of zone and a host outside it,
 * host 0 included; the zone's hosts still reach each other. */
int test_hosts_cut_zone(struct test_hosts *hs, const char *zone);
int test_hosts_heal_zone(struct test_hosts *hs, const char *zone);

/* Heals every cut. 0 or -1. */
int test_hosts_heal_all(struct test_hosts *hs);

/* Removes every namespace, veth and the bridge (their processes should be
 * gone first: a namespace lives on while a process is in it). */
void test_hosts_down(struct test_hosts *hs);

#endif
