/* SPDX-License-Identifier: BSD-2-Clause */
/* Bump allocator: a list of chunks, freed in one step. */
#include "core/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define ARENA_ALIGN 16

/*
 * One backing block. Owner: its arena. Small requests are bumped out of
 * 'cur'; a request larger than a quarter of the chunk size gets a block
 * of its own, so one big header does not waste the rest of a chunk.
 */
struct arena_chunk {
    struct arena_chunk *next; /* owned: older chunks */
    size_t size;              /* payload bytes */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

/* Owner: creator; single thread. */
struct arena {
    struct arena_chunk *first; /* owned; kept across arena_reset */
    struct arena_chunk *cur;   /* borrowed: chunk small requests come from */
    struct arena_chunk *extra; /* owned: every other chunk, newest first */
    size_t chunk_size;
    size_t max_bytes; /* cap on payload bytes of all chunks; 0 = none */
    size_t total;     /* payload bytes of all chunks */
    size_t used;      /* bytes handed out (rounded up) */
};

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static struct arena_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct arena *arena_new(size_t chunk_size, size_t max_bytes)
{
    if (chunk_size < 256)
        chunk_size = 256;
    chunk_size = round_up(chunk_size);
    size_t first_size = chunk_size;
    if (max_bytes && first_size > max_bytes)
        first_size = max_bytes & ~(size_t)(ARENA_ALIGN - 1);

    struct arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->first = chunk_new(first_size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->cur = a->first;
    a->chunk_size = chunk_size;
    a->max_bytes = max_bytes;
    a->total = first_size;
    return a;
}

static void free_extra(struct arena *a)
{
    struct arena_chunk *c = a->extra;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->extra = NULL;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    free_extra(a);
    free(a->first);
    free(a);
}

/* Room left under the cap, SIZE_MAX when uncapped. */
static size_t cap_left(const struct arena *a)
{
    if (!a->max_bytes)
        return SIZE_MAX;
    return a->max_bytes > a->total ? a->max_bytes - a->total : 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size = round_up(size ? size : 1);

    struct arena_chunk *c = a->cur;
    if (c->size - c->used >= size) {
        void *p = c->data + c->used;
        c->used += size;
        a->used += size;
        return p;
    }

    /* The cap counts backing memory, not bytes handed out, so it bounds
     * what the process really holds for this arena. */
    size_t left = cap_left(a);
    bool is_big = size > a->chunk_size / 4;
    size_t new_size = is_big ? size : SW_MIN(a->chunk_size, left);
    if (new_size < size || new_size > left)
        return NULL;
    c = chunk_new(new_size);
    if (!c)
        return NULL;
    c->next = a->extra;
    a->extra = c;
    a->total += new_size;
    if (!is_big)
        a->cur = c;
    c->used = size;
    a->used += size;
    return c->data;
}

void *arena_zalloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    free_extra(a);
    a->first->used = 0;
    a->cur = a->first;
    a->total = a->first->size;
    a->used = 0;
}

size_t arena_used(const struct arena *a)
{
    return a->used;
}
