/* Many puts, one commit point (see engine_batch.h): append all, then wait
 * for each appended needle; the first wait's fdatasync covers the rest,
 * whose waits then find them synced. */
#include "engine_batch.h"

#include <stdlib.h>

#include "engine_impl.h"

void
store_engine_put_many(struct store_engine *se, const struct store_put *puts,
    size_t n, int *rc)
{
	struct se_appended *a = calloc(n ? n : 1, sizeof(*a));
	for (size_t i = 0; i < n; i++) {
		const struct store_put *p = &puts[i];
		if (a == NULL) { /* no room to batch: one at a time */
			rc[i] = store_engine_put_sha(se, p->key, p->cookie,
			    p->data, p->len, p->sha256);
			continue;
		}
		rc[i] = se_put_append(se, p->key, p->cookie, p->data, p->len,
		    p->sha256, &a[i]);
	}
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct store_put *p = &puts[i];
		if (rc[i] == 0)
			rc[i] = se_wait(se, &a[i]);
		else if (rc[i] == 1) /* live already: a resend or a conflict */
			rc[i] = se_put_existing(se, p->key, p->cookie, p->data,
			    p->len);
	}
	free(a);
}
