/* Credentials made at run time (hs cred; docs/security.md): a new key
 * pair whose public half the directory records, and whose private half
 * goes into an identity file only its holder reads. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hs_internal.h"

hs_status
hs_cred_add(hs_client *c, const char *name, const char *role, const char *path,
    int64_t timeout_ms, Hs__PrincipalReply **out, hs_error *err)
{
	unsigned r;
	uint8_t priv[32], pub[RT_PUB_LEN];
	char msg[300];
	if (rt_role_parse(role, &r) != 0 || !(r & RT_ROLES_USER))
		return hsi_err(err, HS_INVALID_ARGUMENT,
		    "a credential's role is client or admin, not '%s'", role);
	if (access(path, F_OK) == 0)
		return hsi_err(err, HS_ALREADY_EXISTS,
		    "%s exists; choose another file (an identity file is "
		    "never overwritten)",
		    path);
	if (rt_ident_keygen(priv, pub) != 0)
		return hsi_err(err, HS_INTERNAL, "cannot make a key pair");
	Hs__Principal p = HS__PRINCIPAL__INIT;
	Hs__PrincipalRequest req = HS__PRINCIPAL_REQUEST__INIT;
	p.name = (char *)name;
	p.role = (char *)role;
	p.public_key.data = pub;
	p.public_key.len = RT_PUB_LEN;
	req.principal = &p;
	ProtobufCMessage *reply = NULL;
	hs_status st = hsi_dir_call(c, "AddPrincipal", &req.base, &reply,
	    hsi_deadline(timeout_ms), "cred add", err);
	/* an admin's credential carries the servers' secret, as ours does */
	if (st == HS_OK &&
	    rt_ident_write(path, name, r, priv,
		r == RT_ROLE_ADMIN ? rt_ident_secret(c->ident) : NULL, msg,
		sizeof(msg)) != 0)
		st = hsi_err(err, HS_INTERNAL,
		    "'%s' was added, but %s: revoke it and add it again", name,
		    msg);
	OPENSSL_cleanse(priv, sizeof(priv));
	if (st != HS_OK) {
		if (reply != NULL)
			protobuf_c_message_free_unpacked(reply, NULL);
		return st;
	}
	*out = (Hs__PrincipalReply *)reply;
	return HS_OK;
}

hs_status
hs_cred_revoke(hs_client *c, const char *name, int64_t timeout_ms,
    Hs__PrincipalReply **out, hs_error *err)
{
	Hs__Principal p = HS__PRINCIPAL__INIT;
	Hs__PrincipalRequest req = HS__PRINCIPAL_REQUEST__INIT;
	p.name = (char *)name;
	req.principal = &p;
	return hsi_dir_call(c, "RevokePrincipal", &req.base,
	    (ProtobufCMessage **)out, hsi_deadline(timeout_ms), "cred revoke",
	    err);
}

hs_status
hs_cred_list(hs_client *c, int64_t timeout_ms, Hs__ListPrincipalsReply **out,
    hs_error *err)
{
	Hs__ListPrincipalsRequest req = HS__LIST_PRINCIPALS_REQUEST__INIT;
	return hsi_dir_call(c, "ListPrincipals", &req.base,
	    (ProtobufCMessage **)out, hsi_deadline(timeout_ms), "cred list",
	    err);
}
