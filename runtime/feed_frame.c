/* The event frame's fixed MAC layout and its ciphers (see feed_frame.h):
 * what the sealing (feed_seal.c) and the opening (feed_open.c) side must
 * compute alike. */
#include "feed_frame.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <string.h>

static void
put_u32(uint8_t *p, size_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The iovecs of f; lens holds the length prefixes. Returns their count. */
static int
frame_iov(const struct frame_fields *f, int with_body, struct iovec *iov,
    uint8_t lens[6][4])
{
	const void *p[6] = { f->topic, f->from, f->session.data, f->nonce.data,
		f->body.data, f->event.data };
	size_t n[6] = { strlen(f->topic), strlen(f->from), f->session.len,
		f->nonce.len, f->body.len, f->event.len };
	int k = 0;
	iov[k++] = (struct iovec){ (void *)"hs-evt-1", 8 };
	for (int i = 0; i < 6; i++) {
		if (i == 4 && !with_body)
			continue;
		put_u32(lens[i], n[i]);
		iov[k++] = (struct iovec){ lens[i], 4 };
		iov[k++] = (struct iovec){ (void *)p[i], n[i] };
	}
	return k;
}

void
feed_frame_mac(const rt_key *key, const struct frame_fields *f,
    uint8_t mac[RT_MAC_LEN])
{
	struct iovec iov[13];
	uint8_t lens[6][4];
	rt_hmacv(key, iov, frame_iov(f, 1, iov, lens), mac);
}

int
feed_key_derive(const rt_key *secret, const uint8_t *session,
    uint8_t key[FEED_KEY_LEN])
{
	return rt_hkdf(secret->bytes, secret->len, "hs-feed-1", session,
	    FEED_SESSION_LEN, key, FEED_KEY_LEN);
}

EVP_CIPHER_CTX *
feed_gcm_new(int enc, const uint8_t key[FEED_KEY_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (c != NULL &&
	    EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, NULL, enc) !=
		1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	return c;
}

int
feed_gcm(int enc, EVP_CIPHER_CTX *c, const struct frame_fields *f,
    const uint8_t *in, size_t n, uint8_t *out)
{
	struct iovec iov[13];
	uint8_t lens[6][4];
	int k = frame_iov(f, 0, iov, lens), len, ok;
	if (!enc && n < FEED_TAG_LEN)
		return -1;
	size_t dlen = enc ? n : n - FEED_TAG_LEN;
	ok = EVP_CipherInit_ex(c, NULL, NULL, NULL, f->nonce.data, enc) == 1;
	for (int i = 0; ok && i < k; i++)
		ok = EVP_CipherUpdate(c, NULL, &len, iov[i].iov_base,
			 (int)iov[i].iov_len) == 1;
	ok = ok && EVP_CipherUpdate(c, out, &len, in, (int)dlen) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, FEED_TAG_LEN,
			 (void *)(in + dlen)) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + dlen, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, FEED_TAG_LEN,
			 out + dlen) == 1;
	return ok ? 0 : -1;
}
