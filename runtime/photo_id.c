/* Photo id text form (see photo_id.h). */
#include "photo_id.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "redis_keys.h"

static const char what[] = "a photo id is 24 hex digits (16 for the key, "
			   "8 for the cookie) as printed by `hs upload`, e.g. "
			   "00000000000004d2cafef00d";

void
photo_id_format(uint64_t key, uint32_t cookie, char out[PHOTO_ID_HEX_LEN + 1])
{
	snprintf(out, PHOTO_ID_HEX_LEN + 1, "%016" PRIx64 "%08" PRIx32, key,
	    cookie);
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

int
photo_id_parse(const char *s, uint64_t *key, uint32_t *cookie, char *why,
    size_t whylen)
{
	size_t n = s ? strlen(s) : 0;
	uint64_t k = 0;
	uint32_t c = 0;
	if (s == NULL || n != PHOTO_ID_HEX_LEN) {
		if (why != NULL)
			snprintf(why, whylen,
			    "'%.64s%s' is not a photo id (%zu "
			    "characters): %s",
			    s ? s : "", n > 64 ? "..." : "", n, what);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int v = hexval(s[i]);
		if (v < 0) {
			if (why != NULL)
				snprintf(why, whylen,
				    "'%s' is not a photo id "
				    "(character %zu is not a hex digit): %s",
				    s, i + 1, what);
			return -1;
		}
		if (i < 16)
			k = k << 4 | (uint64_t)v;
		else
			c = c << 4 | (uint32_t)v;
	}
	*key = k;
	*cookie = c;
	return 0;
}

void
photo_cache_key(uint64_t key, uint32_t cookie,
    char out[PHOTO_CACHE_KEY_LEN + 1])
{
	memcpy(out, RK_CACHE_PREFIX, sizeof(RK_CACHE_PREFIX) - 1);
	photo_id_format(key, cookie, out + 9);
}

int
photo_path_parse(const char *path, uint64_t *key, uint32_t *cookie,
    char ext[PHOTO_EXT_MAX], char *why, size_t whylen)
{
	char hex[PHOTO_ID_HEX_LEN + 1];
	const char *p = path[0] == '/' ? path + 1 : path;
	size_t n = strcspn(p, "."), el = strlen(p + n);
	int ext_ok = path[0] == '/' && el < PHOTO_EXT_MAX && el != 1;
	for (size_t i = 1; ext_ok && i < el; i++)
		ext_ok = (p[n + i] >= '0' && p[n + i] <= '9') ||
		    ((p[n + i] | 0x20) >= 'a' && (p[n + i] | 0x20) <= 'z');
	if (n != PHOTO_ID_HEX_LEN || !ext_ok) {
		snprintf(why, whylen,
		    "'%.60s' is not a photo's path: that is /<24 hex digits "
		    "of its id>, with an extension such as .jpg or none",
		    path);
		return -1;
	}
	memcpy(hex, p, n);
	hex[n] = '\0';
	if (photo_id_parse(hex, key, cookie, why, whylen) != 0)
		return -1;
	if (ext != NULL)
		memcpy(ext, p + n, el + 1);
	return 0;
}
