/* hs_url: a photo's web URL (hs.h), the web cache's when the cluster file
 * names one, else the store a directory's redirect would name first. */
#include <stdio.h>
#include <string.h>

#include "hs_internal.h"
#include "replica_order.h"

/* The http_url of the first healthy replica of x in the photo's order
 * (replica_order.h, as the directory's redirect), or NULL. The Lookup
 * lists UP and READONLY replicas only (include_down is off). */
static const char *
first_store(const Hs__LookupResult *x, uint64_t key)
{
	uint32_t ids[HS_MAX_REPLICAS];
	size_t n = 0;
	for (size_t i = 0; i < x->n_replicas && n < HS_MAX_REPLICAS; i++)
		if (x->replicas[i]->http_url[0] != '\0' &&
		    (x->replicas[i]->state == HS__STORE_STATE__STORE_UP ||
			x->replicas[i]->state ==
			    HS__STORE_STATE__STORE_READONLY))
			ids[n++] = x->replicas[i]->store_id;
	if (n == 0)
		return NULL;
	rt_replica_order(key, ids, n);
	for (size_t i = 0; i < x->n_replicas; i++)
		if (x->replicas[i]->store_id == ids[0])
			return x->replicas[i]->http_url;
	return NULL;
}

hs_status
hs_url(hs_client *c, hs_photo_id id, int64_t timeout_ms, char *buf, size_t len,
    hs_error *err)
{
	Hs__LookupReply *r;
	Hs__LookupResult *x;
	char hex[HS_ID_HEX_LEN + 1], base[HS_ADDR_MAX];
	hs_id_format(id, hex);
	hs_status st = hsi_lookup(c, id, 0, hsi_deadline(timeout_ms), &r, &x,
	    err);
	if (st != HS_OK)
		return st;
	const char *b = c->cfg.web[0] != '\0' ? c->cfg.web :
						first_store(x, id.key);
	snprintf(base, sizeof(base), "%s", b != NULL ? b : "");
	hs__lookup_reply__free_unpacked(r, NULL);
	if (base[0] == '\0')
		return hsi_err(err, HS_UNAVAILABLE,
		    "photo %s has no healthy replica on a store with a web "
		    "face (stored --http) now, and the cluster file names no "
		    "web cache (`web = http://HOST:PORT`); retry shortly",
		    hex);
	size_t bl = strlen(base);
	if (base[bl - 1] == '/')
		base[bl - 1] = '\0';
	int n = snprintf(buf, len, "%s/%s", base, hex);
	if (n < 0 || (size_t)n >= len)
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "the URL of photo %s needs %d bytes; the buffer has %zu",
		    hex, n + 1, len);
	return HS_OK;
}
