/* Many puts that share one commit point: the store's side of a multi-write
 * (a Replicate carrying many needles, DESIGN.md "Data paths (v2)"). Every
 * needle is appended before the batch waits, so the group commit covers
 * them with one fdatasync instead of one each. */
#ifndef STORE_ENGINE_BATCH_H
#define STORE_ENGINE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct store_put {
	uint64_t key;
	uint32_t cookie;
	const void *data;
	size_t len;
	const uint8_t *sha256; /* 32 bytes, checked by the caller */
};

/* store_engine_put_sha of puts[0..n), each answered in rc[i] exactly as
 * that call would answer it; every needle appended here is durable when
 * its rc[i] is 0. The puts are independent: one failing fails no other
 * (a failed fdatasync fails those it would have covered). */
void store_engine_put_many(struct store_engine *se,
    const struct store_put *puts, size_t n, int *rc);

#endif
