/* SPDX-License-Identifier: BSD-2-Clause */
/* Size-class allocator for the location table: free lists over mmap'd blocks. */
#include "store/slab.h"

#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Under AddressSanitizer a free chunk is poisoned so a read through a
 * stale record pointer is reported like a heap use-after-free would be;
 * without it these macros are empty. gcc says __SANITIZE_ADDRESS__,
 * clang says __has_feature(address_sanitizer).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#if defined(SLAB_ASAN)
#include <sanitizer/asan_interface.h>
#define SLAB_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SLAB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SLAB_POISON(p, n) ((void)(p), (void)(n))
#define SLAB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Owner: struct slab (its blocks list); lives at the start of its block.
 * Padded to SLAB_STEP so every chunk after it stays 16-byte aligned. */
struct slab_block {
    struct slab_block *next;
    char pad[SLAB_STEP - sizeof(struct slab_block *)];
};

_Static_assert(SLAB_STEP >= sizeof(void *) && (SLAB_STEP & (SLAB_STEP - 1)) == 0,
               "a free chunk holds the list link; classes are powers-of-two steps");
_Static_assert(sizeof(struct slab_block) == SLAB_STEP, "chunks stay SLAB_STEP aligned");

size_t slab_size(size_t size)
{
    return (size + SLAB_STEP - 1) & ~(size_t)(SLAB_STEP - 1);
}

static size_t class_of(size_t size)
{
    return slab_size(size) / SLAB_STEP - 1;
}

void slab_init(struct slab *s)
{
    memset(s, 0, sizeof(*s));
}

void slab_fini(struct slab *s)
{
    struct slab_block *b = s->blocks;
    while (b != NULL) {
        struct slab_block *next = b->next;
        SLAB_UNPOISON(b, SLAB_BLOCK);
        munmap(b, SLAB_BLOCK);
        b = next;
    }
    memset(s, 0, sizeof(*s));
}

/* Maps a new block and makes it the carving area. The tail left in the
 * previous block (< SLAB_MAX bytes, under 1% of a block) is given to the
 * free list of the largest class it holds rather than wasted. */
static int block_new(struct slab *s)
{
    void *m = mmap(NULL, SLAB_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    if (s->left >= SLAB_STEP) {
        size_t c = class_of(s->left);
        if (slab_size(s->left) > s->left)
            c--; /* the class that fits inside the tail */
        SLAB_UNPOISON(s->cur, sizeof(void *));
        memcpy(s->cur, &s->free[c], sizeof(void *)); /* cur is a char *: no alignment claim */
        s->free[c] = s->cur;
        SLAB_POISON(s->cur, sizeof(void *)); /* poisoned like any free chunk */
    }
    struct slab_block *b = m;
    b->next = s->blocks;
    s->blocks = b;
    s->cur = (char *)m + sizeof(*b);
    s->left = SLAB_BLOCK - sizeof(*b);
    s->mapped += SLAB_BLOCK;
    s->carved += sizeof(*b);
    SLAB_POISON(s->cur, s->left);
    return 0;
}

void *slab_alloc(struct slab *s, size_t size)
{
    if (size == 0)
        return NULL;
    if (size > SLAB_MAX) {
        void *p = malloc(size);
        if (p != NULL) {
            s->in_use += size;
            s->large += size;
        }
        return p;
    }
    size_t c = class_of(size), csz = slab_size(size);
    void *p = s->free[c];
    if (p != NULL) {
        SLAB_UNPOISON(p, sizeof(void *));
        s->free[c] = *(void **)p;
    } else {
        if (s->left < csz && block_new(s) < 0)
            return NULL;
        p = s->cur;
        s->cur += csz;
        s->left -= csz;
        s->carved += csz;
    }
    SLAB_UNPOISON(p, csz);
    s->in_use += csz;
    return p;
}

void slab_free(struct slab *s, void *p, size_t size)
{
    if (p == NULL)
        return;
    if (size > SLAB_MAX) {
        s->in_use -= size;
        s->large -= size;
        free(p);
        return;
    }
    size_t c = class_of(size), csz = slab_size(size);
    SW_ASSERT(size > 0 && s->in_use >= csz);
    *(void **)p = s->free[c];
    s->free[c] = p;
    s->in_use -= csz;
    SLAB_POISON(p, csz);
}

void slab_stats_get(const struct slab *s, struct slab_stats *out)
{
    out->in_use = s->in_use;
    out->mapped = s->mapped;
    out->carved = s->carved;
    out->large = s->large;
}
