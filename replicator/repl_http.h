/* The replicator's web face: the HTTP routes it answers (docs/web.md). */
#ifndef REPL_HTTP_H
#define REPL_HTTP_H

#include "repl.h"

/* Serves --http when set (nothing otherwise). 0, or -1 logged. */
int repl_http_start(struct repl *r);
/* Stops it; before what its handlers read is freed. */
void repl_http_stop(struct repl *r);

#endif
