/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for source bans, CIDR lists and scanner detection (sec/),
 * driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sec/acl.h"
#include "sec/ban.h"
#include "sec/scanner.h"

#define T0 5000000u

static struct security_conf conf(unsigned table)
{
    struct security_conf c = {0};
    c.auth_failures.max = 10;
    c.auth_failures.window_ms = 60000;
    c.auth_failures.ban_ms = 900000;
    c.ban_table_size = table;
    return c;
}

static struct acl_ip ip(const char *s)
{
    struct acl_ip a;
    assert_int_equal(acl_ip_parse(&a, s), 0);
    return a;
}

static void test_source_is_banned_after_max_failures_within_window(void **state)
{
    (void)state;
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, NULL);
    struct acl_ip src = ip("198.51.100.7");
    for (unsigned i = 0; i < 9; i++)
        assert_false(ban_auth_failure(t, &src, SLICE_LIT("alice@example.com"), T0 + i * 1000));
    assert_false(ban_check(t, &src, T0 + 9000));
    assert_true(ban_auth_failure(t, &src, SLICE_LIT("alice@example.com"), T0 + 9000));
    assert_true(ban_check(t, &src, T0 + 9001));
    struct acl_ip other = ip("198.51.100.8");
    assert_false(ban_check(t, &other, T0 + 9001));
    ban_free(t);
}

static void test_failures_spread_beyond_window_do_not_ban(void **state)
{
    (void)state;
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, NULL);
    struct acl_ip src = ip("2001:db8::1");
    /* 30 failures 7 s apart: never 10 within 60 s */
    for (unsigned i = 0; i < 30; i++)
        assert_false(ban_auth_failure(t, &src, SLICE_NULL, T0 + i * 7000));
    assert_false(ban_check(t, &src, T0 + 30 * 7000));
    ban_free(t);
}

static void test_ban_expires_after_ban_time(void **state)
{
    (void)state;
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, NULL);
    struct acl_ip src = ip("203.0.113.9");
    for (unsigned i = 0; i < 10; i++)
        (void)ban_auth_failure(t, &src, SLICE_NULL, T0 + i);
    assert_true(ban_check(t, &src, T0 + 9 + 899999));
    assert_false(ban_check(t, &src, T0 + 9 + 900000));
    /* after the ban the count starts afresh */
    assert_false(ban_auth_failure(t, &src, SLICE_NULL, T0 + 1000000));
    assert_false(ban_check(t, &src, T0 + 1000001));
    ban_free(t);
}

static void test_trusted_source_is_never_banned(void **state)
{
    (void)state;
    char *nets[] = {"10.0.0.0/8", "2001:db8:1::/48"};
    char err[128];
    struct acl *trusted = acl_new(nets, 2, err, sizeof(err));
    assert_non_null(trusted);
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, trusted);
    struct acl_ip src = ip("10.1.2.3"), src6 = ip("2001:db8:1:ffff::5");
    for (unsigned i = 0; i < 100; i++) {
        assert_false(ban_auth_failure(t, &src, SLICE_NULL, T0 + i));
        assert_false(ban_auth_failure(t, &src6, SLICE_NULL, T0 + i));
    }
    assert_false(ban_check(t, &src, T0 + 100));
    assert_false(ban_check(t, &src6, T0 + 100));
    assert_false(ban_add(t, &src, 1000, "test", T0));
    ban_free(t);
    acl_free(trusted);
}

static void test_million_spoofed_sources_stay_within_table_bound(void **state)
{
    (void)state;
    struct security_conf c = conf(65536);
    struct ban_table *t = ban_new(&c, NULL);
    struct acl_ip attacker = ip("192.0.2.66");
    for (unsigned i = 0; i < 10; i++)
        (void)ban_auth_failure(t, &attacker, SLICE_NULL, T0 + i);
    assert_true(ban_check(t, &attacker, T0 + 10));
    for (uint32_t i = 0; i < 1000000; i++) {
        struct acl_ip a = ip("::ffff:0.0.0.0");
        a.b[12] = (uint8_t)(i >> 24 | 0x80);
        a.b[13] = (uint8_t)(i >> 16);
        a.b[14] = (uint8_t)(i >> 8);
        a.b[15] = (uint8_t)i;
        (void)ban_auth_failure(t, &a, SLICE_NULL, T0 + 20 + i / 1000);
    }
    assert_int_equal(ban_capacity(t), 65536);
    assert_true(ban_entry_count(t) <= ban_capacity(t));
    assert_true(ban_entry_count(t) > 60000);
    /* one-off failures are evicted before an active ban */
    assert_true(ban_check(t, &attacker, T0 + 2000));
    ban_free(t);
}

static void test_account_failures_are_counted_but_never_banned(void **state)
{
    (void)state;
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, NULL);
    char addr[32];
    for (unsigned i = 0; i < 20; i++) {
        snprintf(addr, sizeof(addr), "198.18.0.%u", i + 1);
        struct acl_ip a = ip(addr);
        assert_false(ban_auth_failure(t, &a, SLICE_LIT("alice@example.com"), T0 + i));
    }
    assert_int_equal(ban_aor_failures(t, SLICE_LIT("alice@example.com"), T0 + 20), 20);
    /* alice's own phone, from a fresh address, is not affected */
    struct acl_ip phone = ip("198.18.1.1");
    assert_false(ban_check(t, &phone, T0 + 21));
    ban_free(t);
}

static void test_manual_ban_and_removal(void **state)
{
    (void)state;
    struct security_conf c = conf(1024);
    struct ban_table *t = ban_new(&c, NULL);
    struct acl_ip src = ip("203.0.113.1");
    assert_true(ban_add(t, &src, 5000, "flood", T0));
    assert_true(ban_check(t, &src, T0 + 4999));
    assert_true(ban_remove(t, &src));
    assert_false(ban_check(t, &src, T0 + 1));
    assert_false(ban_remove(t, &src));
    ban_free(t);
}

static void test_acl_matches_cidr_prefixes(void **state)
{
    (void)state;
    char *nets[] = {"192.0.2.0/24", "2001:db8::/32", "198.51.100.7"};
    char err[128];
    struct acl *acl = acl_new(nets, 3, err, sizeof(err));
    assert_non_null(acl);
    struct acl_ip a = ip("192.0.2.200"), b = ip("192.0.3.1"), c6 = ip("2001:db8:ffff::1"),
                  d = ip("198.51.100.7"), e = ip("198.51.100.8");
    assert_true(acl_match(acl, &a));
    assert_false(acl_match(acl, &b));
    assert_true(acl_match(acl, &c6));
    assert_true(acl_match(acl, &d));
    assert_false(acl_match(acl, &e));
    acl_free(acl);
    char *badnets[] = {"192.0.2.0/33"};
    assert_null(acl_new(badnets, 1, err, sizeof(err)));
    assert_non_null(acl_cidr_check("10.0.0.0/x", 10));
    assert_null(acl_cidr_check("::/0", 4));
}

static void test_scanner_user_agent_matches_case_insensitively(void **state)
{
    (void)state;
    char *pats[] = {"friendly-scanner", "sipvicious", "sipcli",   "sip-scan", "sundayddr", "iWar",
                    "VaxSIPUserAgent",  "smap",       "SIPBomber"};
    struct scanner *s = scanner_new(pats, SW_ARRAY_LEN(pats));
    assert_non_null(s);
    assert_true(scanner_match_ua(s, SLICE_LIT("Friendly-Scanner")));
    assert_true(scanner_match_ua(s, SLICE_LIT("SIPVicious 0.3.4")));
    assert_true(scanner_match_ua(s, SLICE_LIT("iwar")));
    assert_false(scanner_match_ua(s, SLICE_LIT("sipsak 0.9.8")));
    assert_false(scanner_match_ua(s, SLICE_LIT("Linphone/5.2")));
    scanner_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_is_banned_after_max_failures_within_window),
        cmocka_unit_test(test_failures_spread_beyond_window_do_not_ban),
        cmocka_unit_test(test_ban_expires_after_ban_time),
        cmocka_unit_test(test_trusted_source_is_never_banned),
        cmocka_unit_test(test_million_spoofed_sources_stay_within_table_bound),
        cmocka_unit_test(test_account_failures_are_counted_but_never_banned),
        cmocka_unit_test(test_manual_ban_and_removal),
        cmocka_unit_test(test_acl_matches_cidr_prefixes),
        cmocka_unit_test(test_scanner_user_agent_matches_case_insensitively),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
