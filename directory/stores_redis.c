/* Loading and saving the store table in Redis (see stores_redis.h). */
#include "stores_redis.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "scripts.h"

int
dir_stores_load(dir_stores *s, rt_redis *r, int64_t *at_mono, char *err,
    size_t errlen)
{
	redisReply *rep = rt_redis_cmd(r, err, errlen, "HGETALL " RK_STORES);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "HGETALL %s: %s", RK_STORES,
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "odd reply");
		freeReplyObject(rep);
		return -2;
	}
	int64_t now = rt_mono_ms();
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		redisReply *v = rep->element[i + 1];
		Hs__StoreInfo *si = hs__store_info__unpack(NULL, v->len,
		    (const uint8_t *)v->str);
		if (si != NULL) {
			dir_stores_put(s, si, now);
			hs__store_info__free_unpacked(si, NULL);
		}
	}
	freeReplyObject(rep);
	*at_mono = now;
	return 0;
}

void
dir_stores_save(rt_redis *r, const char *lease, const struct dir_store *e)
{
	Hs__StoreInfo pb;
	char id[16], err[256];
	uint8_t buf[1024];
	dir_store_to_pb(e, &pb);
	size_t len = hs__store_info__get_packed_size(&pb);
	if (len > sizeof(buf))
		return;
	hs__store_info__pack(&pb, buf);
	snprintf(id, sizeof(id), "%" PRIu32, e->id);
	const char *argv[] = { RK_LEADER, RK_STORES, lease, id,
		(const char *)buf };
	size_t lens[] = { strlen(RK_LEADER), strlen(RK_STORES), strlen(lease),
		strlen(id), len };
	redisReply *rep = rt_redis_eval(r, &dir_script_put_store, 2, 5, argv,
	    lens, err, sizeof(err));
	if (rep == NULL)
		rt_log_debug("cannot save store %s: %s", id, err);
	else
		freeReplyObject(rep);
}
