/* Store-side deletes (see tombstones.h). Deletes go out asynchronously so a
 * slow store never delays the housekeeping thread; their callbacks only
 * record which members are done, and the next tick removes those from
 * Redis (the link belongs to the housekeeping thread). */
#include "tombstones.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "photo_id.h"
#include "scripts.h"
#include "store_deletes.h"

#define BATCH 64
#define MEMBER_MAX 48

struct dir_tombstones {
	/* Its mu guards done and ndone too. */
	struct dir_store_deletes out;
	char done[BATCH * 4][MEMBER_MAX]; /* answered OK, to SREM */
	size_t ndone;
	int64_t next_round;
};

struct one_delete {
	struct dir_tombstones *t;
	char member[MEMBER_MAX];
};

struct dir_tombstones *
dir_tombstones_open(void)
{
	struct dir_tombstones *t = calloc(1, sizeof(*t));
	if (t != NULL)
		dir_store_deletes_init(&t->out);
	return t;
}

void
dir_tombstones_close(struct dir_tombstones *t)
{
	if (t != NULL && dir_store_deletes_close(&t->out, "store deletes") == 0)
		free(t);
}

static void
delete_done(void *arg, const struct rpc_error *err)
{
	struct one_delete *o = arg;
	struct dir_tombstones *t = o->t;
	pthread_mutex_lock(&t->out.mu);
	if (err->code == HS_OK && t->ndone < BATCH * 4)
		memcpy(t->done[t->ndone++], o->member, MEMBER_MAX);
	else if (err->code != HS_OK)
		rt_log_debug("tombstone %s not delivered yet: %s", o->member,
		    err->message);
	pthread_mutex_unlock(&t->out.mu);
	free(o);
}

/* Sends the Delete for one member "<hex>/<store>"; 0 if it went out. */
static int
send_one(struct dir_tombstones *t, struct dir *d, const char *member)
{
	char hex[PHOTO_ID_HEX_LEN + 1];
	const char *slash = strchr(member, '/');
	uint64_t key;
	uint32_t cookie;
	if (slash == NULL || slash - member != PHOTO_ID_HEX_LEN ||
	    strlen(member) >= MEMBER_MAX)
		return -1;
	memcpy(hex, member, PHOTO_ID_HEX_LEN);
	hex[PHOTO_ID_HEX_LEN] = '\0';
	struct one_delete *o = malloc(sizeof(*o));
	if (o == NULL || photo_id_parse(hex, &key, &cookie, NULL, 0) != 0) {
		free(o);
		return -1;
	}
	o->t = t;
	snprintf(o->member, sizeof(o->member), "%s", member);
	if (dir_store_delete(&t->out, d, (uint32_t)strtoul(slash + 1, NULL, 10),
		key, cookie, 2000, delete_done, o) != 0) {
		free(o);
		return -1;
	}
	return 0;
}

/* Removes the members whose Deletes were answered OK. */
static void
forget_done(struct dir_tombstones *t, rt_redis *r)
{
	char done[BATCH * 4][MEMBER_MAX], err[256];
	size_t n;
	pthread_mutex_lock(&t->out.mu);
	n = t->ndone;
	memcpy(done, t->done, n * MEMBER_MAX);
	t->ndone = 0;
	pthread_mutex_unlock(&t->out.mu);
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = rt_redis_cmd(r, err, sizeof(err),
		    "SREM %s %s", RK_TOMBSTONES, done[i]);
		if (rep != NULL)
			freeReplyObject(rep);
	}
}

void
dir_tombstones_tick(struct dir_tombstones *t, struct dir *d, rt_redis *r)
{
	char err[256];
	forget_done(t, r);
	int64_t now = rt_mono_ms();
	if (now < t->next_round || !dir_is_leader(d, NULL, 0, NULL))
		return;
	t->next_round = now + 1000;
	if (dir_store_deletes_out(&t->out) > 0) /* last round's are still out */
		return;
	redisReply *rep = rt_redis_cmd(r, err, sizeof(err), "SRANDMEMBER %s %d",
	    RK_TOMBSTONES, BATCH);
	if (rep == NULL)
		return;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
	     i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING)
			send_one(t, d, rep->element[i]->str);
	freeReplyObject(rep);
}

void
dir_tombstone_members(const Hs__PhotoRecord *rec, char members[][48],
    struct rt_redis_args *args)
{
	char hex[PHOTO_ID_HEX_LEN + 1];
	photo_id_format(rec->id->key, rec->id->cookie, hex);
	for (size_t i = 0; i < rec->n_stores; i++) {
		snprintf(members[i], 48, "%s/%" PRIu32, hex, rec->stores[i]);
		rt_redis_argz(args, members[i]);
	}
}
