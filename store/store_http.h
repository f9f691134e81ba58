/* stored's web face: the HTTP routes it answers (docs/web.md). */
#ifndef STORE_HTTP_H
#define STORE_HTTP_H

#include <stddef.h>

#include "store.h"

/* Serves --http when set (nothing otherwise). 0, or -1 with err. */
int store_http_start(struct store_service *svc, char *err, size_t errlen);
/* Stops it; before the engine closes (a GET reads it). */
void store_http_stop(struct store_service *svc);

#endif
