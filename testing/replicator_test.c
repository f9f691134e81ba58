/* The replicator end to end, on real processes (redis-server x2,
 * directoryd x3, stored x4-5, replicatord x1-2) with short intervals:
 * - a store killed and kept down: after the grace period every photo is
 *   back at its target on the other stores and reads back verified;
 * - bytes flipped in one replica's volume: found by a read, rewritten from
 *   a good copy, the record unchanged;
 * - one photo read above the threshold: MAX_REPLICA_COUNT replicas; reads
 *   stop: back to DEFAULT, the excess needles deleted;
 * - a client that died between Write and Register: the audit deletes the
 *   orphan (second sighting a grace apart), registered photos untouched;
 * - the active replicator killed mid-repair: the standby takes the lease
 *   and finishes the work;
 * - a photo deleted while its repair is pending is never resurrected;
 * - a photo left with one healthy copy is repaired at once, without
 *   waiting STORE_DOWN_GRACE;
 * - a store given up on keeps its location until a replacement is in, and
 *   its copy serves again when it comes back (never deleted as an orphan);
 * - a store given up on and replaced comes back with the only copy within
 *   reach: the audit adopts it into the record;
 * - new copies go to zones the photo has no copy in;
 * - after a trim, a wiped metadata Redis and a restart of every
 *   directory, audits never delete the photo's copies;
 * - a store with more than AUDIT_ORPHAN_HALT_FRACTION orphans: the audit
 *   deletes none there and reports it.
 * Every wait is on a condition with a bound; nothing sleeps blindly. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "cluster.h"
#include "directory.pb-c.h"
#include "env.h"
#include "log.h"
#include "repl_util.h"
#include "replicator.pb-c.h"
#include "replicator/policy.h"
#include "rpc.h"

#define REPL_BASE                                                              \
	"--orphan-grace=1s --rate-half-life=1s "                               \
	"--access-rate-threshold=3000 --tick=100ms --lease-timeout=1200ms "    \
	"--retry-base=100ms --nightly-audit-hour=-1 --max-replica-count=4 "    \
	"--rpc-timeout=3s --workers=2"
/* Most cases: a short grace, and orphans deleted however many there are. */
#define REPL_ARGS                                                              \
	REPL_BASE " --store-down-grace=1s --audit-orphan-halt-fraction=1"
#define STORE_ARGS "--stats-report-interval=200ms --scrub-rate=0"

static struct test_cluster C;

/* One case (tr_case) on nstores stores and a replicator with repl_args. */
static void
run_with(int nstores, const char *repl_args, int nphotos,
    int (*body)(struct tphoto *ph))
{
	struct test_cluster_opts o = { .ndirs = 3,
		.nstores = nstores,
		.replicator = 1,
		.store_args = STORE_ARGS,
		.repl_args = repl_args };
	tr_case(&C, &o, nphotos, body);
}

static void
run(int nstores, int nphotos, int (*body)(struct tphoto *ph))
{
	run_with(nstores, REPL_ARGS, nphotos, body);
}

/* Uploads p (len bytes from seed) and waits for its three locations, in
 * loc (an upload may land fewer copies; the replicator tops it up). */
static int
upload_at_three(struct tphoto *p, uint64_t seed, size_t len, uint32_t loc[8])
{
	if (tr_upload(p, seed, len, 1) != HS_OK)
		return -1;
	CHECK_WAIT_UNTIL(tr_locations(p, loc, 8, NULL) == 3, 10000);
	size_t n = tr_locations(p, loc, 8, NULL);
	if (n == 3)
		return 0;
	fprintf(stderr, "the photo has %zu locations, not 3\n", n);
	return -1;
}

enum { REREPLICATED = 24 };

static int
rereplicate_after_grace(struct tphoto *ph)
{
	for (int i = 0; i < REREPLICATED; i++)
		if (tr_upload(&ph[i], (uint64_t)i + 1, 4096 + (size_t)i * 100,
			1) != HS_OK)
			return -1;
	uint32_t victim = ph[0].stores[0];
	test_proc_kill(&C.stores[victim - 1], SIGKILL);
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(ph, REREPLICATED, &victim, 1, 3),
		30000)) {
		fprintf(stderr,
		    "photos not back at 3 replicas without store %u\n", victim);
		return -1;
	}
	return 0;
}

static void
killed_store_is_rereplicated_after_grace(void)
{
	run(5, REREPLICATED, rereplicate_after_grace);
}

static int
replace_corrupt_copy(struct tphoto *p)
{
	uint32_t before[8], after[8];
	if (upload_at_three(p, 77, 65536, before) != 0)
		return -1;
	uint32_t bad = before[1];
	if (tr_corrupt(&C, p, bad) != 0) {
		fprintf(stderr,
		    "could not find the needle in store %u's volumes\n", bad);
		return -1;
	}
	if (tr_read_ok(p, bad)) {
		fprintf(stderr, "the flipped byte was not noticed\n");
		return -1;
	}
	/* That failed read made the store report the corruption. */
	if (!CHECK_WAIT_UNTIL(tr_read_ok(p, bad), 15000)) {
		fprintf(stderr, "store %u still serves a bad copy\n", bad);
		return -1;
	}
	size_t na = tr_locations(p, after, 8, NULL);
	if (na != 3)
		return -1;
	for (size_t i = 0; i < na; i++)
		if (!repl_has_id(before, 3, after[i]) ||
		    !tr_read_ok(p, after[i]))
			return -1;
	return 0;
}

static void
corrupt_replica_is_replaced_from_a_good_copy(void)
{
	run(4, 1, replace_corrupt_copy);
}

struct hot_ctx {
	struct tphoto *p;
	uint32_t store;
};

static int
hot_and_at(struct hot_ctx *h, size_t want)
{
	tr_read_n(h->p, h->store, 25); /* keeps the rate well above 3000/min */
	uint32_t loc[8];
	return tr_locations(h->p, loc, 8, NULL) == want;
}

/* Uploads p and reads it from its first store until it has 4 copies. */
static int
upload_hot(struct tphoto *p, uint64_t seed)
{
	if (tr_upload(p, seed, 8192, 1) != HS_OK)
		return -1;
	struct hot_ctx h = { p, p->stores[0] };
	if (CHECK_WAIT_UNTIL(hot_and_at(&h, 4), 20000))
		return 0;
	fprintf(stderr, "hot photo never reached 4 replicas\n");
	return -1;
}

/* The replicator's read rate of p (reads/min), -1 if it does not answer:
 * what `hs status` shows. */
static double
photo_rate(const struct tphoto *p)
{
	Hs__AccessRatesRequest q = HS__ACCESS_RATES_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[1] = { &id };
	id.key = p->key;
	id.cookie = p->cookie;
	q.ids = ids;
	q.n_ids = 1;
	ProtobufCMessage *m = NULL;
	double rate = -1;
	if (test_rpc_call(C.p_repl, C.keyfile, &hs__replicator__descriptor,
		"AccessRates", &q.base, &m, 2000, NULL) == HS_OK &&
	    ((Hs__AccessRatesReply *)m)->n_reads_per_min == 1)
		rate = ((Hs__AccessRatesReply *)m)->reads_per_min[0];
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	return rate;
}

/* Reads of p stop: the rate decays and the replicator trims p from 4
 * copies back to 3. On 0, cool holds the 3 stores left and *trimmed the
 * one whose copy went (and no longer serves it). */
static int
cool_and_trim(struct tphoto *p, uint32_t cool[8], uint32_t *trimmed)
{
	uint32_t hot[8];
	size_t nh = tr_locations(p, hot, 8, NULL);
	for (size_t i = 0; i < nh; i++)
		if (!tr_read_ok(p, hot[i]))
			return -1;
	if (!CHECK_WAIT_UNTIL(tr_locations(p, cool, 8, NULL) == 3, 20000)) {
		fprintf(stderr, "cooled photo not trimmed back to 3\n");
		return -1;
	}
	*trimmed = 0;
	for (size_t i = 0; i < nh; i++)
		if (!repl_has_id(cool, 3, hot[i]))
			*trimmed = hot[i];
	if (*trimmed == 0 ||
	    !CHECK_WAIT_UNTIL(!tr_store_has(p, *trimmed), 10000)) {
		fprintf(stderr, "trimmed store %u still holds the needle\n",
		    *trimmed);
		return -1;
	}
	return 0;
}

static int
heat_and_cool(struct tphoto *p)
{
	if (upload_hot(p, 99) != 0)
		return -1;
	double rate = photo_rate(p);
	printf("  hot photo read at %.0f reads/min by the replicator's count\n",
	    rate);
	if (rate <= 0) {
		fprintf(stderr,
		    "the replicator reports no read rate for the hot photo\n");
		return -1;
	}
	uint32_t cool[8], trimmed = 0;
	if (cool_and_trim(p, cool, &trimmed) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (!tr_read_ok(p, cool[i]))
			return -1;
	return 0;
}

static void
hot_photo_goes_to_max_then_back_to_default(void)
{
	run(5, 1, heat_and_cool);
}

static int
back_on(struct tphoto *p, uint32_t store)
{
	uint32_t loc[8];
	size_t n = tr_locations(p, loc, 8, NULL);
	return n == 3 && repl_has_id(loc, n, store) && tr_read_ok(p, store);
}

/* A trim is not a delete: on 4 stores a photo heats up to all of them and
 * is trimmed back to 3; then a store holding it dies, and the only store
 * repair can use is the one that trimmed it. It must take the photo back
 * (before, a store refused every key it had once deleted, and the photo
 * stayed at 2 copies for good). */
static int
take_back_after_trim(struct tphoto *p)
{
	uint32_t cool[8], trimmed = 0;
	if (upload_hot(p, 98) != 0 || cool_and_trim(p, cool, &trimmed) != 0)
		return -1;
	uint32_t victim = cool[0];
	test_proc_kill(&C.stores[victim - 1], SIGKILL);
	if (!CHECK_WAIT_UNTIL(back_on(p, trimmed), 30000)) {
		fprintf(stderr,
		    "store %u, which trimmed the photo, did not take it back "
		    "after store %u died\n",
		    trimmed, victim);
		return -1;
	}
	return 0;
}

static void
trimmed_store_takes_the_photo_back(void)
{
	run(4, 1, take_back_after_trim);
}

static int
orphan_gone(struct tphoto *o)
{
	tr_audit(C.p_repl, NULL);
	for (size_t i = 0; i < o->nstores; i++)
		if (tr_store_has(o, o->stores[i]))
			return 0;
	return 1;
}

/* ph[0]: the orphan, ph[1]: a registered photo. */
static int
delete_orphan(struct tphoto *ph)
{
	struct tphoto *o = &ph[0], *keep = &ph[1];
	if (tr_upload(o, 5, 4096, 0) != HS_OK ||
	    tr_upload(keep, 6, 4096, 1) != HS_OK ||
	    !tr_store_has(o, o->stores[0]))
		return -1;
	uint64_t deleted = 99;
	/* First sighting: recorded, not deleted. */
	if (tr_audit(C.p_repl, &deleted) != HS_OK || deleted != 0) {
		fprintf(stderr, "first audit deleted %llu orphans\n",
		    (unsigned long long)deleted);
		return -1;
	}
	if (!tr_store_has(o, o->stores[0]))
		return -1;
	if (!CHECK_WAIT_UNTIL(orphan_gone(o), 15000)) {
		fprintf(stderr, "orphan still on its stores\n");
		return -1;
	}
	uint32_t loc[8];
	size_t nl = tr_locations(keep, loc, 8, NULL);
	if (nl != 3)
		return -1;
	for (size_t i = 0; i < nl; i++)
		if (!tr_read_ok(keep, loc[i]))
			return -1;
	return 0;
}

static void
audit_deletes_orphan_of_a_dead_client(void)
{
	run(4, 2, delete_orphan);
}

static struct test_proc standby;

static void
start_standby(int port, int pubport)
{
	char bin[512], listen[64], pub[64], redis[96], key[640], uf[64],
	    pf[700];
	test_runfile(bin, sizeof(bin), "replicator/replicatord");
	snprintf(listen, sizeof(listen), "--listen=tcp://127.0.0.1:%d", port);
	snprintf(pub, sizeof(pub), "--pub=tcp://127.0.0.1:%d", pubport);
	struct rt_redis_ep ep = test_redis_ep(&C.meta, "replicator");
	snprintf(redis, sizeof(redis), "--redis=%s", ep.addr);
	snprintf(uf, sizeof(uf), "--redis-user=%s", ep.user);
	snprintf(pf, sizeof(pf), "--redis-password-file=%s", ep.password_file);
	snprintf(key, sizeof(key), "--key-file=");
	test_identity(key + 11, sizeof(key) - 11, C.keyfile, "replicator");
	char *argv[] = { bin, "--id=replicator-2", listen, pub, redis, uf, pf,
		key, "--store-down-grace=1s", "--orphan-grace=1s",
		"--rate-half-life=1s", "--access-rate-threshold=3000",
		"--tick=100ms", "--lease-timeout=1200ms", "--retry-base=100ms",
		"--nightly-audit-hour=-1", "--max-replica-count=4",
		"--rpc-timeout=3s", "--workers=1", "--repair-batch=4", NULL };
	test_proc_start(&standby, "replicator-2", C.dir, argv);
}

static int
repl_active(int port)
{
	uint64_t d[4], done;
	int active = 0;
	return tr_queue(port, d, &done, &active) == HS_OK && active;
}

static int
repl_busy(int port)
{
	uint64_t d[4], done = 0;
	int active = 0;
	if (tr_queue(port, d, &done, &active) != HS_OK)
		return 0;
	return d[0] + d[1] + d[2] + d[3] > 0 || done > 0;
}

enum { TAKEN_OVER = 40 };

static int
take_over(struct tphoto *ph, int sport)
{
	if (!CHECK_WAIT_UNTIL(repl_active(C.p_repl), 10000))
		return -1;
	for (int n = 0; n < TAKEN_OVER; n++)
		if (tr_upload(&ph[n], (uint64_t)n + 1000, 16384, 1) != HS_OK)
			return -1;
	if (repl_active(sport)) {
		fprintf(stderr, "two active replicators\n");
		return -1;
	}
	uint32_t victim = ph[0].stores[0];
	test_proc_kill(&C.stores[victim - 1], SIGKILL);
	/* Once the active one has work in hand, kill it. */
	if (!CHECK_WAIT_UNTIL(repl_busy(C.p_repl), 15000))
		return -1;
	test_proc_kill(&C.repl, SIGKILL);
	if (!CHECK_WAIT_UNTIL(repl_active(sport), 10000)) {
		fprintf(stderr, "the standby never took the lease\n");
		return -1;
	}
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(ph, TAKEN_OVER, &victim, 1, 3),
		30000)) {
		fprintf(stderr, "the standby did not finish the repairs\n");
		return -1;
	}
	return 0;
}

/* take_over with a standby replicator beside the cluster's. */
static int
take_over_with_standby(struct tphoto *ph)
{
	int sport = test_free_port(), spub = test_free_port();
	start_standby(sport, spub);
	int rc = take_over(ph, sport);
	if (rc != 0 && standby.argc)
		test_proc_dump_log(&standby);
	if (standby.argc) {
		test_proc_kill(&standby, SIGTERM);
		test_proc_free(&standby);
	}
	memset(&standby, 0, sizeof(standby));
	return rc;
}

static void
standby_takes_over_the_queue(void)
{
	run(5, TAKEN_OVER, take_over_with_standby);
}

static int
nowhere_live(struct tphoto *p, uint32_t skip)
{
	for (uint32_t s = 1; s <= (uint32_t)C.nstores; s++)
		if (s != skip && tr_store_has(p, s))
			return 0;
	return 1;
}

/* ph[0]: the photo deleted, ph[1]: another on the same dead store. */
static int
never_resurrect(struct tphoto *ph)
{
	struct tphoto *p = &ph[0], *q = &ph[1];
	hs_status st;
	if ((st = tr_upload(p, 4242, 4096, 1)) != HS_OK ||
	    (st = tr_upload(q, 4343, 4096, 1)) != HS_OK) {
		fprintf(stderr, "upload: %s\n", hs_status_str(st));
		return -1;
	}
	uint32_t victim = p->stores[0];
	test_proc_kill(&C.stores[victim - 1], SIGKILL);
	if ((st = tr_delete(p)) != HS_OK) {
		fprintf(stderr, "delete: %s\n", hs_status_str(st));
		return -1;
	}
	/* The other photo on the dead store gets repaired: by then the
	 * repair of the deleted one has had every chance to happen. */
	uint32_t loc[8];
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(q, 1, &victim, 1, 3), 30000)) {
		fprintf(stderr, "the other photo was not repaired\n");
		return -1;
	}
	if ((st = tr_audit(C.p_repl, NULL)) != HS_OK) {
		fprintf(stderr, "audit: %s\n", hs_status_str(st));
		return -1;
	}
	if (tr_locations(p, loc, 8, NULL) != 0) {
		fprintf(stderr, "the deleted photo has a record again\n");
		return -1;
	}
	if (!CHECK_WAIT_UNTIL(nowhere_live(p, victim), 10000)) {
		fprintf(stderr, "a live copy of the deleted photo remains\n");
		return -1;
	}
	/* The directory itself refuses new locations for a deleted photo. */
	Hs__UpdateLocationsRequest u = HS__UPDATE_LOCATIONS_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT;
	id.key = p->key;
	id.cookie = p->cookie;
	uint32_t add = victim == 1 ? 2 : 1;
	u.id = &id;
	u.add = &add;
	u.n_add = 1;
	ProtobufCMessage *m = NULL;
	struct rpc_error e = { .code = HS_INTERNAL };
	char as[600]; /* UpdateLocations is the replicator's */
	st = test_rpc_call(C.p_dir[0],
	    test_identity(as, sizeof(as), C.keyfile, "replicator"),
	    &hs__directory__descriptor, "UpdateLocations", &u.base, &m, 5000,
	    &e);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	if (st != HS_FAILED_PRECONDITION) {
		fprintf(stderr,
		    "UpdateLocations(add) on a deleted photo: %s "
		    "(%s)\n",
		    hs_status_str(st), e.message);
		return -1;
	}
	return 0;
}

static void
deleted_photo_is_never_resurrected(void)
{
	run(5, 2, never_resurrect);
}

/* Copies of p that read back verified from stores not in gone[]. */
static size_t
good_copies(struct tphoto *p, const uint32_t *gone, size_t ngone)
{
	uint32_t loc[8];
	size_t nl = tr_locations(p, loc, 8, NULL), good = 0;
	for (size_t k = 0; k < nl; k++)
		good += !repl_has_id(gone, ngone, loc[k]) &&
		    tr_read_ok(p, loc[k]);
	return good;
}

/* Two of a photo's three stores die; the grace is 10 minutes. It has one
 * healthy copy, below MIN_REPLICA_COUNT: it is back at three readable
 * copies within seconds. */
static int
repair_below_min(struct tphoto *p)
{
	uint32_t loc[8];
	if (upload_at_three(p, 901, 8192, loc) != 0)
		return -1;
	uint32_t gone[2] = { loc[0], loc[1] };
	test_proc_kill(&C.stores[gone[0] - 1], SIGKILL);
	test_proc_kill(&C.stores[gone[1] - 1], SIGKILL);
	if (!CHECK_WAIT_UNTIL(good_copies(p, gone, 2) >= 3, 30000)) {
		fprintf(stderr,
		    "photo with one healthy copy not repaired within 30 s "
		    "(grace 10 min): %zu good copies\n",
		    good_copies(p, gone, 2));
		return -1;
	}
	return 0;
}

static void
photo_below_min_is_repaired_without_waiting_the_grace(void)
{
	run_with(5,
	    REPL_BASE " --store-down-grace=10m --audit-orphan-halt-fraction=1",
	    1, repair_below_min);
}

struct settle {
	uint32_t store;
	int64_t down_since; /* monotonic ms, 0: not seen DOWN yet */
};

/* The store has been DOWN well past the 1 s grace, an audit ran since and
 * the replicator has nothing left to do. */
static int
settled_after_grace(struct settle *s)
{
	if (s->down_since == 0) {
		if (tr_store_down(s->store))
			s->down_since = rt_mono_ms();
		return 0;
	}
	if (rt_mono_ms() - s->down_since < 2500)
		return 0;
	return tr_audit(C.p_repl, NULL) == HS_OK && tr_idle(C.p_repl);
}

/* Three stores, a photo on each; one dies past the grace with nowhere to
 * put a replacement: its location stays in the record (the copy is not
 * proven gone). It comes back: its copy serves again and audits a grace
 * apart never delete it. */
static int
keep_lost_location(struct tphoto *p)
{
	uint32_t loc[8];
	if (upload_at_three(p, 902, 8192, loc) != 0)
		return -1;
	uint32_t x = loc[0];
	test_proc_kill(&C.stores[x - 1], SIGKILL);
	struct settle st = { x, 0 };
	if (!CHECK_WAIT_UNTIL(settled_after_grace(&st), 30000))
		return -1;
	size_t nl = tr_locations(p, loc, 8, NULL);
	if (nl != 3 || !repl_has_id(loc, nl, x)) {
		fprintf(stderr,
		    "store %u was dropped from the record with no replacement "
		    "written: %zu locations\n",
		    x, nl);
		return -1;
	}
	if (test_proc_restart(&C.stores[x - 1]) != 0 ||
	    !test_cluster_wait_stores_up(&C, 3, 15000))
		return -1;
	int64_t t0 = rt_mono_ms();
	if (!CHECK_WAIT_UNTIL(tr_audit(C.p_repl, NULL) == HS_OK &&
		    rt_mono_ms() - t0 > 2500,
		15000))
		return -1;
	nl = tr_locations(p, loc, 8, NULL);
	if (nl != 3 || !repl_has_id(loc, nl, x) || !tr_read_ok(p, x) ||
	    !tr_store_has(p, x)) {
		fprintf(stderr,
		    "store %u's copy is not back in service (%zu locations)\n",
		    x, nl);
		return -1;
	}
	for (size_t i = 0; i < nl; i++)
		if (!tr_read_ok(p, loc[i]))
			return -1;
	return 0;
}

static void
lost_location_stays_until_a_replacement_is_in(void)
{
	run(3, 1, keep_lost_location);
}

/* The harness puts store id s in zone (s - 1) % 3. */
static int
zones_of(struct tphoto *p, const uint32_t *loc, size_t nl)
{
	int seen[3] = { 0 }, n = 0;
	(void)p;
	for (size_t i = 0; i < nl; i++)
		if (!seen[(loc[i] - 1) % 3]++)
			n++;
	return n;
}

/* Every photo has 3 readable copies, none on gone, over 3 zones. */
static int
repaired_over_zones(struct tphoto *ph, int n, uint32_t gone)
{
	if (!tr_all_repaired(ph, n, &gone, 1, 3))
		return 0;
	for (int i = 0; i < n; i++) {
		uint32_t loc[8];
		size_t nl = tr_locations(&ph[i], loc, 8, NULL);
		if (zones_of(&ph[i], loc, nl) != 3)
			return 0;
	}
	return 1;
}

/* Five stores in zones a b c a b; store 5 (zone b) dies. Each photo it
 * held gets its new copy in the zone it lost (store 2), not on the other
 * stores with room, so every photo keeps a copy in each of the 3 zones. */
enum { SPREAD = 16 };

static int
spread_over_zones(struct tphoto *ph)
{
	for (int n = 0; n < SPREAD; n++)
		if (tr_upload(&ph[n], 950 + (uint64_t)n, 4096, 1) != HS_OK)
			return -1;
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(ph, SPREAD, NULL, 0, 3), 10000))
		return -1;
	test_proc_kill(&C.stores[4], SIGKILL);
	if (CHECK_WAIT_UNTIL(repaired_over_zones(ph, SPREAD, 5), 30000))
		return 0;
	for (int i = 0; i < SPREAD; i++) {
		uint32_t loc[8];
		size_t nl = tr_locations(&ph[i], loc, 8, NULL);
		fprintf(stderr, "photo %d: %zu locations over %d zones\n", i,
		    nl, zones_of(&ph[i], loc, nl));
	}
	return -1;
}

static void
new_copies_spread_over_zones(void)
{
	run(5, SPREAD, spread_over_zones);
}

struct audits {
	int64_t first; /* monotonic ms of the first that ran */
	int halted;    /* the last named this many halted stores */
};

/* Audits until two ran more than the 1 s orphan grace apart. */
static int
audited_past_grace(struct audits *h)
{
	Hs__AuditReply *a = NULL;
	if (tr_audit_reply(C.p_repl, &a) != HS_OK)
		return 0;
	if (h->first == 0)
		h->first = rt_mono_ms();
	h->halted = (int)a->n_halted_stores;
	protobuf_c_message_free_unpacked(&a->base, NULL);
	return rt_mono_ms() - h->first > 1500;
}

/* The metadata Redis loses everything (an operator's FLUSHALL) and every
 * directory restarts on it: no directory knows any photo. */
static int
lose_metadata(void)
{
	for (int i = 0; i < C.ndirs; i++)
		test_proc_kill(&C.dirs[i], SIGKILL);
	redisContext *rc = test_redis_connect(&C.meta, "admin");
	redisReply *r = rc != NULL ? redisCommand(rc, "FLUSHALL") : NULL;
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		fprintf(stderr, "FLUSHALL: %s\n",
		    r != NULL && r->str != NULL ? r->str : "no reply");
	if (r != NULL)
		freeReplyObject(r);
	redisFree(rc);
	if (!ok)
		return -1;
	for (int i = 0; i < C.ndirs; i++)
		if (test_proc_restart(&C.dirs[i]) != 0)
			return -1;
	return 0;
}

/* A hot photo cools from 4 copies to 3 (the trimmed store keeps a deleted
 * entry for it); then the metadata is lost and every directory restarts.
 * Audits a grace apart delete none of its copies (a store's deleted entry
 * is no evidence of a delete; too many orphans halt the deletions). */
static int
keep_copies_after_lost_metadata(struct tphoto *p)
{
	uint32_t loc[8];
	if (upload_hot(p, 903) != 0 ||
	    !CHECK_WAIT_UNTIL(tr_locations(p, loc, 8, NULL) == 3, 20000)) {
		fprintf(stderr, "the photo did not go hot and cool again\n");
		return -1;
	}
	if (lose_metadata() != 0)
		return -1;
	struct audits au = { 0 };
	if (!CHECK_WAIT_UNTIL(audited_past_grace(&au), 30000))
		return -1;
	size_t live = 0;
	for (size_t i = 0; i < 3; i++)
		live += tr_store_has(p, loc[i]) && tr_read_ok(p, loc[i]);
	if (live < 3 || au.halted == 0) {
		fprintf(stderr,
		    "the audit left %zu of 3 live copies, halted on %d stores\n",
		    live, au.halted);
		return -1;
	}
	return 0;
}

static void
audit_after_trim_and_lost_metadata_keeps_copies(void)
{
	run_with(5, REPL_BASE " --store-down-grace=1s", 1,
	    keep_copies_after_lost_metadata);
}

/* Four stores; a photo's store X dies and the photo is repaired onto the
 * fourth, X leaving its record. Then the other three die and X comes back
 * with the only copy within reach: the audit adopts it into the record
 * (audits a grace apart never delete it as an orphan) and it serves. */
static int
adopt_returning_copy(struct tphoto *p)
{
	uint32_t loc[8];
	if (upload_at_three(p, 907, 8192, loc) != 0)
		return -1;
	uint32_t x = loc[0];
	test_proc_kill(&C.stores[x - 1], SIGKILL);
	if (!CHECK_WAIT_UNTIL(tr_all_repaired(p, 1, &x, 1, 3), 30000)) {
		fprintf(stderr, "the photo was not repaired without store %u\n",
		    x);
		return -1;
	}
	for (uint32_t s = 1; s <= (uint32_t)C.nstores; s++)
		if (s != x)
			test_proc_kill(&C.stores[s - 1], SIGKILL);
	if (test_proc_restart(&C.stores[x - 1]) != 0 ||
	    !test_cluster_wait_stores_up(&C, 1, 15000))
		return -1;
	struct audits au = { 0 };
	if (!CHECK_WAIT_UNTIL(audited_past_grace(&au), 30000))
		return -1;
	size_t nl = tr_locations(p, loc, 8, NULL);
	if (!tr_store_has(p, x) || !tr_read_ok(p, x) ||
	    !repl_has_id(loc, nl, x)) {
		fprintf(stderr, "store %u's copy was %s and %s the record\n", x,
		    tr_store_has(p, x) ? "kept" : "deleted",
		    repl_has_id(loc, nl, x) ? "is in" : "is not in");
		return -1;
	}
	return 0;
}

static void
returning_store_copy_is_adopted_not_deleted(void)
{
	run(4, 1, adopt_returning_copy);
}

/* Three needles nobody registered beside one photo (what a lost or
 * damaged metadata Redis looks like): far more than the default 0.1 % of
 * their stores' needles. Audits a grace apart delete none of them, and
 * the Audit reply names the halted stores. */
/* ph[0]: a registered photo, ph[1..3]: the unregistered needles. */
static int
halt_instead_of_deleting(struct tphoto *ph)
{
	struct tphoto *keep = &ph[0], *o = &ph[1];
	if (tr_upload(keep, 904, 4096, 1) != HS_OK)
		return -1;
	for (int i = 0; i < 3; i++)
		if (tr_upload(&o[i], 905 + (uint64_t)i, 4096, 0) != HS_OK)
			return -1;
	struct audits h = { 0 };
	if (!CHECK_WAIT_UNTIL(audited_past_grace(&h), 20000))
		return -1;
	if (h.halted == 0) {
		fprintf(stderr, "the audit named no halted store\n");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		for (size_t k = 0; k < o[i].nstores; k++)
			if (!tr_store_has(&o[i], o[i].stores[k])) {
				fprintf(stderr, "an orphan was deleted\n");
				return -1;
			}
	return 0;
}

static void
audit_halts_instead_of_mass_deleting(void)
{
	run_with(4, REPL_BASE " --store-down-grace=1s", 4,
	    halt_instead_of_deleting);
}

int
main(int argc, char **argv)
{
	rt_log_init("replicator_test", 'C');
	static const struct check_case cases[] = {
		{ "killed store is re-replicated after grace",
		    killed_store_is_rereplicated_after_grace },
		{ "corrupt replica is replaced from a good copy",
		    corrupt_replica_is_replaced_from_a_good_copy },
		{ "trimmed store takes the photo back",
		    trimmed_store_takes_the_photo_back },
		{ "hot photo goes to max then back to default",
		    hot_photo_goes_to_max_then_back_to_default },
		{ "audit deletes orphan of a dead client",
		    audit_deletes_orphan_of_a_dead_client },
		{ "standby takes over the queue",
		    standby_takes_over_the_queue },
		{ "deleted photo is never resurrected",
		    deleted_photo_is_never_resurrected },
		{ "photo below min is repaired without waiting the grace",
		    photo_below_min_is_repaired_without_waiting_the_grace },
		{ "lost location stays until a replacement is in",
		    lost_location_stays_until_a_replacement_is_in },
		{ "new copies spread over zones",
		    new_copies_spread_over_zones },
		{ "audit after trim and lost metadata keeps copies",
		    audit_after_trim_and_lost_metadata_keeps_copies },
		{ "returning store copy is adopted not deleted",
		    returning_store_copy_is_adopted_not_deleted },
		{ "audit halts instead of mass deleting",
		    audit_halts_instead_of_mass_deleting },
		{ NULL, NULL },
	};
	return check_run(cases, argc, argv);
}
