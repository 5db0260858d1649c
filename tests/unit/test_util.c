/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for slices and small helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"

static void test_slice_eq_compares_bytes_and_length(void **state)
{
    (void)state;
    assert_true(slice_eq(SLICE_LIT("abc"), slice_cstr("abc")));
    assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abcd")));
    assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abC")));
    assert_true(slice_eq(SLICE_NULL, slice_make("x", 0)));
    assert_true(slice_is_empty(slice_cstr(NULL)));
}

static void test_slice_caseeq_folds_ascii_only(void **state)
{
    (void)state;
    assert_true(slice_caseeq(SLICE_LIT("Call-ID"), SLICE_LIT("call-id")));
    assert_true(slice_caseeq_cstr(SLICE_LIT("INVITE"), "invite"));
    assert_false(slice_caseeq(SLICE_LIT("Via"), SLICE_LIT("Vial")));
    assert_false(slice_caseeq(SLICE_LIT("@"), SLICE_LIT("`")));
    assert_false(slice_caseeq(SLICE_LIT("\xc9"), SLICE_LIT("\xe9")));
}

static void test_slice_trim_strips_whitespace_both_ends(void **state)
{
    (void)state;
    struct slice s = slice_trim(SLICE_LIT(" \t\r\n value x \r\n"));
    assert_true(slice_eq(s, SLICE_LIT("value x")));
    assert_true(slice_is_empty(slice_trim(SLICE_LIT(" \t "))));
    assert_true(slice_is_empty(slice_trim(SLICE_NULL)));
}

static void test_slice_to_u64_parses_and_rejects_junk_and_overflow(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("0"), 10), 0);
    assert_int_equal(v, 0);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("4294967295"), UINT32_MAX), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("18446744073709551615"), UINT64_MAX), 0);
    assert_int_equal(v, UINT64_MAX);
    v = 7;
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("18446744073709551616"), UINT64_MAX), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("4294967296"), UINT32_MAX), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("70"), 69), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT(""), 10), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("1a"), 100), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT("-1"), 100), -EINVAL);
    assert_int_equal(slice_to_u64(&v, SLICE_LIT(" 1"), 100), -EINVAL);
    assert_int_equal(v, 7); /* untouched on failure */
}

struct outer {
    int a;
    struct slice inner;
};

static void test_container_of_recovers_outer_struct(void **state)
{
    (void)state;
    struct outer o;
    assert_ptr_equal(SW_CONTAINER_OF(&o.inner, struct outer, inner), &o);
    int arr[7];
    assert_int_equal(SW_ARRAY_LEN(arr), 7);
    assert_int_equal(SW_MIN(3, 4), 3);
    assert_int_equal(SW_MAX(3, 4), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_eq_compares_bytes_and_length),
        cmocka_unit_test(test_slice_caseeq_folds_ascii_only),
        cmocka_unit_test(test_slice_trim_strips_whitespace_both_ends),
        cmocka_unit_test(test_slice_to_u64_parses_and_rejects_junk_and_overflow),
        cmocka_unit_test(test_container_of_recovers_outer_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
