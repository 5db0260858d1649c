/* SPDX-License-Identifier: BSD-2-Clause */
/* The location store's private size-class allocator (src/store/slab.c). */
#include "store/slab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_sizes_round_up_to_classes(void **state)
{
    (void)state;
    assert_int_equal(slab_size(1), 16);
    assert_int_equal(slab_size(16), 16);
    assert_int_equal(slab_size(17), 32);
    assert_int_equal(slab_size(200), 208);
    assert_int_equal(slab_size(SLAB_MAX), SLAB_MAX);

    struct slab s;
    slab_init(&s);
    assert_null(slab_alloc(&s, 0));
    for (size_t sz = 1; sz <= SLAB_MAX; sz += 7) {
        unsigned char *p = slab_alloc(&s, sz);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % SLAB_STEP, 0); /* records hold int64/pointers */
        memset(p, 0xa5, slab_size(sz));                /* the whole class is usable */
    }
    slab_fini(&s);
}

static void test_freed_chunk_is_reused_by_its_class_only(void **state)
{
    (void)state;
    struct slab s;
    slab_init(&s);
    void *a = slab_alloc(&s, 100); /* class 112 */
    void *b = slab_alloc(&s, 300);
    assert_ptr_not_equal(a, b);
    slab_free(&s, a, 100);
    void *c = slab_alloc(&s, 200); /* another class: not a's chunk */
    assert_ptr_not_equal(c, a);
    void *d = slab_alloc(&s, 97); /* same class as 100 */
    assert_ptr_equal(d, a);
    slab_free(&s, b, 300);
    slab_free(&s, c, 200);
    slab_free(&s, d, 97);
    slab_fini(&s);
}

static void test_accounting_counts_class_bytes_and_blocks(void **state)
{
    (void)state;
    struct slab s;
    struct slab_stats st;
    slab_init(&s);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.mapped, 0); /* nothing mapped before the first use */

    void *a = slab_alloc(&s, 100);
    void *b = slab_alloc(&s, 33);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, 112 + 48);
    assert_int_equal(st.mapped, SLAB_BLOCK);
    assert_int_equal(st.carved, SLAB_STEP + 112 + 48); /* the block's link, then chunks */
    assert_int_equal(st.large, 0);

    /* Fill past one block: a second is mapped; nothing is lost. */
    enum { N = SLAB_BLOCK / SLAB_MAX + 4 };
    void *big[N];
    for (size_t i = 0; i < N; i++)
        assert_non_null(big[i] = slab_alloc(&s, SLAB_MAX));
    slab_stats_get(&s, &st);
    assert_int_equal(st.mapped, 2 * SLAB_BLOCK);
    assert_int_equal(st.in_use, 112 + 48 + N * SLAB_MAX);
    for (size_t i = 0; i < N; i++)
        slab_free(&s, big[i], SLAB_MAX);
    slab_free(&s, a, 100);
    slab_free(&s, b, 33);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.mapped, 2 * SLAB_BLOCK); /* blocks are kept for reuse */
    slab_fini(&s);
    slab_stats_get(&s, &st);
    assert_int_equal(st.mapped, 0);
}

static void test_large_sizes_fall_back_to_malloc(void **state)
{
    (void)state;
    struct slab s;
    struct slab_stats st;
    slab_init(&s);
    char *p = slab_alloc(&s, SLAB_MAX + 1);
    assert_non_null(p);
    memset(p, 1, SLAB_MAX + 1);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, SLAB_MAX + 1);
    assert_int_equal(st.large, SLAB_MAX + 1);
    assert_int_equal(st.mapped, 0); /* no block for a large chunk */
    slab_free(&s, p, SLAB_MAX + 1);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.large, 0);
    slab_fini(&s);
}

/* Tiny deterministic generator: the test is the same on every run. */
static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random sizes and lifetimes, every chunk filled with its own pattern and
 * checked at free: overlapping chunks or a broken free list show up as a
 * wrong byte here, and a stray access as an ASan report (free chunks are
 * poisoned). */
static void test_many_alloc_free_cycles_keep_chunks_apart(void **state)
{
    (void)state;
    enum { LIVE = 2000, ROUNDS = 200000 };
    struct {
        unsigned char *p;
        size_t size;
    } *live = calloc(LIVE, sizeof(*live));
    assert_non_null(live);
    struct slab s;
    struct slab_stats st;
    slab_init(&s);
    uint32_t x = 2463534242u;
    size_t expect = 0;
    for (size_t r = 0; r < ROUNDS; r++) {
        size_t i = rnd(&x) % LIVE;
        if (live[i].p != NULL) {
            for (size_t k = 0; k < live[i].size; k++)
                assert_int_equal(live[i].p[k], (unsigned char)(i + k));
            slab_free(&s, live[i].p, live[i].size);
            expect -= live[i].size > SLAB_MAX ? live[i].size : slab_size(live[i].size);
            live[i].p = NULL;
        }
        /* Mostly record-sized, some large ones. */
        size_t size = rnd(&x) % 16 == 0 ? 1 + rnd(&x) % 6000 : 1 + rnd(&x) % 600;
        live[i].p = slab_alloc(&s, size);
        assert_non_null(live[i].p);
        live[i].size = size;
        for (size_t k = 0; k < size; k++)
            live[i].p[k] = (unsigned char)(i + k);
        expect += size > SLAB_MAX ? size : slab_size(size);
    }
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, expect);
    /* Reuse keeps the mapping near the live bytes, not the total ever asked. */
    assert_true(st.mapped <= 4 * (st.in_use - st.large) + 2 * SLAB_BLOCK);
    for (size_t i = 0; i < LIVE; i++)
        slab_free(&s, live[i].p, live[i].size);
    slab_stats_get(&s, &st);
    assert_int_equal(st.in_use, 0);
    slab_fini(&s);
    free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_round_up_to_classes),
        cmocka_unit_test(test_freed_chunk_is_reused_by_its_class_only),
        cmocka_unit_test(test_accounting_counts_class_bytes_and_blocks),
        cmocka_unit_test(test_large_sizes_fall_back_to_malloc),
        cmocka_unit_test(test_many_alloc_free_cycles_keep_chunks_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
