/* The store table (see store_table.h): a small array searched linearly,
 * replaced as a whole by each refresh from a directory. One mutex guards
 * the array; a second one lets only one refresh run at a time, so
 * requests naming unknown ids wait for it instead of each asking. */
#include "store_table.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "background.h"
#include "clock.h"
#include "directory.pb-c.h"
#include "log.h"

#define REFRESH_MIN_MS 1000 /* between two refreshes, whatever is asked */
#define REFRESH_TIMEOUT_MS 1000

struct entry {
	uint32_t id;
	char addr[256];
};

struct store_table {
	pthread_mutex_t mu, refresh_mu;
	struct entry *e; /* the statics first, then the directory's */
	size_t n, nstatic;
	int64_t refreshed; /* monotonic ms of the last refresh; 0 = never */
	rpc_client *dirs;  /* NULL without --directories */
};

/* Puts (id, addr) in the table, replacing an entry with the same id. */
static void
put(struct store_table *t, uint32_t id, const char *addr)
{
	size_t i = 0;
	while (i < t->n && t->e[i].id != id)
		i++;
	if (i == STORE_TABLE_MAX)
		return;
	if (i == t->n)
		t->n++;
	t->e[i].id = id;
	snprintf(t->e[i].addr, sizeof(t->e[i].addr), "%s", addr);
}

/* Parses --peers into the table's static part. 0 or -1 with err. */
static int
parse_statics(struct store_table *t, const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *save = NULL;
	int rc = copy == NULL ? -1 : 0;
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL;
	     tok != NULL && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end = NULL;
		unsigned long id = eq ? strtoul(tok, &end, 10) : 0;
		if (eq == NULL || end != eq || id == 0 || id > INT32_MAX ||
		    eq[1] == '\0') {
			snprintf(err, errlen,
			    "--peers: '%s' is not ID=URL (e.g. "
			    "2=tcp://10.0.0.2:7200)",
			    tok);
			rc = -1;
		} else {
			put(t, (uint32_t)id, eq + 1);
		}
	}
	free(copy);
	t->nstatic = t->n;
	return rc;
}

struct store_table *
store_table_open(struct store_service *svc, char *err, size_t errlen)
{
	struct store_table *t = calloc(1, sizeof(*t));
	if (t == NULL ||
	    (t->e = calloc(STORE_TABLE_MAX, sizeof(*t->e))) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->refresh_mu, NULL);
	if (parse_statics(t, svc->cfg.peers, err, errlen) != 0 ||
	    (svc->cfg.directories[0] != '\0' &&
		(t->dirs = store_dial_directories(svc, err, errlen)) == NULL)) {
		store_table_close(t);
		return NULL;
	}
	return t;
}

void
store_table_close(struct store_table *t)
{
	if (t == NULL)
		return;
	if (t->dirs != NULL)
		rpc_client_close(t->dirs);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->refresh_mu);
	free(t->e);
	free(t);
}

/* Replaces the directory's part of the table with a ListStores answer. */
static void
refresh(struct store_table *t)
{
	Hs__ListStoresRequest req = HS__LIST_STORES_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	struct rpc_error e;
	req.include_down = 1;
	hs_status st = rpc_invoke(t->dirs, &hs__directory__descriptor,
	    "ListStores", &req.base, &m, REFRESH_TIMEOUT_MS, 0, &e);
	pthread_mutex_lock(&t->mu);
	t->refreshed = rt_mono_ms();
	if (st == HS_OK) {
		const Hs__ListStoresReply *r = (const Hs__ListStoresReply *)m;
		t->n = t->nstatic;
		for (size_t i = 0; i < r->n_stores; i++)
			if (r->stores[i]->rpc_addr[0] != '\0')
				put(t, r->stores[i]->id,
				    r->stores[i]->rpc_addr);
	}
	pthread_mutex_unlock(&t->mu);
	if (st == HS_OK)
		protobuf_c_message_free_unpacked(m, NULL);
	else
		rt_log_warn("cannot refresh the store table from the "
			    "directories (%s: %s); using the one held",
		    hs_status_str(st), e.message);
}

/* Copies id's address (t->mu held); 1 if known. *stale is set when the
 * table is due for a refresh. */
static int
find_locked(struct store_table *t, uint32_t id, char *addr, size_t len,
    int *stale)
{
	int64_t age = rt_mono_ms() - t->refreshed;
	*stale = t->dirs != NULL &&
	    (t->refreshed == 0 || age > STORE_TABLE_TTL_MS);
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].id == id) {
			snprintf(addr, len, "%s", t->e[i].addr);
			return 1;
		}
	*stale = *stale || (t->dirs != NULL && age > REFRESH_MIN_MS);
	return 0;
}

int
store_table_addr(struct store_table *t, uint32_t id, char *addr, size_t len,
    char *why, size_t whylen)
{
	int stale, found;
	pthread_mutex_lock(&t->mu);
	found = find_locked(t, id, addr, len, &stale);
	pthread_mutex_unlock(&t->mu);
	if (stale) {
		pthread_mutex_lock(&t->refresh_mu);
		pthread_mutex_lock(&t->mu);
		found = find_locked(t, id, addr, len, &stale);
		pthread_mutex_unlock(&t->mu);
		if (stale)
			refresh(t); /* nobody did it while we waited */
		pthread_mutex_unlock(&t->refresh_mu);
		pthread_mutex_lock(&t->mu);
		found = find_locked(t, id, addr, len, &stale);
		pthread_mutex_unlock(&t->mu);
	}
	if (!found)
		snprintf(why, whylen,
		    "store %u is in no directory's table (nor in --peers): "
		    "copies go only to stores the directory placed",
		    id);
	return found ? 0 : -1;
}
