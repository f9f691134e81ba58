/* A directory's web face: the HTTP routes it answers (docs/web.md). */
#ifndef DIR_HTTP_H
#define DIR_HTTP_H

#include <stddef.h>

#include "dir.h"

/* Serves --http when set (nothing otherwise). 0, or -1 logged. */
int dir_http_start(struct dir *d);
/* Stops it; before what its handlers read is freed. */
void dir_http_stop(struct dir *d);

#endif
