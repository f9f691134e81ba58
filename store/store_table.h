/* The store's own table of the other stores (store id -> RPC address), so
 * that it forwards writes and pushes only to stores the directory placed,
 * at the address the directory knows, and never to an address a request
 * names (a forged Write or Push could otherwise aim the store's copies,
 * cookies included, anywhere). Filled from a directory's ListStores
 * (every store it knows, DOWN ones too), refreshed when an id is missing
 * or the table is older than STORE_TABLE_TTL_MS, at most once a second
 * whatever the requests say; --peers seeds it for a store that runs
 * without directories. Thread safe. */
#ifndef STORE_STORE_TABLE_H
#define STORE_STORE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_TABLE_MAX 1024 /* the directory's DIR_MAX_STORES */
#define STORE_TABLE_TTL_MS 30000

struct store_table;

/* Reads --peers ("ID=URL,ID=URL"), dials --directories. NULL with a
 * message in err when --peers is malformed or the directories' addresses
 * are. */
struct store_table *store_table_open(struct store_service *svc, char *err,
    size_t errlen);
/* Waits for its call in flight, then frees. NULL is fine. */
void store_table_close(struct store_table *t);

/* The address of store id into addr: 0, or -1 with why. May ask a
 * directory (up to 1 s): call it from worker threads only. */
int store_table_addr(struct store_table *t, uint32_t id, char *addr, size_t len,
    char *why, size_t whylen);

#endif
