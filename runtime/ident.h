/* Who a process is and whom it talks to: principals, roles and the keys
 * between them (docs/security.md).
 *
 * Every principal (a directory tier, each store, the replicator, each admin
 * and client application) holds an X25519 key pair. The key two principals
 * MAC their calls with is derived from X25519 of one's private and the
 * other's public key, so only those two can make or check it: a store
 * cannot speak as the directory to another store, whatever it holds.
 * Public keys come from the roster (servers and the first admin and client,
 * written by tools:keys) and from the principals an admin adds at run time
 * (`hs cred`), which the directory keeps in Redis and hands to every
 * server. Servers also share a secret (write tokens, grants, the event
 * feed's encryption) that no client holds. */
#ifndef RT_IDENT_H
#define RT_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"

/* Roles, as bits so a method can name the set that may call it. */
enum {
	RT_ROLE_CLIENT = 1,
	RT_ROLE_ADMIN = 2,
	RT_ROLE_STORE = 4,
	RT_ROLE_REPLICATOR = 8,
	RT_ROLE_DIRECTORY = 16,
};
#define RT_ROLES_SERVER (RT_ROLE_STORE | RT_ROLE_REPLICATOR | RT_ROLE_DIRECTORY)
#define RT_ROLES_ANY (RT_ROLE_CLIENT | RT_ROLE_ADMIN | RT_ROLES_SERVER)
#define RT_ROLES_USER (RT_ROLE_CLIENT | RT_ROLE_ADMIN)

#define RT_NAME_MAX 64
#define RT_PUB_LEN 32

/* The directory replicas answer as one principal: a client reaches any of
 * them through a balancer. */
#define RT_DIRECTORY_PRINCIPAL "directory"

typedef struct rt_ident rt_ident;

struct rt_principal {
	char name[RT_NAME_MAX];
	unsigned role; /* one RT_ROLE_ bit */
	uint8_t pub[RT_PUB_LEN];
};

/* Loads the identity file key_file (name, role, private key and, for
 * servers and admins, the shared secret; refused if group or others may
 * read it) and the roster (NULL: the file "roster" beside key_file).
 * 0, or -1 with what to do in err. */
int rt_ident_load(rt_ident **out, const char *key_file, const char *roster,
    char *err, size_t errlen);
void rt_ident_free(rt_ident *id);

/* rt_ident_load for a server: the file must name this principal and role
 * and hold the shared secret, copied into secret. */
int rt_ident_load_server(rt_ident **out, const char *key_file, const char *name,
    unsigned role, rt_key *secret, char *err, size_t errlen);

const char *rt_ident_name(const rt_ident *id);
unsigned rt_ident_role(const rt_ident *id);

/* The servers' shared secret (tokens, grants, the feed), or NULL for a
 * principal that holds none. */
const rt_key *rt_ident_secret(const rt_ident *id);

/* The key this principal shares with peer, and the peer's role. 0, or -1
 * with why in err when peer is unknown (never heard of, or revoked). Thread
 * safe; derived once per peer, then cached. */
int rt_ident_pair(rt_ident *id, const char *peer, rt_key *key, unsigned *role,
    char *err, size_t errlen);

/* Replaces the principals added at run time with these n; the roster's stay.
 * A principal left out is forgotten at once (revoked). version orders sets. */
void rt_ident_set_dynamic(rt_ident *id, const struct rt_principal *p, size_t n,
    uint64_t version);
uint64_t rt_ident_dynamic_version(const rt_ident *id);

/* A copy of the run-time principals (*out malloc'd, the caller frees) and
 * their version. 0 or -1 (out of memory). */
int rt_ident_dynamic_list(rt_ident *id, struct rt_principal **out, size_t *n,
    uint64_t *version);

/* A store's principal: "store-<id>". */
void rt_store_principal(uint32_t store_id, char out[RT_NAME_MAX]);

/* "store", "client", ... and back. 0, or -1 for an unknown name. */
const char *rt_role_name(unsigned role);
int rt_role_parse(const char *s, unsigned *role);

/* A throwaway identity whose roster is itself alone, with a fresh secret:
 * for one process talking to itself (benchmarks, examples). 0 or -1. */
int rt_ident_ephemeral(rt_ident **out, const char *name, unsigned role);

/* --- making identities (tools:keys, the test harness, `hs cred`) --- */

/* A new key pair: private into priv, public into pub. 0 or -1. */
int rt_ident_keygen(uint8_t priv[32], uint8_t pub[RT_PUB_LEN]);

/* Writes an identity file (mode 0600) for name/role with priv and, when
 * secret is non-NULL, the shared secret. 0, or -1 with err. */
int rt_ident_write(const char *path, const char *name, unsigned role,
    const uint8_t priv[32], const rt_key *secret, char *err, size_t errlen);

/* Makes dir/<name>.key for each of n principals and the roster dir/roster
 * naming them all, with one fresh shared secret given to every principal
 * whose role is not client. 0, or -1 with err. */
int rt_ident_provision(const char *dir, const char *const *names,
    const unsigned *roles, size_t n, char *err, size_t errlen);

#endif
