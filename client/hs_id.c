/* Photo ids as people and scripts see them (24 hex digits: 16 for the key,
 * 8 for the cookie), their wire form, and the SHA-256 every upload and
 * download is checked against. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hs_internal.h"
#include "photo_id.h"

void
hs_id_format(hs_photo_id id, char out[HS_ID_HEX_LEN + 1])
{
	photo_id_format(id.key, id.cookie, out);
}

hs_status
hs_id_parse(const char *text, hs_photo_id *id, hs_error *err)
{
	char why[384];
	uint64_t key;
	uint32_t cookie;
	if (text == NULL)
		return hsi_err(err, HS_INVALID_ARGUMENT, "no photo id given");
	if (photo_id_parse(text, &key, &cookie, why, sizeof(why)) != 0)
		return hsi_err(err, HS_INVALID_ARGUMENT, "%s", why);
	id->key = key;
	id->cookie = cookie;
	return HS_OK;
}

void
hsi_id_to_pb(hs_photo_id id, Hs__PhotoId *pb)
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
