/* Identities, the roster and pairwise keys (see ident.h). */
#include "ident.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct peer {
	struct rt_principal p;
	int keyed; /* key below derived */
	rt_key key;
};

struct rt_ident {
	struct rt_principal self;
	EVP_PKEY *priv;
	rt_key secret;	    /* len 0: none */
	pthread_mutex_t mu; /* guards everything below */
	struct peer *roster;
	size_t nroster;
	struct peer *dyn; /* sorted by name */
	size_t ndyn;
	uint64_t version;
};

static const char *const role_names[] = { "client", "admin", "store",
	"replicator", "directory" };

const char *
rt_role_name(unsigned role)
{
	for (unsigned i = 0; i < 5; i++)
		if (role == 1u << i)
			return role_names[i];
	return "none";
}

void
rt_store_principal(uint32_t store_id, char out[RT_NAME_MAX])
{
	snprintf(out, RT_NAME_MAX, "store-%u", store_id);
}

int
rt_role_parse(const char *s, unsigned *role)
{
	for (unsigned i = 0; i < 5; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*role = 1u << i;
			return 0;
		}
	return -1;
}

/* A secret file others can read is as good as published. */
static int
private_enough(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot open identity file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
		    "identity file %s may be read by others (mode %03o); it "
		    "holds a private key: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

static int
set_field(rt_ident *id, const char *k, const char *v, uint8_t priv[32])
{
	if (strcmp(k, "name") == 0)
		return snprintf(id->self.name, sizeof(id->self.name), "%s", v) <
			(int)sizeof(id->self.name) ?
		    0 :
		    -1;
	if (strcmp(k, "role") == 0)
		return rt_role_parse(v, &id->self.role);
	if (strcmp(k, "key") == 0)
		return rt_hex_decode(v, priv, 32);
	if (strcmp(k, "secret") == 0) {
		id->secret.len = 32;
		return rt_hex_decode(v, id->secret.bytes, 32);
	}
	return 0; /* unknown keys are for newer versions */
}

static int
read_identity(rt_ident *id, const char *path, char *err, size_t errlen)
{
	if (private_enough(path, err, errlen) != 0)
		return -1;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open identity file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	uint8_t priv[32] = { 0 };
	char line[512], k[32], v[256];
	int lineno = 0, bad = 0;
	while (!bad && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || sscanf(line, "%31s = %255s", k, v) != 2)
			continue;
		bad = set_field(id, k, v, priv) != 0 ? lineno : 0;
	}
	fclose(f);
	if (!bad && id->self.name[0] != '\0' && id->self.role != 0)
		id->priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
		    priv, 32);
	size_t plen = RT_PUB_LEN;
	if (bad || id->priv == NULL ||
	    EVP_PKEY_get_raw_public_key(id->priv, id->self.pub, &plen) != 1) {
		snprintf(err, errlen,
		    "identity file %s is not valid (line %d): it needs `name`, "
		    "`role` and a 64-hex-digit `key`; make one with "
		    "bazel run //tools:keys",
		    path, bad);
		return -1;
	}
	return 0;
}

static int
read_roster(rt_ident *id, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open roster %s: %s", path,
		    strerror(errno));
		return -1;
	}
	char line[512], name[RT_NAME_MAX], role[32], pub[2 * RT_PUB_LEN + 2];
	int lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		struct peer pe = { 0 };
		if (sscanf(line, "%63s %31s %65s", name, role, pub) != 3 ||
		    rt_role_parse(role, &pe.p.role) != 0 ||
		    rt_hex_decode(pub, pe.p.pub, RT_PUB_LEN) != 0) {
			snprintf(err, errlen,
			    "roster %s:%d: expected `name role public-key-hex`",
			    path, lineno);
			fclose(f);
			return -1;
		}
		snprintf(pe.p.name, sizeof(pe.p.name), "%s", name);
		struct peer *r = realloc(id->roster,
		    (id->nroster + 1) * sizeof(*r));
		if (r == NULL)
			break;
		id->roster = r;
		id->roster[id->nroster++] = pe;
	}
	fclose(f);
	return 0;
}

int
rt_ident_load(rt_ident **out, const char *key_file, const char *roster,
    char *err, size_t errlen)
{
	rt_ident *id = calloc(1, sizeof(*id));
	char path[1024];
	if (roster == NULL || roster[0] == '\0') {
		const char *slash = strrchr(key_file, '/');
		int dirlen = slash ? (int)(slash - key_file) : 1;
		snprintf(path, sizeof(path), "%.*s/roster", dirlen,
		    slash ? key_file : ".");
		roster = path;
	}
	pthread_mutex_init(&id->mu, NULL);
	if (read_identity(id, key_file, err, errlen) != 0 ||
	    read_roster(id, roster, err, errlen) != 0) {
		rt_ident_free(id);
		return -1;
	}
	*out = id;
	return 0;
}

int
rt_ident_keygen(uint8_t priv[32], uint8_t pub[RT_PUB_LEN])
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	size_t a = 32, b = RT_PUB_LEN;
	int ok = c && EVP_PKEY_keygen_init(c) == 1 &&
	    EVP_PKEY_keygen(c, &k) == 1 &&
	    EVP_PKEY_get_raw_private_key(k, priv, &a) == 1 &&
	    EVP_PKEY_get_raw_public_key(k, pub, &b) == 1;
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

int
rt_ident_ephemeral(rt_ident **out, const char *name, unsigned role)
{
	uint8_t priv[32];
	rt_ident *id = calloc(1, sizeof(*id));
	struct peer *self = calloc(1, sizeof(*self));
	if (id == NULL || self == NULL || rt_ident_keygen(priv, id->self.pub) ||
	    (id->priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
		 priv, 32)) == NULL) {
		free(id);
		free(self);
		return -1;
	}
	pthread_mutex_init(&id->mu, NULL);
	snprintf(id->self.name, sizeof(id->self.name), "%s", name);
	id->self.role = role;
	id->secret.len = 32;
	RAND_bytes(id->secret.bytes, 32);
	self->p = id->self;
	id->roster = self;
	id->nroster = 1;
	OPENSSL_cleanse(priv, sizeof(priv));
	*out = id;
	return 0;
}

int
rt_ident_load_server(rt_ident **out, const char *key_file, const char *name,
    unsigned role, rt_key *secret, char *err, size_t errlen)
{
	rt_ident *id;
	if (rt_ident_load(&id, key_file, NULL, err, errlen) != 0)
		return -1;
	if (strcmp(id->self.name, name) != 0 || id->self.role != role ||
	    id->secret.len == 0) {
		snprintf(err, errlen,
		    "identity file %s is for %s '%s'%s, but this process is "
		    "%s '%s': give it its own identity file (tools:keys)",
		    key_file, rt_role_name(id->self.role), id->self.name,
		    id->secret.len ? "" : " (no shared secret)",
		    rt_role_name(role), name);
		rt_ident_free(id);
		return -1;
	}
	*secret = id->secret;
	*out = id;
	return 0;
}

void
rt_ident_free(rt_ident *id)
{
	if (id == NULL)
		return;
	EVP_PKEY_free(id->priv);
	free(id->roster);
	free(id->dyn);
	pthread_mutex_destroy(&id->mu);
	OPENSSL_cleanse(id, sizeof(*id));
	free(id);
}

const char *
rt_ident_name(const rt_ident *id)
{
	return id->self.name;
}

unsigned
rt_ident_role(const rt_ident *id)
{
	return id->self.role;
}

const rt_key *
rt_ident_secret(const rt_ident *id)
{
	return id->secret.len > 0 ? &id->secret : NULL;
}

/* HKDF-SHA256 over X25519(ours, theirs), bound to both names in a fixed
 * order so either side derives the same key. */
static int
derive(rt_ident *id, const struct rt_principal *peer, rt_key *key)
{
	EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
	    peer->pub, RT_PUB_LEN);
	EVP_PKEY_CTX *dh = EVP_PKEY_CTX_new(id->priv, NULL);
	uint8_t shared[32];
	size_t slen = sizeof(shared);
	int ok = pub && dh && EVP_PKEY_derive_init(dh) == 1 &&
	    EVP_PKEY_derive_set_peer(dh, pub) == 1 &&
	    EVP_PKEY_derive(dh, shared, &slen) == 1;
	EVP_PKEY_CTX_free(dh);
	EVP_PKEY_free(pub);
	const char *a = id->self.name, *b = peer->name;
	if (strcmp(a, b) > 0) {
		const char *t = a;
		a = b;
		b = t;
	}
	char info[2 * RT_NAME_MAX + 2];
	int ilen = snprintf(info, sizeof(info), "%s|%s", a, b);
	ok = ok &&
	    rt_hkdf(shared, slen, "hs-pair-1", info, (size_t)ilen, key->bytes,
		32) == 0;
	key->len = 32;
	OPENSSL_cleanse(shared, sizeof(shared));
	return ok ? 0 : -1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->p.name,
	    ((const struct peer *)b)->p.name);
}

static struct peer *
find(rt_ident *id, const char *name)
{
	for (size_t i = 0; i < id->nroster; i++)
		if (strcmp(id->roster[i].p.name, name) == 0)
			return &id->roster[i];
	struct peer k;
	snprintf(k.p.name, sizeof(k.p.name), "%s", name);
	return id->ndyn ? bsearch(&k, id->dyn, id->ndyn, sizeof(k), by_name) :
			  NULL;
}

int
rt_ident_pair(rt_ident *id, const char *peer, rt_key *key, unsigned *role,
    char *err, size_t errlen)
{
	pthread_mutex_lock(&id->mu);
	struct peer *p = find(id, peer);
	int rv = p != NULL ? 0 : -1;
	if (p != NULL && !p->keyed && derive(id, &p->p, &p->key) == 0)
		p->keyed = 1;
	if (p != NULL && p->keyed) {
		*key = p->key;
		*role = p->p.role;
	} else if (p != NULL) {
		rv = -1;
	}
	pthread_mutex_unlock(&id->mu);
	if (rv != 0)
		snprintf(err, errlen,
		    "principal '%.64s' is %s (ask an admin for a credential: "
		    "hs cred add)",
		    peer, p ? "unusable" : "unknown or revoked");
	return rv;
}

void
rt_ident_set_dynamic(rt_ident *id, const struct rt_principal *p, size_t n,
    uint64_t version)
{
	struct peer *d = calloc(n ? n : 1, sizeof(*d));
	for (size_t i = 0; i < n; i++)
		d[i].p = p[i];
	qsort(d, n, sizeof(*d), by_name);
	pthread_mutex_lock(&id->mu);
	/* keep derived keys of principals that stay: saves an X25519 each */
	for (size_t i = 0; i < n; i++) {
		struct peer *old = id->ndyn ?
		    bsearch(&d[i], id->dyn, id->ndyn, sizeof(d[i]), by_name) :
		    NULL;
		if (old && old->keyed &&
		    memcmp(old->p.pub, d[i].p.pub, RT_PUB_LEN) == 0) {
			d[i].keyed = 1;
			d[i].key = old->key;
		}
	}
	struct peer *gone = id->dyn;
	id->dyn = d;
	id->ndyn = n;
	id->version = version;
	pthread_mutex_unlock(&id->mu);
	free(gone);
}

int
rt_ident_dynamic_list(rt_ident *id, struct rt_principal **out, size_t *n,
    uint64_t *version)
{
	pthread_mutex_lock(&id->mu);
	struct rt_principal *p = calloc(id->ndyn ? id->ndyn : 1, sizeof(*p));
	for (size_t i = 0; p != NULL && i < id->ndyn; i++)
		p[i] = id->dyn[i].p;
	*n = id->ndyn;
	*version = id->version;
	pthread_mutex_unlock(&id->mu);
	*out = p;
	return p != NULL ? 0 : -1;
}

uint64_t
rt_ident_dynamic_version(const rt_ident *id)
{
	pthread_mutex_lock((pthread_mutex_t *)&id->mu);
	uint64_t v = id->version;
	pthread_mutex_unlock((pthread_mutex_t *)&id->mu);
	return v;
}
