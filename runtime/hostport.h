/* "HOST:PORT" split at its last colon, the one parser of that grammar
 * (the HTTP server's --http, Redis addresses, a directory's tcp:// URL). */
#ifndef RT_HOSTPORT_H
#define RT_HOSTPORT_H

#include <stddef.h>

/* Copies HOST into host (NUL-ended) and PORT into *port. 0, or -1 when
 * there is no colon, HOST is empty or longer than hostlen - 1, or PORT is
 * not a decimal number in 0..65535 (the caller says what it expected). */
int rt_hostport_split(const char *s, char *host, size_t hostlen, int *port);

#endif
