/* The last events this directory published (leader) or applied from the
 * leader's feed (follower), kept in memory for the status page: a small
 * ring, oldest overwritten, guarded by its own mutex so the publishing
 * and applying threads never wait on anything else. A photo is shown by
 * its key alone: the page is unauthenticated and a cookie is what lets
 * anyone read a photo (docs/security.md). */
#ifndef DIR_RECENT_H
#define DIR_RECENT_H

#include <stddef.h>
#include <stdint.h>

#include "events.pb-c.h"

#define DIR_RECENT_MAX 20

struct dir_recent_event {
	int64_t at_ms; /* the event's time (Unix ms) */
	uint64_t epoch;
	int published; /* 1: we published it; 0: applied from the leader */
	char topic[48];
	char detail[200]; /* for people, e.g. "store 3 (zone-a) DOWN" */
};

struct dir_recent;

/* NULL when out of memory. */
struct dir_recent *dir_recent_open(void);
void dir_recent_close(struct dir_recent *r);

/* Keeps a summary of ev; r may be NULL (nothing kept). */
void dir_recent_note(struct dir_recent *r, const Hs__Event *ev, int published);

/* Copies up to max events, newest first; how many. */
size_t dir_recent_list(struct dir_recent *r, struct dir_recent_event *out,
    size_t max);

#endif
