/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the bump allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void test_arena_alloc_is_16_byte_aligned_and_usable(void **state)
{
    (void)state;
    struct arena *a = arena_new(1024, 0);
    assert_non_null(a);
    for (size_t i = 1; i < 200; i++) {
        unsigned char *p = arena_alloc(a, i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, i);
    }
    arena_free(a);
}

static void test_arena_zalloc_returns_zeroed_memory(void **state)
{
    (void)state;
    struct arena *a = arena_new(512, 0);
    unsigned char *p = arena_alloc(a, 100);
    memset(p, 0xff, 100);
    arena_reset(a);
    unsigned char *z = arena_zalloc(a, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    arena_free(a);
}

static void test_arena_strndup_copies_and_terminates(void **state)
{
    (void)state;
    struct arena *a = arena_new(512, 0);
    char *s = arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *e = arena_strndup(a, "", 0);
    assert_string_equal(e, "");
    arena_free(a);
}

static void test_arena_returns_null_when_cap_is_hit(void **state)
{
    (void)state;
    struct arena *a = arena_new(1024, 4096);
    size_t got = 0;
    for (int i = 0; i < 1000; i++) {
        if (!arena_alloc(a, 100))
            break;
        got += 112;
    }
    assert_true(got <= 4096);
    assert_true(got >= 3000);
    assert_null(arena_alloc(a, 100));
    assert_null(arena_alloc(a, 10000));
    /* Reset gives the room back. */
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_non_null(arena_alloc(a, 100));
    arena_free(a);
}

static void test_arena_cap_smaller_than_chunk_limits_first_chunk(void **state)
{
    (void)state;
    struct arena *a = arena_new(65536, 1000);
    assert_non_null(arena_alloc(a, 500));
    assert_null(arena_alloc(a, 600));
    arena_free(a);
}

static void test_arena_big_allocation_gets_own_block(void **state)
{
    (void)state;
    struct arena *a = arena_new(1024, 0);
    char *small1 = arena_alloc(a, 32);
    char *big = arena_alloc(a, 1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    /* Small allocations continue in the first chunk, right after small1. */
    char *small2 = arena_alloc(a, 32);
    assert_ptr_equal(small2, small1 + 32);
    assert_int_equal(arena_used(a), 32 + (1 << 20) + 32);
    arena_free(a);
}

static void test_arena_huge_request_fails_cleanly(void **state)
{
    (void)state;
    struct arena *a = arena_new(1024, 0);
    assert_null(arena_alloc(a, SIZE_MAX - 8));
    assert_null(arena_strndup(a, "x", SIZE_MAX));
    arena_free(a);
}

static void test_arena_reset_reuses_first_chunk(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    void *first = arena_alloc(a, 64);
    for (int i = 0; i < 1000; i++)
        assert_non_null(arena_alloc(a, 200));
    assert_true(arena_used(a) > 4096);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_ptr_equal(arena_alloc(a, 64), first);
    arena_free(a);
}

static void test_arena_free_accepts_null(void **state)
{
    (void)state;
    arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc_is_16_byte_aligned_and_usable),
        cmocka_unit_test(test_arena_zalloc_returns_zeroed_memory),
        cmocka_unit_test(test_arena_strndup_copies_and_terminates),
        cmocka_unit_test(test_arena_returns_null_when_cap_is_hit),
        cmocka_unit_test(test_arena_cap_smaller_than_chunk_limits_first_chunk),
        cmocka_unit_test(test_arena_big_allocation_gets_own_block),
        cmocka_unit_test(test_arena_huge_request_fails_cleanly),
        cmocka_unit_test(test_arena_reset_reuses_first_chunk),
        cmocka_unit_test(test_arena_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
