/* The soak's faults (chaos_impl.h), one at a time, drawn from the seed:
 * SIGKILL or SIGSTOP of any process (the directory leader drawn more
 * often), a full disk on the store whose data dir is a small tmpfs, and a
 * byte flipped inside one copy of a photo's data, and on hosts a network
 * partition (a link cut one way or both, a host or a zone cut off, then
 * healed; testing/hosts.h) or a Redis failover (chaos_redis.c). Signals
 * go to the
 * process group, so nginx's workers go down (and pause) with their
 * master. Whatever was killed is restarted and whatever paused continued
 * after a drawn moment; a process found dead that the soak did not kill is
 * counted, shown, and restarted. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaos_impl.h"
#include "clock.h"
#include "directory.pb-c.h"
#include "repl_util.h"

/* The tmpfs under the last store: room for 30 minutes of uploads, so only
 * the fault fills it. */
#define SMALL_DISK "256m"

static void
add(struct chaos *x, const char *name, struct test_proc *p,
    struct test_redis *r)
{
	struct chaos_target *t = &x->t[x->nt++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->p = p;
	t->redis = r;
}

void
chaos_targets_init(struct chaos *x)
{
	char name[32];
	for (int i = 0; i < x->c.nstores; i++) {
		snprintf(name, sizeof(name), "store-%d", i + 1);
		add(x, name, &x->c.stores[i], NULL);
	}
	for (int i = 0; i < x->c.ndirs; i++) {
		snprintf(name, sizeof(name), "directory-%d", i + 1);
		add(x, name, &x->c.dirs[i], NULL);
	}
	add(x, "replicator", &x->c.repl, NULL);
	/* Under Sentinel, meta is no process: the failover fault hits it. */
	if (!x->c.has_sentinel)
		add(x, "redis-meta", &x->c.meta.proc, &x->c.meta);
	add(x, "redis-cache", &x->c.cache.proc, &x->c.cache);
	if (x->c.has_nginx)
		add(x, "nginx", &x->c.nginx, NULL);
}

/* Starts t again: 0, or -1 after showing why (a few tries: a port left in
 * TIME_WAIT or a slow exit can refuse the first). */
static int
restart(struct chaos_target *t)
{
	for (int i = 0; i < 5; i++) {
		int rc = t->redis ? test_redis_restart(t->redis) :
				    test_proc_restart(t->p);
		if (rc == 0 && test_proc_wait_exit(t->p, 300) < 0) {
			t->down = 0;
			return 0;
		}
		rt_sleep_ms(500);
	}
	fprintf(stderr, "chaos: cannot restart %s; its log:\n", t->name);
	test_proc_dump_log(t->p);
	return -1;
}

static void
group_signal(struct chaos_target *t, int sig)
{
	if (t->p->pid > 0)
		kill(-t->p->pid, sig);
}

void
chaos_restore_all(struct chaos *x)
{
	if (x->c.hosts != NULL)
		test_hosts_heal_all(x->c.hosts);
	chaos_redis_restore(x);
	for (int i = 0; i < x->nt; i++) {
		struct chaos_target *t = &x->t[i];
		if (t->paused) {
			group_signal(t, SIGCONT);
			t->paused = 0;
		}
		if (t->down) {
			restart(t);
			continue;
		}
		if (chaos_found_dead(x, t->name, t->p))
			restart(t);
	}
}

/* A target drawn from the seed: any process, or (a quarter of the time)
 * the directory leader of the moment. Drawn from a shuffled deck, so every
 * process is hit once before any is hit again. */
static struct chaos_target *
draw_target(struct chaos *x, char *name, size_t len)
{
	if (x->ndeck == 0) {
		x->ndeck = x->nt * 4 / 3 + 1;
		for (int i = 0; i < x->ndeck; i++)
			x->deck[i] = i;
		for (int i = x->ndeck - 1; i > 0; i--) {
			int j = (int)chaos_between(&x->frng, 0, i),
			    v = x->deck[i];
			x->deck[i] = x->deck[j];
			x->deck[j] = v;
		}
	}
	int k = x->deck[--x->ndeck];
	struct chaos_target *t = &x->t[k < x->nt ? k : 0];
	if (k >= x->nt) {
		int l = test_cluster_leader(&x->c);
		t = &x->t[x->c.nstores + (l < 0 ? 0 : l)];
	}
	snprintf(name, len, "%s%s", t->name, k >= x->nt ? " (the leader)" : "");
	return t;
}

/* The target of a kill or a pause and how long it lasts (300 ms to
 * max_ms), drawn from the seed in that order, and said. */
static struct chaos_target *
draw_hit(struct chaos *x, int64_t max_ms, const char *fmt, int64_t *hold)
{
	char name[64];
	struct chaos_target *t = draw_target(x, name, sizeof(name));
	*hold = chaos_between(&x->frng, 300, max_ms);
	chaos_say(x, fmt, name, *hold);
	return t;
}

static int
kill_one(struct chaos *x)
{
	int64_t hold;
	struct chaos_target *t = draw_hit(x, 3000,
	    "SIGKILL %s, restart in %.1fs", &hold);
	group_signal(t, SIGKILL);
	test_proc_kill(t->p, SIGKILL); /* reaps it */
	t->down = 1;
	rt_sleep_ms(hold);
	restart(t);
	return 1;
}

static int
pause_one(struct chaos *x)
{
	int64_t hold;
	struct chaos_target *t = draw_hit(x, 4000,
	    "SIGSTOP %s, SIGCONT in %.1fs", &hold);
	group_signal(t, SIGSTOP);
	t->paused = 1;
	rt_sleep_ms(hold);
	group_signal(t, SIGCONT);
	t->paused = 0;
	return 1;
}

void
chaos_private_mounts(struct chaos *x)
{
	x->private_mounts = unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	if (!x->private_mounts)
		snprintf(x->small_why, sizeof(x->small_why),
		    "no mount namespace of its own (%s; needs root): no "
		    "disk-full faults",
		    strerror(errno));
}

void
chaos_small_disk_setup(struct chaos *x)
{
	int s = x->c.nstores - 1;
	char dir[600], old[640];
	x->small_store = -1;
	if (!x->private_mounts)
		return;
	snprintf(dir, sizeof(dir), "%s/store-%d", x->c.dir, s + 1);
	snprintf(old, sizeof(old), "%s.big", dir);
	test_proc_term(&x->c.stores[s]);
	if (rename(dir, old) != 0 || mkdir(dir, 0755) != 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=" SMALL_DISK) != 0) {
		snprintf(x->small_why, sizeof(x->small_why),
		    "cannot mount a %s tmpfs as store-%d's data dir (%s; "
		    "needs root): no disk-full faults",
		    SMALL_DISK, s + 1, strerror(errno));
		rmdir(dir);
		rename(old, dir);
	} else {
		char cmd[1500];
		snprintf(cmd, sizeof(cmd), "cp -a '%s'/. '%s'/", old, dir);
		if (system(cmd) == 0)
			x->small_store = s;
		snprintf(x->filler, sizeof(x->filler), "%s/chaos-filler", dir);
	}
	restart(&x->t[s]);
}

void
chaos_small_disk_teardown(struct chaos *x)
{
	char dir[600];
	if (x->small_store < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/store-%d", x->c.dir, x->small_store + 1);
	umount2(dir, MNT_DETACH);
}

/* Fills the small disk to the last byte, holds, frees it, and restarts the
 * store (a store that met ENOSPC stays READONLY until it restarts). */
static int
fill_disk(struct chaos *x)
{
	if (x->small_store < 0)
		return 0;
	struct chaos_target *t = &x->t[x->small_store];
	int64_t hold = chaos_between(&x->frng, 1000, 5000);
	chaos_say(x, "disk full on %s for %.1fs", t->name, hold);
	int fd = open(x->filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static const char block[1 << 16];
	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	if (fd >= 0)
		close(fd);
	rt_sleep_ms(hold);
	unlink(x->filler);
	test_proc_term(t->p);
	t->down = 1;
	restart(t);
	return 1;
}

/* Flips a byte in the middle of one copy of a live photo that no flip has
 * touched yet (a store in its record, drawn from the seed). */
static int
flip_bit(struct chaos *x)
{
	/* Exactly two draws, whatever the table holds, so the faults after
	 * this one stay those of the seed. */
	uint64_t r = chaos_rand(&x->frng), rs = chaos_rand(&x->frng);
	pthread_mutex_lock(&x->mu);
	struct chaos_photo p = { 0 };
	for (size_t k = 0; k < x->nph && p.len == 0; k++) {
		size_t i = (r + k) % x->nph;
		if (x->ph[i].state == CP_LIVE && !x->ph[i].flipped)
			p = x->ph[i];
	}
	pthread_mutex_unlock(&x->mu);
	struct hs_photo_info info;
	hs_error err;
	if (p.len == 0 || hs_stat(x->work, p.id, 3000, &info, &err) != HS_OK ||
	    info.nreplicas == 0)
		return 0;
	uint32_t store = info.replicas[rs % info.nreplicas].store_id;
	struct tphoto tp = { .len = p.len };
	tp.data = malloc(p.len);
	chaos_photo_bytes(p.seed, tp.data, p.len);
	char hex[HS_ID_HEX_LEN + 1], what[80];
	hs_id_format(p.id, hex);
	snprintf(what, sizeof(what), "%s on store-%u", hex, store);
	int done = tr_corrupt(&x->c, &tp, store) == 0;
	if (done) {
		chaos_say(x, "bit flip in %s", what, 0);
		pthread_mutex_lock(&x->mu);
		for (size_t i = 0; i < x->nph; i++)
			if (x->ph[i].id.key == p.id.key)
				x->ph[i].flipped = store;
		pthread_mutex_unlock(&x->mu);
	}
	tr_photo_free(&tp);
	return done;
}

/* A host's name without the run's prefix ("store-3"); host 0 is where
 * the clients are. */
static const char *
host_name(const struct test_hosts *hs, int h)
{
	return h == 0 ? "the clients" : hs->h[h].name + strlen(hs->prefix) + 1;
}

/* Cuts a link (one way or both), a host or a zone off, holds, heals. A
 * fixed number of draws, so the faults after it stay those of the seed. */
static int
partition_one(struct chaos *x)
{
	struct test_hosts *hs = x->c.hosts;
	int64_t hold = chaos_between(&x->frng, 500, 4000);
	int kind = (int)chaos_between(&x->frng, 0, 3);
	int a = (int)chaos_between(&x->frng, 1, hs->n - 1);
	int b = (int)chaos_between(&x->frng, 0, hs->n - 2);
	char what[160], zone[16];
	b += b >= a; /* any host but a */
	snprintf(zone, sizeof(zone), "zone-%c", 'a' + (a % CHAOS_ZONES));
	int rc;
	if (kind == 0) {
		snprintf(what, sizeof(what), "%s", zone);
		rc = test_hosts_cut_zone(hs, zone);
	} else if (kind == 1) {
		snprintf(what, sizeof(what), "%s", host_name(hs, a));
		rc = test_hosts_cut_off(hs, a);
	} else {
		snprintf(what, sizeof(what), "%s %s %s", host_name(hs, a),
		    kind == 2 ? "<->" : "->", host_name(hs, b));
		rc = test_hosts_cut(hs, a, b, kind == 2);
	}
	if (rc != 0)
		fprintf(stderr, "chaos: cannot cut %s\n", what);
	chaos_say(x, "partition: %s cut off, healed in %.1fs", what, hold);
	rt_sleep_ms(hold);
	test_hosts_heal_all(hs);
	return rc == 0;
}

static int
draw_kind(struct chaos *x)
{
	/* Only on hosts, so that a seed's faults without them stay the
	 * same as before partitions existed. */
	if (x->c.hosts != NULL && x->enabled[CF_PARTITION] &&
	    chaos_between(&x->frng, 0, 3) == 0)
		return CF_PARTITION;
	int redis = x->c.has_sentinel && x->enabled[CF_REDISFAIL];
	if (redis && chaos_between(&x->frng, 0, 4) == 0)
		return CF_REDISFAIL;
	for (;;) {
		int k = (int)chaos_between(&x->frng, 0, 9);
		int kind = k < 4 ? CF_KILL :
		    k < 7	 ? CF_PAUSE :
		    k < 8	 ? CF_DISKFULL :
				   CF_BITFLIP;
		if (x->enabled[kind] &&
		    (kind != CF_DISKFULL || x->small_store >= 0))
			return kind;
		if (!x->enabled[CF_KILL] && !x->enabled[CF_PAUSE] &&
		    !x->enabled[CF_BITFLIP] &&
		    (!x->enabled[CF_DISKFULL] || x->small_store < 0))
			return redis &&
				(!x->enabled[CF_PARTITION] ||
				    chaos_between(&x->frng, 0, 1)) ?
			    CF_REDISFAIL :
			    CF_PARTITION; /* partitions, failovers alone */
	}
}

void *
chaos_fault_main(void *arg)
{
	struct chaos *x = arg;
	int any = 0;
	for (int k = 0; k < CF_N; k++)
		any |= x->enabled[k] &&
		    (k != CF_DISKFULL || x->small_store >= 0) &&
		    (k != CF_PARTITION || x->c.hosts != NULL) &&
		    (k != CF_REDISFAIL || x->c.has_sentinel);
	while (any && !atomic_load(&x->stop)) {
		rt_sleep_ms(chaos_between(&x->frng, 500, 2500));
		if (atomic_load(&x->stop))
			break;
		chaos_restore_all(x);
		int kind = draw_kind(x);
		static int (*const fn[CF_N])(struct chaos *) = { kill_one,
			pause_one, fill_disk, flip_bit, partition_one,
			chaos_redis_fail };
		x->faults[kind] += fn[kind](x);
	}
	return NULL;
}
