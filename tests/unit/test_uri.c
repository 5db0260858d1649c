/* SPDX-License-Identifier: BSD-2-Clause */
/* URI parser and comparison (sip/uri.h). */
#include "sip/uri.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static struct uri parse_ok(const char *s)
{
    struct uri u;
    struct sip_err err = {NULL, 0};
    int rc = uri_parse(&u, slice_cstr(s), &err);
    if (rc != SIP_PARSE_OK)
        print_message("# %s: %s at %zu\n", s, err.reason, err.offset);
    assert_int_equal(rc, SIP_PARSE_OK);
    return u;
}

static void parse_bad(const char *s)
{
    struct uri u;
    struct sip_err err = {NULL, 0};
    if (uri_parse(&u, slice_cstr(s), &err) != SIP_PARSE_BAD)
        fail_msg("accepted: %s", s);
    assert_non_null(err.reason);
}

static void assert_slice(struct slice s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void test_sip_uri_splits_user_password_host_port_params_and_headers(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:alice:secret@atlanta.example.com:5070;transport=tcp;lr"
                            "?subject=project%20x&priority=urgent");
    assert_int_equal(u.scheme, URI_SIP);
    assert_slice(u.scheme_s, "sip");
    assert_true(u.has_user);
    assert_slice(u.user, "alice");
    assert_slice(u.password, "secret");
    assert_slice(u.host, "atlanta.example.com");
    assert_int_equal(u.host_type, URI_HOST_NAME);
    assert_true(u.has_port);
    assert_int_equal(u.port, 5070);
    assert_slice(u.port_s, "5070");
    assert_slice(u.params, "transport=tcp;lr");
    assert_slice(u.transport, "tcp");
    assert_true(u.has_lr);
    assert_slice(u.headers, "subject=project%20x&priority=urgent");
}

static void test_scheme_is_case_insensitive_and_sips_is_recognised(void **state)
{
    (void)state;
    struct uri u = parse_ok("SIPS:bob@Biloxi.Example.COM");
    assert_int_equal(u.scheme, URI_SIPS);
    assert_false(u.has_port);
    assert_int_equal(u.port, 0);
    u = parse_ok("Sip:host.example.com");
    assert_int_equal(u.scheme, URI_SIP);
    assert_false(u.has_user);
}

static void test_ipv6_reference_keeps_brackets_and_port_follows(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:user@[2001:db8::10]:5070;maddr=[2001:db8::1]");
    assert_int_equal(u.host_type, URI_HOST_IPV6);
    assert_slice(u.host, "[2001:db8::10]");
    assert_int_equal(u.port, 5070);
    assert_slice(u.maddr, "[2001:db8::1]");
    u = parse_ok("sip:[2001:db8::10:5070]");
    assert_slice(u.host, "[2001:db8::10:5070]");
    assert_false(u.has_port);
    u = parse_ok("sip:ted@[::ffff:192.0.2.2]");
    assert_int_equal(u.host_type, URI_HOST_IPV6);
    u = parse_ok("sip:[::1]");
    u = parse_ok("sip:[2001:db8::192.0.2.1]");
    parse_bad("sip:[2001:db8:::192.0.2.1]");
    parse_bad("sip:[2001:db8::10");
    parse_bad("sip:[1:2:3:4:5:6:7:8:9]");
    parse_bad("sip:[12345::1]");
    parse_bad("sip:2001:db8::10");
}

static void test_ipv4_host_is_classified_and_bad_quads_are_rejected(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:192.0.2.1:5060");
    assert_int_equal(u.host_type, URI_HOST_IPV4);
    parse_bad("sip:192.0.2.256");
    parse_bad("sip:1.2.3");
}

static void test_hostname_rules_follow_rfc3261_grammar(void **state)
{
    (void)state;
    parse_ok("sip:a-b.example.com.");
    parse_ok("sip:x");
    parse_bad("sip:-a.example.com");
    parse_bad("sip:a-.example.com");
    parse_bad("sip:a..example.com");
    parse_bad("sip:host_name.example.com");
    parse_bad("sip:user@");
    parse_bad("sip:");
}

static void test_port_outside_1_to_65535_is_rejected(void **state)
{
    (void)state;
    parse_ok("sip:h.example.com:65535");
    parse_ok("sip:h.example.com:1");
    parse_bad("sip:h.example.com:0");
    parse_bad("sip:h.example.com:65536");
    parse_bad("sip:h.example.com:99999999");
    parse_bad("sip:h.example.com:");
    parse_bad("sip:h.example.com:50a");
}

static void test_escapes_are_validated_and_kept_escaped(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:sips%3Auser%40example.com@example.net");
    assert_slice(u.user, "sips%3Auser%40example.com");
    assert_slice(u.host, "example.net");
    u = parse_ok("sip:null-%00-null@example.com");
    assert_slice(u.user, "null-%00-null");
    parse_ok("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
    parse_bad("sip:a%zz@example.com");
    parse_bad("sip:a%4@example.com");
    parse_bad("sip:a@example.com;p=%g0");
    parse_bad("sip:a b@example.com");
}

static void test_user_part_may_hold_semicolons_and_unusual_characters(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:user;par=u%40example.net@example.com");
    assert_slice(u.user, "user;par=u%40example.net");
    assert_slice(u.host, "example.com");
    assert_int_equal(u.params.len, 0);
    u = parse_ok(
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
        "(doesn't-it)@example.com");
    assert_slice(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert_slice(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
}

static void test_tel_uri_needs_digits_and_local_numbers_need_phone_context(void **state)
{
    (void)state;
    struct uri u = parse_ok("tel:+1-201-555-0123");
    assert_int_equal(u.scheme, URI_TEL);
    assert_slice(u.user, "+1-201-555-0123");
    u = parse_ok("tel:7042;phone-context=example.com");
    assert_slice(u.params, "phone-context=example.com");
    parse_bad("tel:7042");
    parse_bad("tel:+");
    parse_bad("tel:+12a");
}

static void test_other_schemes_are_absolute_uris(void **state)
{
    (void)state;
    struct uri u = parse_ok("soap.beep://192.0.2.103:3002");
    assert_int_equal(u.scheme, URI_OTHER);
    assert_slice(u.scheme_s, "soap.beep");
    u = parse_ok("isbn:2983792873");
    assert_int_equal(u.scheme, URI_OTHER);
    parse_bad("nobody:");
    parse_bad("<sip:user@example.com>");
    parse_bad("1sip:x");
    parse_bad("");
    parse_bad("http://a b");
}

static void test_uri_param_find_returns_values_and_flags(void **state)
{
    (void)state;
    struct uri u = parse_ok("sip:h.example.com;Transport=UDP;lr;maddr=239.255.255.1;ttl=15");
    struct slice v;
    assert_true(uri_param_find(u.params, "transport", &v));
    assert_slice(v, "UDP");
    assert_true(uri_param_find(u.params, "LR", &v));
    assert_int_equal(v.len, 0);
    assert_true(uri_param_find(u.params, "ttl", &v));
    assert_slice(v, "15");
    assert_false(uri_param_find(u.params, "user", &v));
    assert_false(uri_param_find(u.params, "t", &v));
    assert_true(u.has_lr);
    assert_slice(u.maddr, "239.255.255.1");
}

static bool equal(const char *a, const char *b)
{
    struct uri x = parse_ok(a), y = parse_ok(b);
    bool e1 = uri_equal(&x, &y), e2 = uri_equal(&y, &x);
    assert_int_equal(e1, e2);
    return e1;
}

static void test_uri_equal_follows_rfc3261_19_1_4_examples(void **state)
{
    (void)state;
    /* equivalent pairs from RFC 3261 §19.1.4 */
    assert_true(
        equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    assert_true(equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    assert_true(equal("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
    assert_true(equal("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                      "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    assert_true(equal("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                      "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    /* non-equivalent pairs */
    assert_false(
        equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    assert_false(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert_false(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    assert_false(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
    assert_false(equal("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
    assert_false(equal("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    assert_false(equal("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
    assert_false(equal("sip:a@example.com", "sips:a@example.com"));
    assert_false(equal("sip:a:pw@example.com", "sip:a@example.com"));
    assert_true(equal("sip:a@[2001:DB8::1]", "sip:a@[2001:db8::1]"));
}

static void test_uri_equal_stays_reflexive_with_repeated_parameters(void **state)
{
    (void)state;
    /* found by fuzz_uri: repeated names are compared by first occurrence */
    assert_true(equal("sip:biloxi.com;transport=tcp;method=REsip:1_unusual.xi.com;transport=tcp;"
                      "method=REsip:1_unusual.URURI~(to-b",
                      "sip:biloxi.com;transport=tcp;method=REsip:1_unusual.xi.com;transport=tcp;"
                      "method=REsip:1_unusual.URURI~(to-b"));
    assert_true(equal("sip:a@b?x=1&x=2", "sip:a@b?x=1&x=2"));
    assert_true(equal("sip:a@b;p=1;p=2", "sip:a@b;p=1"));
}

static void test_tel_uris_compare_ignoring_visual_separators(void **state)
{
    (void)state;
    assert_true(equal("tel:+1-201-555-0123", "tel:+1(201)5550123"));
    assert_false(equal("tel:+1-201-555-0123", "tel:+1-201-555-0124"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sip_uri_splits_user_password_host_port_params_and_headers),
        cmocka_unit_test(test_scheme_is_case_insensitive_and_sips_is_recognised),
        cmocka_unit_test(test_ipv6_reference_keeps_brackets_and_port_follows),
        cmocka_unit_test(test_ipv4_host_is_classified_and_bad_quads_are_rejected),
        cmocka_unit_test(test_hostname_rules_follow_rfc3261_grammar),
        cmocka_unit_test(test_port_outside_1_to_65535_is_rejected),
        cmocka_unit_test(test_escapes_are_validated_and_kept_escaped),
        cmocka_unit_test(test_user_part_may_hold_semicolons_and_unusual_characters),
        cmocka_unit_test(test_tel_uri_needs_digits_and_local_numbers_need_phone_context),
        cmocka_unit_test(test_other_schemes_are_absolute_uris),
        cmocka_unit_test(test_uri_param_find_returns_values_and_flags),
        cmocka_unit_test(test_uri_equal_follows_rfc3261_19_1_4_examples),
        cmocka_unit_test(test_uri_equal_stays_reflexive_with_repeated_parameters),
        cmocka_unit_test(test_tel_uris_compare_ignoring_visual_separators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
