/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to src/store: a size-class allocator for the location table's
 * long-lived records.
 *
 * Why not malloc: a registration lives for an hour, the transaction
 * memory allocated around it (messages, timers, replies) lives 32 s
 * (RFC 3261 §17.1.2.2 Timer K/J). In one malloc heap the two interleave,
 * so a page holding one record among freed transaction chunks can never
 * be returned: 100,000 registrations cost ~1.3 KB of RSS each while
 * malloc accounted ~440 B. Records here come from blocks mapped with mmap
 * for the store alone, so they pack densely and never pin anyone else's
 * pages (the per-size-class free lists of memcached's slabs and Valkey's
 * jemalloc arenas, at the scale of one table).
 *
 * Sizes up to SLAB_MAX are rounded up to a multiple of SLAB_STEP and
 * served from a free list per class, or carved from the current block;
 * larger ones fall back to malloc. The caller passes the size back to
 * slab_free (records keep their size), so chunks carry no header.
 *
 * Owner: struct mem_shard (one allocator per shard); thread: only under
 * that shard's mutex, like the records it holds. No lock of its own.
 */
#ifndef SW_STORE_SLAB_H
#define SW_STORE_SLAB_H

#include <stddef.h>

#define SLAB_STEP 16
#define SLAB_MAX 2048
#define SLAB_CLASSES (SLAB_MAX / SLAB_STEP)
/* Mapped at a time. Pages are touched only as chunks are carved, so an
 * idle shard costs one page of RSS, not the block. */
#define SLAB_BLOCK (256 * 1024)

struct slab_block; /* a mapped block; the first bytes link it to the next */

struct slab {
    void *free[SLAB_CLASSES];  /* borrowed heads: chunks inside our blocks */
    struct slab_block *blocks; /* owned list of mapped blocks, newest first */
    char *cur;                 /* borrowed: next uncarved byte of blocks */
    size_t left;               /* uncarved bytes at cur */
    size_t in_use;             /* bytes handed out (class sizes; large: size) */
    size_t mapped;             /* bytes of blocks mapped */
    size_t carved;             /* bytes of blocks ever handed out: about the RSS */
    size_t large;              /* bytes of the in_use served by malloc */
};

struct slab_stats {
    size_t in_use; /* bytes allocated now (class sizes; large chunks: their size) */
    size_t mapped; /* bytes of address space mapped for blocks */
    size_t carved; /* bytes of blocks touched so far (the blocks' share of RSS) */
    size_t large;  /* bytes of in_use served by malloc */
};

void slab_init(struct slab *s);
/* Unmaps every block. Large chunks still allocated are the caller's to
 * free first (slab_free), as with any allocator. */
void slab_fini(struct slab *s);
/* NULL on out of memory or size 0. */
void *slab_alloc(struct slab *s, size_t size);
/* size: the size given to slab_alloc for p. p may be NULL. */
void slab_free(struct slab *s, void *p, size_t size);
/* What slab_alloc(size) really reserves (the class size). */
size_t slab_size(size_t size);
void slab_stats_get(const struct slab *s, struct slab_stats *out);

#endif
