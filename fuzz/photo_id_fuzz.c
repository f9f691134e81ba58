/* Fuzz target: photo ids as people, URLs and caches give them
 * (runtime/photo_id.c and libhs's hs_id_parse): what parses must format
 * back to the same id, lowercase. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hs.h"
#include "photo_id.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1);
	memcpy(text, data, len);
	text[len] = '\0';
	uint64_t key = 0;
	uint32_t cookie = 0;
	char why[384], out[PHOTO_ID_HEX_LEN + 1];
	int ok = photo_id_parse(text, &key, &cookie, why, sizeof(why)) == 0;
	if (ok) {
		photo_id_format(key, cookie, out);
		if (strlen(text) != PHOTO_ID_HEX_LEN ||
		    strcasecmp(out, text) != 0)
			abort();
		char cache_key[PHOTO_CACHE_KEY_LEN + 1];
		photo_cache_key(key, cookie, cache_key);
	}
	hs_photo_id id;
	hs_error err;
	if ((hs_id_parse(text, &id, &err) == HS_OK) != ok)
		abort(); /* libhs and the services disagree on an id */
	if (ok && (id.key != key || id.cookie != cookie))
		abort();
	free(text);
	return 0;
}
