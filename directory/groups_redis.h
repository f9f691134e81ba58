/* The write-group table's Redis form: hs:groups maps a group id to its
 * stores as text ("3,1,4"); ids come from hs:group:seq. Only the leader
 * adds groups, under its lease; every directory reloads the table with the
 * store table. The Redis link is the calling thread's. */
#ifndef DIR_GROUPS_REDIS_H
#define DIR_GROUPS_REDIS_H

#include <stddef.h>

#include "groups.h"
#include "redis.h"

/* Reads hs:groups into g. 0, or -1 with err. */
int dir_groups_load(dir_groups *g, rt_redis *r, char *err, size_t errlen);

/* Leader: makes e a new group under lease (e->id set on success) and adds
 * it to g. 0; -1 with err (Redis unreachable: retry); -2 with err (fenced:
 * step down; or every id is used). */
int dir_groups_create(dir_groups *g, rt_redis *r, const char *lease,
    struct dir_group *e, char *err, size_t errlen);

#endif
