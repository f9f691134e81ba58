/* Loading and creating write groups in Redis (see groups_redis.h). */
#include "groups_redis.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"
#include "log.h"
#include "scripts.h"

int
dir_groups_load(dir_groups *g, rt_redis *r, char *err, size_t errlen)
{
	redisReply *rep = rt_redis_cmd(r, err, errlen, "HGETALL " RK_GROUPS);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "HGETALL %s: %s", RK_GROUPS,
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "odd reply");
		freeReplyObject(rep);
		return -1;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		struct dir_group e;
		redisReply *k = rep->element[i], *v = rep->element[i + 1];
		unsigned long id = strtoul(k->str, NULL, 10);
		if (id == 0 || id > RT_GRANT_GROUP_MAX ||
		    dir_group_parse(v->str, v->len, &e) != 0) {
			rt_log_warn("write group %s in %s is malformed (%s); "
				    "ignored",
			    k->str, RK_GROUPS, v->str);
			continue;
		}
		e.id = (uint32_t)id;
		if (dir_groups_put(g, &e) != 0)
			rt_log_warn("more than %d write groups; group %lu "
				    "ignored",
			    DIR_MAX_GROUPS, id);
	}
	freeReplyObject(rep);
	return 0;
}

int
dir_groups_create(dir_groups *g, rt_redis *r, const char *lease,
    struct dir_group *e, char *err, size_t errlen)
{
	char text[DIR_MAX_REPLICAS * 11 + 1], max[16];
	dir_group_format(e, text, sizeof(text));
	snprintf(max, sizeof(max), "%u", RT_GRANT_GROUP_MAX);
	const char *argv[] = { RK_LEADER, RK_GROUPS, RK_GROUP_SEQ, lease, text,
		max };
	size_t lens[] = { strlen(RK_LEADER), strlen(RK_GROUPS),
		strlen(RK_GROUP_SEQ), strlen(lease), strlen(text),
		strlen(max) };
	redisReply *rep = rt_redis_eval(r, &dir_script_new_group, 3, 6, argv,
	    lens, err, errlen);
	if (rep == NULL)
		return -1;
	int rc = 0;
	if (rep->type == REDIS_REPLY_INTEGER) {
		e->id = (uint32_t)rep->integer;
		if (dir_groups_put(g, e) != 0)
			rt_log_warn("write group %" PRIu32 " made, but this "
				    "directory's table is full",
			    e->id);
	} else {
		snprintf(err, errlen, "making write group %s: %s", text,
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "odd reply");
		rc = -2;
	}
	freeReplyObject(rep);
	return rc;
}
