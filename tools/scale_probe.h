/* scale_probe: what each tier holds per photo, measured (docs/scale.md).
 * scale_probe.c measures the pieces in this process (the store engine's
 * index and files, the directory's record table, the replicator's rates
 * and queue) from the allocator's own accounting; scale_probe_cluster.c
 * measures Redis, nginx and the processes' RSS on a whole cluster of real
 * processes after real uploads. Every figure prints as one
 * "name: value" line. A measuring tool, not a test or a benchmark. */
#ifndef HS_SCALE_PROBE_H
#define HS_SCALE_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the allocator holds now (glibc mallinfo2: arena chunks in use
 * plus mmapped ones). */
uint64_t probe_heap_bytes(void);

/* A photo key as a grant makes it: a write group in the top 16 bits, a
 * 48-bit sequence below (scrambled; runtime/grant.h), i-th of a run. */
uint64_t probe_key(uint32_t group, uint64_t i);

/* The whole-cluster part: uploads nphotos 4 KB photos (and a few 64 KB
 * ones) through libhs and prints Redis, nginx and RSS figures per photo.
 * argv0 finds the runfiles under `bazel run`; listpack_value > 0 sets the
 * metadata Redis's hash-max-listpack-value first. 0 and the cluster's
 * folder in dir (for the caller to remove), or 1 on failure. */
int probe_cluster(const char *argv0, long nphotos, int threads,
    int listpack_value, char *dir, size_t dirlen);

#endif
