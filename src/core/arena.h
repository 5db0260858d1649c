/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bump allocator for one message or one loop iteration: allocations are
 * freed all at once by arena_reset()/arena_free(). Nothing long-lived may
 * allocate here. Owner: whoever created it; single thread.
 */
#ifndef SW_CORE_ARENA_H
#define SW_CORE_ARENA_H

#include <stddef.h>

struct arena;

/* chunk_size: size of each backing block (large requests get their own).
 * max_bytes: hard cap on the total backing memory (chunk payloads, 0 = no
 * cap); arena_alloc returns NULL past it, which is how per-message memory
 * stays bounded. The first chunk is min(chunk_size, max_bytes). */
struct arena *arena_new(size_t chunk_size, size_t max_bytes);
void arena_free(struct arena *a);
/* 16-byte aligned; NULL on ENOMEM or when the cap is hit. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Frees everything but the first chunk, which is kept for reuse. */
void arena_reset(struct arena *a);
size_t arena_used(const struct arena *a);

#endif
