/* Photo id text form (see photo_id.h). */
#include "photo_id.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
hs_id_format(uint64_t key, uint32_t cookie, char out[HS_ID_HEX_LEN + 1])
{
	snprintf(out, HS_ID_HEX_LEN + 1, "%016" PRIx64 "%08" PRIx32, key, cookie);
}

int
hs_id_parse(const char *s, uint64_t *key, uint32_t *cookie, char *why,
    size_t whylen)
{
	size_t n = s ? strlen(s) : 0;
	for (size_t i = 0; i < n && n == HS_ID_HEX_LEN; i++) {
		if (!isxdigit((unsigned char)s[i])) {
			if (why)
				snprintf(why, whylen, "'%s' is not a photo id: "
				    "character %zu is not a hex digit", s, i + 1);
			return -1;
		}
	}
	if (n != HS_ID_HEX_LEN) {
		if (why)
			snprintf(why, whylen, "'%.40s' is not a photo id: ids are "
			    "%d hex digits, as printed by hs upload",
			    s ? s : "", HS_ID_HEX_LEN);
		return -1;
	}
	char k[17], c[9];
	memcpy(k, s, 16);
	k[16] = '\0';
	memcpy(c, s + 16, 8);
	c[8] = '\0';
	sscanf(k, "%" SCNx64, key);
	sscanf(c, "%" SCNx32, cookie);
	return 0;
}

void
hs_cache_key(uint64_t key, uint32_t cookie, char out[HS_CACHE_KEY_LEN + 1])
{
	memcpy(out, "hs:cache:", 9);
	hs_id_format(key, cookie, out + 9);
}
