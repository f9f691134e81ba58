/* A growable byte buffer for text made piece by piece (metrics pages,
 * status JSON): appends never fail loudly; a failed allocation marks the
 * buffer failed and later appends do nothing, so a caller checks once. */
#ifndef RT_SBUF_H
#define RT_SBUF_H

#include <stddef.h>

struct rt_sbuf {
	char *buf; /* owned: rt_sbuf_free, or taken by the caller; NUL-ended */
	size_t len, cap;
	int failed; /* an allocation failed: the contents are incomplete */
};

void rt_sbuf_append(struct rt_sbuf *b, const void *p, size_t n);
void rt_sbuf_printf(struct rt_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rt_sbuf_free(struct rt_sbuf *b);

#endif
