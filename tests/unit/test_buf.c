/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the capped byte buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_buf_append_grows_and_keeps_content(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(buf_append(&b, &c, 1), 0);
    }
    assert_int_equal(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b.p[i], 'a' + i % 26);
    buf_fini(&b);
}

static void test_buf_append_past_max_returns_emsgsize_and_keeps_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(buf_append(&b, "x", 1), -EMSGSIZE);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.p, "0123456789", 10);
    assert_int_equal(buf_reserve(&b, 1), -EMSGSIZE);
    assert_int_equal(buf_reserve(&b, 0), 0);
    assert_true(b.cap <= 10);
    buf_fini(&b);
}

static void test_buf_reserve_overflowing_size_fails(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
    assert_int_equal(b.len, 2);
    buf_fini(&b);
}

static void test_buf_printf_formats_short_and_long(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_printf(&b, "%s %d", "CSeq:", 42), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.p, "CSeq: 42", 8);
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 8 + 1001);
    assert_int_equal(b.p[8], '[');
    assert_int_equal(b.p[8 + 1000], ']');
    buf_fini(&b);
}

static void test_buf_printf_exactly_to_max_fits(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_printf(&b, "%s", "12345678"), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.p, "12345678", 8);
    assert_int_equal(buf_printf(&b, "%s", "9"), -EMSGSIZE);
    assert_int_equal(b.len, 8);
    buf_fini(&b);
}

static void test_buf_printf_past_max_returns_emsgsize(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_printf(&b, "%s", "abc"), 0);
    assert_int_equal(buf_printf(&b, "%s", "this is far too long"), -EMSGSIZE);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "abc", 3);
    buf_fini(&b);
}

static void test_buf_consume_drops_prefix(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_slice(&b, SLICE_LIT("INVITE sip:a@b")), 0);
    buf_consume(&b, 7);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.p, "sip:a@b", 7);
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    buf_clear(&b);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
    assert_null(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_grows_and_keeps_content),
        cmocka_unit_test(test_buf_append_past_max_returns_emsgsize_and_keeps_buffer),
        cmocka_unit_test(test_buf_reserve_overflowing_size_fails),
        cmocka_unit_test(test_buf_printf_formats_short_and_long),
        cmocka_unit_test(test_buf_printf_exactly_to_max_fits),
        cmocka_unit_test(test_buf_printf_past_max_returns_emsgsize),
        cmocka_unit_test(test_buf_consume_drops_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
