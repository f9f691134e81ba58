/* Photo ids as people and scripts see them (24 hex digits: 16 for the key,
 * 8 for the cookie), their wire form, and the SHA-256 every upload and
 * download is checked against. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hs_internal.h"

void
hs_id_format(hs_photo_id id, char out[HS_ID_HEX_LEN + 1])
{
	snprintf(out, HS_ID_HEX_LEN + 1, "%016llx%08lx",
	    (unsigned long long)id.key, (unsigned long)id.cookie);
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

hs_status
hs_id_parse(const char *text, hs_photo_id *id, hs_error *err)
{
	static const char what[] = "a photo id is 24 hex digits (16 for the "
	    "key, 8 for the cookie) as printed by `hs upload`, e.g. "
	    "00000000000004d2cafef00d";
	if (text == NULL)
		return hs_err(err, HS_INVALID_ARGUMENT, "no photo id given: %s",
		    what);
	size_t n = strlen(text);
	if (n != HS_ID_HEX_LEN)
		return hs_err(err, HS_INVALID_ARGUMENT,
		    "'%.64s%s' is not a photo id (%zu characters): %s", text,
		    n > 64 ? "..." : "", n, what);
	uint64_t key = 0;
	uint32_t cookie = 0;
	for (size_t i = 0; i < n; i++) {
		int v = hexval(text[i]);
		if (v < 0)
			return hs_err(err, HS_INVALID_ARGUMENT,
			    "'%s' is not a photo id (character %zu is not a hex "
			    "digit): %s", text, i + 1, what);
		if (i < 16)
			key = key << 4 | (uint64_t)v;
		else
			cookie = cookie << 4 | (uint32_t)v;
	}
	id->key = key;
	id->cookie = cookie;
	return HS_OK;
}

void
hs_id_to_pb(hs_photo_id id, Hs__PhotoId *pb)
{
	hs__photo_id__init(pb);
	pb->key = id.key;
	pb->cookie = id.cookie;
}

void
hs_sha256(const void *data, size_t len, uint8_t out[HS_SHA256_LEN])
{
	unsigned int n = 0;
	/* EVP_Digest accepts NULL data only with len 0; keep it well-defined. */
	static const uint8_t empty;
	EVP_Digest(len ? data : &empty, len, out, &n, EVP_sha256(), NULL);
}
