/* hs cred add|revoke|list: credentials made at run time (the admin role;
 * docs/security.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int
print_change(struct cli *c, const char *what, const char *name,
    const Hs__PrincipalReply *r)
{
	if (c->json) {
		struct json j;
		cli_json_begin(&j, 1);
		json_key(&j, "name");
		json_str(&j, name);
		json_key(&j, "change");
		json_str(&j, what);
		json_pb_fields(&j, &r->base);
		cli_json_end(&j);
	} else {
		printf("%s %s (version %llu; %u UP stores confirmed", name,
		    what, (unsigned long long)r->version, r->stores_confirmed);
		if (r->stores_unconfirmed)
			printf(", %u did not answer in time: they refuse it "
			       "once they hear from the directory",
			    r->stores_unconfirmed);
		printf(")\n");
	}
	return CLI_OK;
}

static int
cred_add(struct cli *c, int argc, char **argv)
{
	const char *name = NULL, *role = "client", *out = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (name == NULL && argv[i][0] != '-')
			name = argv[i];
		else
			return cli_usage(c, "unknown argument '%s'", argv[i]);
	}
	if (name == NULL || out == NULL)
		return cli_usage(c, "cred add needs NAME and --out FILE");
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	Hs__PrincipalReply *r;
	hs_error e;
	hs_status st = hs_cred_add(c->client, name, role, out, c->timeout_ms,
	    &r, &e);
	if (st != HS_OK)
		return cli_fail(c, st, name, e.message);
	rc = print_change(c, "added", name, r);
	if (!c->json)
		printf("its identity file: %s (keep it private; point "
		       "key_file at it)\n",
		    out);
	hs__principal_reply__free_unpacked(r, NULL);
	return rc;
}

static int
cred_revoke(struct cli *c, int argc, char **argv)
{
	if (argc != 3)
		return cli_usage(c, "cred revoke takes one NAME");
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	Hs__PrincipalReply *r;
	hs_error e;
	hs_status st = hs_cred_revoke(c->client, argv[2], c->timeout_ms, &r,
	    &e);
	if (st != HS_OK)
		return cli_fail(c, st, argv[2], e.message);
	rc = print_change(c, "revoked", argv[2], r);
	hs__principal_reply__free_unpacked(r, NULL);
	return rc;
}

static int
cred_list(struct cli *c)
{
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	Hs__ListPrincipalsReply *r;
	hs_error e;
	hs_status st = hs_cred_list(c->client, c->timeout_ms, &r, &e);
	if (st != HS_OK)
		return cli_fail(c, st, NULL, e.message);
	for (size_t i = 0; i < r->n_principals; i++) {
		if (c->json) {
			struct json j;
			cli_json_begin(&j, 1);
			json_key(&j, "name");
			json_str(&j, r->principals[i]->name);
			json_key(&j, "role");
			json_str(&j, r->principals[i]->role);
			cli_json_end(&j);
		} else {
			printf("%-24s %s\n", r->principals[i]->name,
			    r->principals[i]->role);
		}
	}
	hs__list_principals_reply__free_unpacked(r, NULL);
	return CLI_OK;
}

int
cli_cred(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cred_add(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return cred_revoke(c, argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return cred_list(c);
	return cli_usage(c, "cred takes add, revoke or list");
}
