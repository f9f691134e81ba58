/* The event feed's trust boundary on a real cluster (issue 12 §2): a
 * follower drops forged events on its feed (a store's photo event, a
 * store's frame claiming to be the directory, a frame with no MAC) and
 * keeps applying genuine ones; `hs tap` with a client credential shows
 * photo events without their ids (no cookies), with the admin's it shows
 * them. The forgeries go out on the test's own PUB socket, which every
 * directory is told to follow too (HS_TEST_FEED). */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster_run.h"
#include "directory.pb-c.h"
#include "env.h"
#include "feed_seal.h"
#include "hs.h"
#include "hs_close.h"
#include "log.h"
#include "proc.h"
#include "rpc.h"

static struct test_cluster tc;
static hs_client *cl;
static char hs_bin[512];
static nng_socket feed; /* the test's own publisher */
static rt_ident *as_dir, *as_store;
static uint64_t genuine_seq, forged_seq; /* per fake source */

/* Lookup of (key, cookie) at directory i: its code, -1 if the call
 * failed; *applied the directory's applied change-log seq. */
static int
lookup(int i, uint64_t key, uint32_t cookie, uint64_t *applied)
{
	Hs__LookupRequest req = HS__LOOKUP_REQUEST__INIT;
	Hs__PhotoId id = HS__PHOTO_ID__INIT, *ids[] = { &id };
	Hs__LookupReply *rep = NULL;
	id.key = key;
	id.cookie = cookie;
	req.ids = ids;
	req.n_ids = 1;
	if (test_rpc_call(tc.p_dir[i], tc.keyfile, &hs__directory__descriptor,
		"Lookup", &req.base, (ProtobufCMessage **)&rep, 2000,
		NULL) != HS_OK)
		return -1;
	int code = rep->n_results == 1 ? (int)rep->results[0]->code : -1;
	if (applied != NULL)
		*applied = rep->applied_seq;
	hs__lookup_reply__free_unpacked(rep, NULL);
	return code;
}

static int
found(int i, uint64_t key, uint32_t cookie)
{
	return lookup(i, key, cookie, NULL) == HS__CODE__OK;
}

/* A photo event as the leader would publish it, at change-log seq. */
struct photo_ev {
	Hs__Event ev;
	Hs__PhotoRecord rec;
	Hs__PhotoId id;
	uint32_t stores[2];
	uint8_t sha[32];
};

static void
photo_ev(struct photo_ev *p, const char *topic, uint64_t key, uint32_t cookie,
    uint64_t seq)
{
	memset(p, 0, sizeof(*p));
	hs__event__init(&p->ev);
	hs__photo_record__init(&p->rec);
	hs__photo_id__init(&p->id);
	p->id.key = key;
	p->id.cookie = cookie;
	p->stores[0] = 1;
	p->stores[1] = 2;
	p->rec.id = &p->id;
	p->rec.size = 10;
	p->rec.sha256 = (ProtobufCBinaryData){ 32, p->sha };
	p->rec.stores = p->stores;
	p->rec.n_stores = 2;
	p->rec.target_replicas = 2;
	p->rec.seq = seq;
	p->rec.state = strcmp(topic, "photo.deleted") == 0 ?
	    HS__PHOTO_STATE__PHOTO_DELETED :
	    HS__PHOTO_STATE__PHOTO_ACTIVE;
	p->ev.topic = (char *)topic;
	p->ev.epoch = UINT64_MAX / 2; /* no leader's epoch is newer */
	p->ev.body_case = HS__EVENT__BODY_PHOTO;
	p->ev.photo = &p->rec;
}

/* Sends ev as sealed by id's principal; from, when not NULL, replaces the
 * claimed publisher and nomac drops every MAC. 0 or -1. */
static int
send_as(rt_ident *id, Hs__Event *ev, const char *from, int nomac)
{
	rt_sealer *s;
	nng_msg *m;
	if (rt_sealer_new(&s, id) != 0)
		return -1;
	int rv = rt_seal_frame(s, ev, &m);
	rt_sealer_free(s);
	if (rv != 0)
		return -1;
	uint8_t *b = nng_msg_body(m);
	size_t tlen = strlen((char *)b) + 1;
	Hs__SealedEvent *se = hs__sealed_event__unpack(NULL,
	    nng_msg_len(m) - tlen, b + tlen);
	char *claimed = se->from;
	size_t nseals = se->n_seals;
	if (from != NULL)
		se->from = (char *)from;
	if (nomac)
		se->n_seals = 0;
	nng_msg_chop(m, nng_msg_len(m) - tlen);
	uint8_t *out = malloc(hs__sealed_event__get_packed_size(se));
	size_t n = hs__sealed_event__pack(se, out);
	se->from = claimed; /* what unpack made goes back to be freed */
	se->n_seals = nseals;
	hs__sealed_event__free_unpacked(se, NULL);
	rv = nng_msg_append(m, out, n) == 0 && nng_sendmsg(feed, m, 0) == 0 ?
	    0 :
	    -1;
	free(out);
	if (rv != 0)
		nng_msg_free(m);
	return rv;
}

/* A genuine photo.registered from the directory for a photo no one
 * uploaded (key, cookie 5), at change-log seq. */
static void
send_genuine(uint64_t key, uint64_t seq)
{
	struct photo_ev p;
	photo_ev(&p, "photo.registered", key, 5, seq);
	p.ev.source = (char *)"test-directory";
	p.ev.seq = ++genuine_seq;
	send_as(as_dir, &p.ev, NULL, 0);
}

static int
follower(void)
{
	int l = test_cluster_leader(&tc);
	return l < 0 ? -1 : (l + 1) % tc.ndirs;
}

/* Publishes a genuine registration of key at seq until the follower f has
 * it: then it listens to the test's feed. */
static int
joined(int f, uint64_t key, uint64_t seq)
{
	send_genuine(key, seq);
	return found(f, key, 5);
}

static void
test_forged_events_on_a_followers_feed_are_dropped(void)
{
	hs_photo_id live;
	hs_error e;
	uint64_t applied = 0;
	uint8_t *b = test_bytes(100, 77);
	CHECK_STATUS(hs_upload(cl, b, 100, 0, 30000, &live, &e), HS_OK,
	    e.message);
	free(b);
	int f = follower();
	CHECK(f >= 0);
	CHECK(CHECK_WAIT_UNTIL(found(f, live.key, live.cookie), 5000));
	CHECK_EQ(lookup(f, live.key, live.cookie, &applied), HS__CODE__OK);
	/* Key 1<<60 at applied + 1: once found, the feed is joined. */
	CHECK(CHECK_WAIT_UNTIL(joined(f, 1ULL << 60, applied + 1), 10000));
	uint64_t next = applied + 2;
	/* Each forgery deletes the live photo at the next seq, which a
	 * follower that believed it would apply, and then skip the genuine
	 * registration of the same seq behind them. */
	struct photo_ev del;
	photo_ev(&del, "photo.deleted", live.key, live.cookie, next);
	del.ev.source = (char *)"forger";
	del.ev.seq = ++forged_seq;
	CHECK_EQ(send_as(as_store, &del.ev, NULL, 0), 0);
	del.ev.seq = ++forged_seq;
	CHECK_EQ(send_as(as_store, &del.ev, RT_DIRECTORY_PRINCIPAL, 0), 0);
	del.ev.seq = ++forged_seq;
	CHECK_EQ(send_as(as_dir, &del.ev, NULL, 1), 0);
	send_genuine((1ULL << 60) + 1, next);
	CHECK(CHECK_WAIT_UNTIL(found(f, (1ULL << 60) + 1, 5) ||
		!found(f, live.key, live.cookie),
	    5000));
	CHECK(found(f, live.key, live.cookie));
	CHECK(found(f, (1ULL << 60) + 1, 5));
}

/* 1 once the tap output file out shows a photo.registered. */
static int
tap_saw_photo(const char *out, char *buf, size_t len)
{
	test_read_file(out, buf, len, 0);
	return strstr(buf, "photo.registered") != NULL;
}

static int
start_tap(struct test_proc *p, const char *name, const char *cluster, char *out,
    size_t outlen)
{
	char *argv[] = { hs_bin, "--cluster", (char *)cluster, "tap", "--topic",
		"photo.", NULL };
	snprintf(out, outlen, "%s/%s.out", tc.dir, name);
	struct test_proc_opts o = { .out = out };
	return test_proc_start_opts(p, name, tc.dir, argv, &o);
}

/* The cluster file with the client's credential instead of the admin's. */
static int
client_cluster_file(char *path, size_t len)
{
	char text[4096], key[700];
	test_read_file(tc.cluster_file, text, sizeof(text), 0);
	test_identity(key, sizeof(key), tc.keyfile, "client");
	snprintf(path, len, "%s/cluster.client", tc.dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(f, "%s\n",
		    strncmp(line, "key_file", 8) == 0 ? "" : line);
	fprintf(f, "key_file = %s\n", key);
	return fclose(f);
}

static void
test_tap_shows_cookies_to_the_admin_only(void)
{
	char client_file[700], aout[700], cout[700];
	static char abuf[65536], cbuf[65536];
	char hex[HS_ID_HEX_LEN + 1], cookie[9];
	struct test_proc admin, client;
	CHECK_EQ(client_cluster_file(client_file, sizeof(client_file)), 0);
	CHECK_EQ(start_tap(&admin, "tap-admin", tc.cluster_file, aout,
		     sizeof(aout)),
	    0);
	CHECK_EQ(start_tap(&client, "tap-client", client_file, cout,
		     sizeof(cout)),
	    0);
	/* Upload until both taps saw one (they may join after the first). */
	int seen = 0;
	hs_photo_id id;
	for (int round = 0; round < 20 && !seen; round++) {
		uint8_t *b = test_bytes(100, 5000 + (uint64_t)round);
		hs_error e;
		hs_status st = hs_upload(cl, b, 100, 0, 30000, &id, &e);
		free(b);
		CHECK_STATUS(st, HS_OK, e.message);
		hs_id_format(id, hex);
		seen = CHECK_WAIT_UNTIL(tap_saw_photo(aout, abuf,
					    sizeof(abuf)) &&
			strstr(abuf, hex) &&
			tap_saw_photo(cout, cbuf, sizeof(cbuf)),
		    1000);
	}
	test_proc_kill(&admin, SIGINT);
	test_proc_kill(&client, SIGINT);
	test_proc_free(&admin);
	test_proc_free(&client);
	CHECK(seen);
	CHECK(strstr(abuf, "\"authenticated\":true") != NULL);
	CHECK(strstr(cbuf, "\"sealed\":true") != NULL);
	CHECK(strstr(cbuf, "\"photo\"") == NULL);
	snprintf(cookie, sizeof(cookie), "%s", hex + 16);
	CHECK(strstr(cbuf, cookie) == NULL);
	if (strstr(cbuf, "\"photo\"") != NULL)
		fprintf(stderr, "client tap:\n%s\n", cbuf);
}

static int
load_idents(void)
{
	char path[700], err[256];
	test_identity(path, sizeof(path), tc.keyfile, RT_DIRECTORY_PRINCIPAL);
	if (rt_ident_load(&as_dir, path, NULL, err, sizeof(err)) != 0)
		return fprintf(stderr, "%s\n", err), -1;
	test_identity(path, sizeof(path), tc.keyfile, "store-1");
	if (rt_ident_load(&as_store, path, NULL, err, sizeof(err)) != 0)
		return fprintf(stderr, "%s\n", err), -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct check_case cases[] = {
		{ "tap shows cookies to the admin only",
		    test_tap_shows_cookies_to_the_admin_only },
		/* Last: it leaves made-up records in the follower's memory. */
		{ "forged events on a follower's feed are dropped",
		    test_forged_events_on_a_followers_feed_are_dropped },
		{ NULL, NULL },
	};
	char url[64], args[128];
	rt_log_init("feed_test", 'T');
	test_runfile(hs_bin, sizeof(hs_bin), "client/hs");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", test_free_port());
	snprintf(args, sizeof(args), "--test-feed=%s", url);
	struct test_cluster_opts o = { .ndirs = 2,
		.nstores = 3,
		.dir_args = args };
	if (nng_pub0_open(&feed) != 0 || nng_listen(feed, url, NULL, 0) != 0) {
		fprintf(stderr, "cannot publish on %s\n", url);
		return 1;
	}
	if (test_cluster_up(&tc, &o, &cl) != 0)
		return 1;
	if (load_idents() != 0) {
		test_hs_close(cl);
		test_cluster_stop(&tc);
		return 1;
	}
	int rc = test_cluster_run(&tc, cl, cases, argc, argv);
	nng_close(feed);
	return rc;
}
