/* Write groups (DESIGN.md, "Data paths (v2)"): Haystack's logical volumes.
 * A group is a set of distinct stores that hold the same photos; a grant's
 * ids name their group in clear, so a reader finds a replica without a
 * Lookup. The leader makes a group the first time Allocate places a
 * grant on its set of stores (placement.h), so a store ends up in a few;
 * a group takes writes only while all its stores are UP. The table lives
 * in Redis (groups_redis.h); every directory keeps a copy. Thread safe
 * (one mutex). */
#ifndef DIR_GROUPS_H
#define DIR_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

#define DIR_MAX_GROUPS 4096

typedef struct dir_groups dir_groups;

struct dir_group {
	uint32_t id; /* 1..RT_GRANT_GROUP_MAX */
	uint32_t stores[DIR_MAX_REPLICAS];
	size_t n;
};

int dir_groups_open(dir_groups **out);
void dir_groups_close(dir_groups *g);

/* Adds or replaces group e. 0, or -1 if the table is full. */
int dir_groups_put(dir_groups *g, const struct dir_group *e);

/* The id of the group of exactly stores[0..n) (any order), or 0. */
uint32_t dir_groups_find(dir_groups *g, const uint32_t *stores, size_t n);

/* The groups of n stores that hold store: how many there are, the first
 * max of them copied to out. */
size_t dir_groups_holding(dir_groups *g, uint32_t store, size_t n,
    struct dir_group *out, size_t max);

/* 0 and a copy of group id, or -1 if unknown. */
int dir_groups_get(dir_groups *g, uint32_t id, struct dir_group *out);

/* Copies up to max groups to out; returns how many. */
size_t dir_groups_list(dir_groups *g, struct dir_group *out, size_t max);

/* A group's stores as text ("3,1,4"), its Redis form; out holds
 * DIR_MAX_REPLICAS * 11 bytes. */
void dir_group_format(const struct dir_group *e, char *out, size_t len);

/* Parses dir_group_format's text into e (id set by the caller). 0, or -1
 * when malformed. */
int dir_group_parse(const char *s, size_t len, struct dir_group *e);

#endif
