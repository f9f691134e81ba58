/* The event feed over real PUB/SUB sockets: prefix filtering, per-family
 * sequence numbers, gap detection, malformed frames skipped, a burst of
 * events (a batch commit's) delivered whole, forged frames refused, and
 * cookies hidden from a subscriber without the servers' secret. */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "feed_seal.h"
#include "log.h"
#include "pubsub.h"

static char url[128];

/* Identities of a cluster's principals, made fresh for this run. */
enum { DIR, REPL, ADMIN, CLIENT, STORE, NIDS };
static rt_ident *ids[NIDS];

static int
make_idents(void)
{
	static const char *const names[NIDS] = { "directory", "replicator",
		"admin", "client", "store-1" };
	static const unsigned roles[NIDS] = { RT_ROLE_DIRECTORY,
		RT_ROLE_REPLICATOR, RT_ROLE_ADMIN, RT_ROLE_CLIENT,
		RT_ROLE_STORE };
	char dir[] = "/tmp/hs-pubsub-keys-XXXXXX", path[256], err[256];
	if (mkdtemp(dir) == NULL ||
	    rt_ident_provision(dir, names, roles, NIDS, err, sizeof(err))) {
		fprintf(stderr, "test identities: %s\n", err);
		return -1;
	}
	for (int i = 0; i < NIDS; i++) {
		snprintf(path, sizeof(path), "%s/%s.key", dir, names[i]);
		if (rt_ident_load(&ids[i], path, NULL, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", path, err);
			return -1;
		}
	}
	return 0;
}

static void
make_url(const char *tag)
{
	snprintf(url, sizeof(url), "ipc:///tmp/hs-pubsub-%s-%d.ipc", tag,
	    (int)getpid());
}

/* Publishes probes until the subscriber sees one: PUB drops everything
 * sent before a subscriber is connected. */
static int
wait_joined(rt_pub *p, rt_sub *s)
{
	for (int i = 0; i < 400; i++) {
		Hs__Event ev = HS__EVENT__INIT, *got;
		uint64_t gap;
		ev.topic = (char *)"probe.ping";
		rt_pub_publish(p, &ev);
		if (rt_sub_recv(s, &got, &gap, 10) == 0) {
			hs__event__free_unpacked(got, NULL);
			return 1;
		}
	}
	return 0;
}

static void
test_prefix_filter_and_sequence(void)
{
	rt_pub *p;
	rt_sub *s;
	const char *prefixes[] = { "photo.", "probe." };
	make_url("filter");
	const char *u = url;
	CHECK_EQ(rt_pub_open(&p, url, "dir-1", ids[DIR]), 0);
	CHECK_EQ(rt_sub_open(&s, &u, 1, prefixes, 2, ids[REPL]), 0);
	CHECK(wait_joined(p, s));
	for (int i = 0; i < 5; i++) {
		Hs__Event ev = HS__EVENT__INIT;
		Hs__PhotoRecord rec = HS__PHOTO_RECORD__INIT;
		ev.topic = (char *)(i % 2 ? "store.up" : "photo.registered");
		rec.size = (uint64_t)i;
		ev.body_case = HS__EVENT__BODY_PHOTO;
		ev.photo = &rec;
		CHECK_EQ(rt_pub_publish(p, &ev), 0);
	}
	uint64_t last = 0;
	for (int i = 0; i < 3; i++) {
		Hs__Event *got;
		uint64_t gap = 99;
		CHECK_EQ(rt_sub_recv(s, &got, &gap, 2000), 0);
		CHECK(strcmp(got->topic, "photo.registered") == 0);
		CHECK(strcmp(got->source, "dir-1") == 0);
		CHECK_EQ(got->photo->size, (uint64_t)(2 * i));
		CHECK_EQ(gap, 0); /* store.* events in between are no gap */
		CHECK(got->seq == last + 1 || last == 0);
		last = got->seq;
		hs__event__free_unpacked(got, NULL);
	}
	Hs__Event *none;
	uint64_t gap;
	CHECK_EQ(rt_sub_recv(s, &none, &gap, 50), NNG_ETIMEDOUT);
	/* Publisher first: nng 1.5.2 can hang closing a socket whose peer in
	 * the same process is still sending to it. */
	rt_pub_close(p);
	rt_sub_close(s);
}

/* Sends ev sealed by sealer as its own frame on pub (seq as given). */
static int
send_sealed(nng_socket pub, rt_sealer *sealer, const Hs__Event *ev)
{
	nng_msg *m;
	int rv = rt_seal_frame(sealer, ev, &m);
	if (rv == 0 && (rv = nng_sendmsg(pub, m, 0)) != 0)
		nng_msg_free(m);
	return rv;
}

/* Sends probes on pub until s receives one: PUB drops what it sends
 * before a subscriber is connected. */
static int
probe_joined(nng_socket pub, rt_sealer *sealer, rt_sub *s)
{
	for (uint64_t i = 1; i < 400; i++) {
		Hs__Event ev = HS__EVENT__INIT, *got;
		uint64_t gap;
		ev.topic = (char *)"probe.ping";
		ev.source = (char *)"probe";
		ev.seq = i;
		send_sealed(pub, sealer, &ev);
		if (rt_sub_recv(s, &got, &gap, 10) == 0) {
			hs__event__free_unpacked(got, NULL);
			return 1;
		}
	}
	return 0;
}

static int
open_pub(nng_socket *pub, const char *tag)
{
	make_url(tag);
	return nng_pub0_open(pub) == 0 && nng_listen(*pub, url, NULL, 0) == 0 ?
	    0 :
	    -1;
}

/* Frames built by hand with sequence numbers 1, 2, 5 and a malformed one:
 * the subscriber reports a gap of 2 and skips the garbage. */
static void
test_gap_detected_and_garbage_skipped(void)
{
	nng_socket pub;
	rt_sub *s;
	rt_sealer *sealer;
	const char *prefixes[] = { "" };
	CHECK_EQ(open_pub(&pub, "gap"), 0);
	const char *u = url;
	CHECK_EQ(rt_sealer_new(&sealer, ids[DIR]), 0);
	CHECK_EQ(rt_sub_open(&s, &u, 1, prefixes, 1, ids[DIR]), 0);
	uint64_t seqs[] = { 1, 2, 5 }, want_gap[] = { 0, 0, 2 };
	CHECK(probe_joined(pub, sealer, s));
	for (int i = 0; i < 3; i++) {
		Hs__Event ev = HS__EVENT__INIT;
		ev.topic = (char *)"photo.registered";
		ev.source = (char *)"dir-2";
		ev.seq = seqs[i];
		CHECK_EQ(send_sealed(pub, sealer, &ev), 0);
		nng_send(pub, "photo.x\0\x0a\xff", 10, 0); /* malformed */
	}
	for (int i = 0; i < 3; i++) {
		Hs__Event *got;
		uint64_t gap = 99;
		CHECK_EQ(rt_sub_recv(s, &got, &gap, 2000), 0);
		CHECK_EQ(got->seq, seqs[i]);
		CHECK_EQ(gap, want_gap[i]);
		CHECK(got->authenticated);
		hs__event__free_unpacked(got, NULL);
	}
	Hs__Event *none;
	uint64_t gap;
	CHECK_EQ(rt_sub_recv(s, &none, &gap, 50), NNG_ETIMEDOUT);
	CHECK_EQ(rt_sub_dropped(s), 3);
	nng_close(pub);
	rt_sub_close(s);
	rt_sealer_free(sealer);
}

/* A photo.deleted for key 7 at seq, as the directory would publish it. */
static void
deleted_event(Hs__Event *ev, Hs__PhotoRecord *rec, Hs__PhotoId *id,
    uint64_t seq)
{
	hs__event__init(ev);
	hs__photo_record__init(rec);
	hs__photo_id__init(id);
	id->key = 7;
	id->cookie = 0xcafe;
	rec->id = id;
	rec->state = HS__PHOTO_STATE__PHOTO_DELETED;
	ev->topic = (char *)"photo.deleted";
	ev->source = (char *)"dir-1";
	ev->seq = seq;
	ev->body_case = HS__EVENT__BODY_PHOTO;
	ev->photo = rec;
}

/* Flips one bit of the first MAC in a frame built by sealer. */
static int
send_bad_mac(nng_socket pub, rt_sealer *sealer, const Hs__Event *ev)
{
	nng_msg *m;
	if (rt_seal_frame(sealer, ev, &m) != 0)
		return -1;
	uint8_t *b = nng_msg_body(m);
	size_t tlen = strlen((char *)b) + 1;
	Hs__SealedEvent *se = hs__sealed_event__unpack(NULL,
	    nng_msg_len(m) - tlen, b + tlen);
	se->seals[0]->mac.data[0] ^= 1;
	hs__sealed_event__pack(se, b + tlen);
	hs__sealed_event__free_unpacked(se, NULL);
	return nng_sendmsg(pub, m, 0);
}

/* What a follower refuses: a store's photo event (its MAC is right, its
 * role may not publish photos), a directory frame with a wrong MAC, one
 * with no MAC for the follower; the genuine one after them arrives. */
static void
test_forged_frames_refused(void)
{
	nng_socket pub;
	rt_sub *s;
	rt_sealer *dir, *store;
	const char *prefixes[] = { "" };
	CHECK_EQ(open_pub(&pub, "forged"), 0);
	const char *u = url;
	CHECK_EQ(rt_sealer_new(&dir, ids[DIR]), 0);
	CHECK_EQ(rt_sealer_new(&store, ids[STORE]), 0);
	CHECK_EQ(rt_sub_open(&s, &u, 1, prefixes, 1, ids[DIR]), 0);
	CHECK(probe_joined(pub, dir, s));
	uint64_t before = rt_sub_dropped(s);
	Hs__Event ev;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	deleted_event(&ev, &rec, &id, 2);
	CHECK_EQ(send_sealed(pub, store, &ev), 0);
	CHECK_EQ(send_bad_mac(pub, dir, &ev), 0);
	/* No MAC at all, claiming to come from the directory. */
	Hs__SealedEvent bare = HS__SEALED_EVENT__INIT;
	uint8_t frame[512];
	bare.from = (char *)"directory";
	bare.event.len = hs__event__pack(&ev, frame + 256);
	bare.event.data = frame + 256;
	memcpy(frame, "photo.deleted", 14);
	size_t n = hs__sealed_event__pack(&bare, frame + 14);
	CHECK_EQ(nng_send(pub, frame, 14 + n, 0), 0);
	ev.seq = 3;
	CHECK_EQ(send_sealed(pub, dir, &ev), 0);
	Hs__Event *got;
	uint64_t gap;
	CHECK_EQ(rt_sub_recv(s, &got, &gap, 2000), 0);
	CHECK_EQ(got->seq, 3);
	CHECK(got->authenticated && got->photo &&
	    got->photo->id->cookie == 0xcafe);
	hs__event__free_unpacked(got, NULL);
	CHECK_EQ(rt_sub_dropped(s) - before, 3);
	nng_close(pub);
	rt_sub_close(s);
	rt_sealer_free(dir);
	rt_sealer_free(store);
}

struct flood {
	nng_socket pub;
	_Atomic int stop;
};

static void *
flood_main(void *arg)
{
	struct flood *f = arg;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* One every 2 ms (a tight loop stalls nng's pipe for longer than a
	 * timeout), for 3 s at most: a receiver that never returns fails
	 * rather than hangs. */
	do {
		struct timespec pause = { 0, 2000000 };
		nng_send(f->pub, "photo.x\0\x0a\xff", 10, 0);
		nanosleep(&pause, NULL);
	} while (!atomic_load(&f->stop) &&
	    clock_gettime(CLOCK_MONOTONIC, &t) == 0 &&
	    t.tv_sec - t0.tv_sec < 3);
	return NULL;
}

/* A publisher sending nothing but refused frames cannot hold a receiver
 * past its timeout (it used to loop for as long as they came). */
static void
test_refused_frames_do_not_hold_recv(void)
{
	struct flood f = { .stop = 0 };
	rt_sub *s;
	rt_sealer *dir;
	pthread_t t;
	const char *prefixes[] = { "" };
	CHECK_EQ(open_pub(&f.pub, "flood"), 0);
	const char *u = url;
	CHECK_EQ(rt_sealer_new(&dir, ids[DIR]), 0);
	CHECK_EQ(rt_sub_open(&s, &u, 1, prefixes, 1, ids[DIR]), 0);
	CHECK(probe_joined(f.pub, dir, s));
	pthread_create(&t, NULL, flood_main, &f);
	struct timespec t0, t1;
	Hs__Event *none;
	uint64_t gap;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(rt_sub_recv(s, &none, &gap, 100), NNG_ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(rt_sub_dropped(s) > 0); /* the flood reached it meanwhile */
	atomic_store(&f.stop, 1);
	pthread_join(t, NULL);
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 +
		(t1.tv_nsec - t0.tv_nsec) / 1000000 <
	    1000);
	nng_close(f.pub);
	rt_sub_close(s);
	rt_sealer_free(dir);
}

/* The next event past the probes joining sent. 0 or an nng error. */
static int
next_photo(rt_sub *s, Hs__Event **got)
{
	uint64_t gap;
	for (;;) {
		int rv = rt_sub_recv(s, got, &gap, 2000);
		if (rv != 0 || strcmp((*got)->topic, "probe.ping") != 0)
			return rv;
		hs__event__free_unpacked(*got, NULL);
	}
}

/* The same photo event to a client and to an admin: the client sees the
 * header and "sealed", never the id; the admin sees the cookie. */
static void
test_cookies_only_for_secret_holders(void)
{
	nng_socket pub;
	rt_sub *cl, *ad;
	rt_sealer *dir;
	const char *prefixes[] = { "" };
	CHECK_EQ(open_pub(&pub, "cookies"), 0);
	const char *u = url;
	CHECK_EQ(rt_sealer_new(&dir, ids[DIR]), 0);
	CHECK_EQ(rt_sub_open(&cl, &u, 1, prefixes, 1, ids[CLIENT]), 0);
	CHECK_EQ(rt_sub_open(&ad, &u, 1, prefixes, 1, ids[ADMIN]), 0);
	CHECK(probe_joined(pub, dir, cl));
	CHECK(probe_joined(pub, dir, ad));
	Hs__Event ev, *got;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	deleted_event(&ev, &rec, &id, 9);
	CHECK_EQ(send_sealed(pub, dir, &ev), 0);
	CHECK_EQ(next_photo(cl, &got), 0);
	CHECK_EQ(got->seq, 9);
	CHECK(got->sealed && got->photo == NULL);
	hs__event__free_unpacked(got, NULL);
	CHECK_EQ(next_photo(ad, &got), 0);
	CHECK(!got->sealed && got->authenticated && got->photo);
	CHECK_EQ(got->photo->id->cookie, 0xcafe);
	hs__event__free_unpacked(got, NULL);
	nng_close(pub);
	rt_sub_close(cl);
	rt_sub_close(ad);
	rt_sealer_free(dir);
}

/* A batch commit publishes hundreds of events at once: a subscriber that
 * keeps up gets every one of them, with no gap. */
static void
test_burst_arrives_whole(void)
{
	enum { N = 1000 };
	rt_pub *p;
	rt_sub *s;
	const char *prefixes[] = { "photo.", "probe." };
	make_url("burst");
	const char *u = url;
	CHECK_EQ(rt_pub_open(&p, url, "dir-1", ids[DIR]), 0);
	CHECK_EQ(rt_sub_open(&s, &u, 1, prefixes, 2, ids[REPL]), 0);
	CHECK(wait_joined(p, s));
	Hs__PhotoRecord rec = HS__PHOTO_RECORD__INIT;
	uint8_t sha[32] = { 0 };
	rec.sha256.data = sha;
	rec.sha256.len = sizeof(sha);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		Hs__Event ev = HS__EVENT__INIT;
		ev.topic = (char *)"photo.updated";
		ev.body_case = HS__EVENT__BODY_PHOTO;
		ev.photo = &rec;
		CHECK_EQ(rt_pub_publish(p, &ev), 0);
	}
	int got_all = 1;
	uint64_t gaps = 0;
	for (int i = 0; i < N && got_all; i++) {
		Hs__Event *got;
		uint64_t gap = 0;
		got_all = rt_sub_recv(s, &got, &gap, 2000) == 0;
		if (got_all)
			hs__event__free_unpacked(got, NULL);
		gaps += gap;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The event path's cost, published to received (docs/rpc.md, "Events"). */
	fprintf(stderr, "burst: %.1f us per event\n",
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		(double)(t1.tv_nsec - t0.tv_nsec)) /
		1e3 / N);
	rt_sub_close(s);
	rt_pub_close(p);
	CHECK(got_all);
	CHECK_EQ(gaps, 0);
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "prefix filter and sequence",
		    test_prefix_filter_and_sequence },
		{ "gap detected and garbage skipped",
		    test_gap_detected_and_garbage_skipped },
		{ "burst arrives whole", test_burst_arrives_whole },
		{ "forged frames refused", test_forged_frames_refused },
		{ "cookies only for secret holders",
		    test_cookies_only_for_secret_holders },
		{ "refused frames do not hold recv",
		    test_refused_frames_do_not_hold_recv },
		{ NULL, NULL },
	};
	rt_log_init("pubsub_test", 'T');
	if (make_idents() != 0)
		return 1;
	rt_log_set_level(RT_LOG_ERROR);
	return check_run(cases, argc, argv);
}
