/* SPDX-License-Identifier: BSD-2-Clause */
/* Header ids and header value parsers (sip/hdr.h). */
#include "sip/hdr.h"

#include "sip/sipmsg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void assert_slice(struct slice s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static enum hdr_id lookup(const char *name)
{
    return hdr_id_lookup(name, strlen(name));
}

static void test_header_names_map_to_ids_in_any_case(void **state)
{
    (void)state;
    assert_int_equal(lookup("Via"), HDR_VIA);
    assert_int_equal(lookup("VIA"), HDR_VIA);
    assert_int_equal(lookup("call-id"), HDR_CALL_ID);
    assert_int_equal(lookup("CSEQ"), HDR_CSEQ);
    assert_int_equal(lookup("MaX-fOrWaRdS"), HDR_MAX_FORWARDS);
    assert_int_equal(lookup("www-authenticate"), HDR_WWW_AUTHENTICATE);
    assert_int_equal(lookup("P-Asserted-Identity"), HDR_P_ASSERTED_IDENTITY);
    assert_int_equal(lookup("X-Custom"), HDR_OTHER);
    assert_int_equal(lookup("Vias"), HDR_OTHER);
    assert_int_equal(lookup("C%6Fntact"), HDR_OTHER);
    assert_int_equal(hdr_id_lookup("", 0), HDR_OTHER);
}

static void test_compact_forms_map_to_their_long_ids(void **state)
{
    (void)state;
    static const struct {
        const char *c;
        enum hdr_id id;
    } forms[] = {
        {"v", HDR_VIA},
        {"f", HDR_FROM},
        {"t", HDR_TO},
        {"i", HDR_CALL_ID},
        {"m", HDR_CONTACT},
        {"l", HDR_CONTENT_LENGTH},
        {"c", HDR_CONTENT_TYPE},
        {"e", HDR_CONTENT_ENCODING},
        {"k", HDR_SUPPORTED},
        {"s", HDR_SUBJECT},
        {"o", HDR_EVENT},
        {"u", HDR_ALLOW_EVENTS},
        {"r", HDR_REFER_TO},
        {"b", HDR_REFERRED_BY},
        {"x", HDR_SESSION_EXPIRES},
        {"a", HDR_ACCEPT_CONTACT},
        {"j", HDR_REJECT_CONTACT},
        {"d", HDR_REQUEST_DISPOSITION},
        {"y", HDR_IDENTITY},
        {"V", HDR_VIA},
        {"L", HDR_CONTENT_LENGTH},
    };
    for (size_t i = 0; i < SW_ARRAY_LEN(forms); i++)
        assert_int_equal(lookup(forms[i].c), forms[i].id);
    assert_int_equal(lookup("z"), HDR_OTHER);
    assert_int_equal(lookup("n"), HDR_OTHER);
}

static void test_every_canonical_name_looks_up_to_its_own_id(void **state)
{
    (void)state;
    for (unsigned id = 1; id < HDR_COUNT; id++) {
        const char *name = hdr_name((enum hdr_id)id);
        assert_true(strlen(name) > 0);
        assert_int_equal(lookup(name), id);
    }
    assert_string_equal(hdr_name(HDR_OTHER), "");
    assert_string_equal(hdr_name(HDR_CALL_ID), "Call-ID");
    assert_true(hdr_is_list(HDR_VIA));
    assert_true(hdr_is_list(HDR_CONTACT));
    assert_true(hdr_is_list(HDR_ROUTE));
    assert_true(hdr_is_list(HDR_SUPPORTED));
    assert_false(hdr_is_list(HDR_FROM));
    assert_false(hdr_is_list(HDR_CSEQ));
    assert_false(hdr_is_list(HDR_OTHER));
}

static void test_list_split_ignores_commas_in_quotes_and_angle_brackets(void **state)
{
    (void)state;
    struct slice rest = slice_cstr("\"Doe, John \\\"JD\\\", Jr\" <sip:a@b;x=1,2>;q=0.5 ,"
                                   "  <sip:c@d?h=a,b> , sip:e@f");
    struct slice item;
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "\"Doe, John \\\"JD\\\", Jr\" <sip:a@b;x=1,2>;q=0.5");
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "<sip:c@d?h=a,b>");
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "sip:e@f");
    assert_false(hdr_list_next(&rest, &item));
}

static void test_list_split_skips_empty_elements_and_folded_whitespace(void **state)
{
    (void)state;
    struct slice rest = slice_cstr(" a ,,\r\n b, ,c,");
    struct slice item;
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "a");
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "b");
    assert_true(hdr_list_next(&rest, &item));
    assert_slice(item, "c");
    assert_false(hdr_list_next(&rest, &item));
    rest = slice_cstr("   ");
    assert_false(hdr_list_next(&rest, &item));
}

static void test_param_find_allows_lws_and_quoted_values(void **state)
{
    (void)state;
    struct slice params = slice_cstr(" newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33;"
                                     "x=\"a;b\"");
    struct slice v;
    assert_true(hdr_param_find(params, "NEWPARAM", &v));
    assert_slice(v, "newvalue");
    assert_true(hdr_param_find(params, "secondparam", &v));
    assert_int_equal(v.len, 0);
    assert_true(hdr_param_find(params, "q", &v));
    assert_slice(v, "0.33");
    assert_true(hdr_param_find(params, "x", &v));
    assert_slice(v, "\"a;b\"");
    assert_false(hdr_param_find(params, "b\"", &v));
    assert_false(hdr_param_find(params, "new", &v));
}

static struct sip_via via_ok(const char *s)
{
    struct sip_via v;
    struct sip_err err = {NULL, 0};
    int rc = hdr_parse_via(&v, slice_cstr(s), &err);
    if (rc != SIP_PARSE_OK)
        print_message("# %s: %s at %zu\n", s, err.reason, err.offset);
    assert_int_equal(rc, SIP_PARSE_OK);
    return v;
}

static void via_bad(const char *s)
{
    struct sip_via v;
    struct sip_err err = {NULL, 0};
    if (hdr_parse_via(&v, slice_cstr(s), &err) != SIP_PARSE_BAD)
        fail_msg("accepted Via: %s", s);
    assert_string_equal(err.reason, "Bad Via");
}

static void test_via_allows_lws_around_slashes_and_finds_params(void **state)
{
    (void)state;
    struct sip_via v = via_ok("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
    assert_slice(v.transport, "UDP");
    assert_slice(v.host, "192.0.2.2");
    assert_false(v.has_port);
    assert_slice(v.branch, "390skdjuw");
    v = via_ok("SIP/2.0/TCP spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8");
    assert_slice(v.protocol, "SIP/2.0");
    assert_slice(v.host, "spindle.example.com");
    assert_slice(v.branch, "z9hG4bK9ikj8");
    v = via_ok("SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776;rport;received=192.0.2.1"
               ";maddr=224.2.0.1;ttl=16");
    assert_int_equal(v.port, 5060);
    assert_true(v.has_port);
    assert_true(v.has_rport);
    assert_int_equal(v.rport.len, 0);
    assert_slice(v.received, "192.0.2.1");
    assert_slice(v.maddr, "224.2.0.1");
    assert_slice(v.params, "branch=z9hG4bK776;rport;received=192.0.2.1;maddr=224.2.0.1;ttl=16");
    v = via_ok("SIP/2.0/UDP host : 5080 ;rport=5081");
    assert_int_equal(v.port, 5080);
    assert_slice(v.rport, "5081");
}

static void test_via_accepts_ipv6_sent_by_and_received_with_or_without_brackets(void **state)
{
    (void)state;
    struct sip_via v = via_ok("SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255]");
    assert_slice(v.host, "[2001:db8::9:1]");
    assert_int_equal(v.port, 6050);
    assert_slice(v.received, "[2001:db8::9:255]");
    v = via_ok("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3");
    assert_slice(v.received, "2001:db8::9:255");
    assert_slice(v.branch, "z9hG4bKas3");
}

static void test_via_rejects_malformed_values(void **state)
{
    (void)state;
    via_bad("SIP/2.0/UDP 192.0.2.15;;");
    via_bad("SIP/2.0/UDP 192.0.2.15;");
    via_bad("SIP/2.0/UDP");
    via_bad("SIP/2.0 192.0.2.15");
    via_bad("SIP/2.0/UDP192.0.2.15");
    via_bad("SIP/2.0/UDP host:0");
    via_bad("SIP/2.0/UDP host:70000");
    via_bad("SIP/2.0/UDP [::1");
    via_bad("SIP/2.0/UDP host;branch=");
    via_bad("SIP/2.0/UDP host;received=host.example.com");
    via_bad("SIP/2.0/UDP host;rport=0");
    via_bad("SIP/2.0/UDP host;ttl=256");
    via_bad("SIP/2.0/UDP host junk");
    via_bad("");
}

static struct sip_nameaddr na_ok(const char *s)
{
    struct sip_nameaddr na;
    struct sip_err err = {NULL, 0};
    int rc = hdr_parse_nameaddr(&na, slice_cstr(s), &err);
    if (rc != SIP_PARSE_OK)
        print_message("# %s: %s at %zu\n", s, err.reason, err.offset);
    assert_int_equal(rc, SIP_PARSE_OK);
    return na;
}

static void na_bad(const char *s)
{
    struct sip_nameaddr na;
    struct sip_err err = {NULL, 0};
    if (hdr_parse_nameaddr(&na, slice_cstr(s), &err) != SIP_PARSE_BAD)
        fail_msg("accepted: %s", s);
    assert_non_null(err.reason);
}

static void test_name_addr_with_quoted_display_name_and_tag(void **state)
{
    (void)state;
    struct sip_nameaddr na = na_ok("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
                                   "  ;\r\n  tag = 98asjd8");
    assert_slice(na.display, "\"J Rosenberg \\\\\\\"\"");
    assert_slice(na.uri_s, "sip:jdrosen@example.com");
    assert_slice(na.uri.host, "example.com");
    assert_slice(na.tag, "98asjd8");
    assert_false(na.is_star);
}

static void test_name_addr_with_token_display_name_or_none(void **state)
{
    (void)state;
    struct sip_nameaddr na = na_ok("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
                                   ";tag=_token~1'+`*%!-.");
    assert_slice(na.display, "token1~` token2'+_ token3*%!.-");
    assert_slice(na.tag, "_token~1'+`*%!-.");
    na = na_ok("caller<sip:caller@example.com>;tag=323");
    assert_slice(na.display, "caller");
    na = na_ok("<sip:a@example.com>");
    assert_int_equal(na.display.len, 0);
    assert_int_equal(na.params.len, 0);
}

static void test_addr_spec_parameters_belong_to_the_header(void **state)
{
    (void)state;
    struct sip_nameaddr na = na_ok("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
    assert_slice(na.uri_s, "sip:vivekg@chair-dnrc.example.com");
    assert_int_equal(na.uri.params.len, 0);
    assert_slice(na.tag, "1918181833n");
    na = na_ok("sip:+19725552222@gw1.example.net;unknownparam");
    assert_slice(na.params, "unknownparam");
    assert_int_equal(na.uri.params.len, 0);
    na = na_ok("<sip:+19725552222@gw1.example.net;unknownparam>");
    assert_slice(na.uri.params, "unknownparam");
    assert_int_equal(na.params.len, 0);
}

static void test_contact_star_is_recognised(void **state)
{
    (void)state;
    struct sip_nameaddr na = na_ok("*");
    assert_true(na.is_star);
    na = na_ok("  *  ");
    assert_true(na.is_star);
}

static void test_malformed_name_addr_is_rejected(void **state)
{
    (void)state;
    na_bad("\"Mr. J. User <sip:j.user@example.com>");
    na_bad("Bell, Alexander <sip:a.g.bell@example.com>;tag=43");
    na_bad("\"Watson, Thomas\" < sip:t.watson@example.org >");
    na_bad("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
    na_bad("<sip:user@example.com");
    na_bad("<sip:user@example.com>;");
    na_bad("<sip:user@example.com>;tag=");
    na_bad("<sip:user@example.com> junk");
    na_bad("\"quoted\" sip:a@b");
    na_bad("");
    na_bad("<sip:a@b>;;;;");
}

static struct sip_cseq cseq_ok(const char *s)
{
    struct sip_cseq c;
    struct sip_err err = {NULL, 0};
    assert_int_equal(hdr_parse_cseq(&c, slice_cstr(s), &err), SIP_PARSE_OK);
    return c;
}

static void cseq_bad(const char *s)
{
    struct sip_cseq c;
    struct sip_err err = {NULL, 0};
    if (hdr_parse_cseq(&c, slice_cstr(s), &err) != SIP_PARSE_BAD)
        fail_msg("accepted CSeq: %s", s);
    assert_string_equal(err.reason, "Bad CSeq");
}

static void test_cseq_number_and_method_with_leading_zeros_and_folding(void **state)
{
    (void)state;
    struct sip_cseq c = cseq_ok("0009\r\n  INVITE");
    assert_int_equal(c.num, 9);
    assert_slice(c.method_s, "INVITE");
    assert_int_equal(c.method, SIP_INVITE);
    c = cseq_ok("2147483647 RE%47IST%45R");
    assert_int_equal(c.num, 2147483647u);
    assert_int_equal(c.method, SIP_METHOD_OTHER);
    c = cseq_ok("0 ACK");
    assert_int_equal(c.method, SIP_ACK);
}

static void test_cseq_above_2_pow_31_or_malformed_is_rejected(void **state)
{
    (void)state;
    cseq_bad("2147483648 INVITE");
    cseq_bad("36893488147419103232 REGISTER");
    cseq_bad("INVITE");
    cseq_bad("1");
    cseq_bad("1INVITE");
    cseq_bad("-1 INVITE");
    cseq_bad("1 INVITE junk");
    cseq_bad("1 INV@ITE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_names_map_to_ids_in_any_case),
        cmocka_unit_test(test_compact_forms_map_to_their_long_ids),
        cmocka_unit_test(test_every_canonical_name_looks_up_to_its_own_id),
        cmocka_unit_test(test_list_split_ignores_commas_in_quotes_and_angle_brackets),
        cmocka_unit_test(test_list_split_skips_empty_elements_and_folded_whitespace),
        cmocka_unit_test(test_param_find_allows_lws_and_quoted_values),
        cmocka_unit_test(test_via_allows_lws_around_slashes_and_finds_params),
        cmocka_unit_test(test_via_accepts_ipv6_sent_by_and_received_with_or_without_brackets),
        cmocka_unit_test(test_via_rejects_malformed_values),
        cmocka_unit_test(test_name_addr_with_quoted_display_name_and_tag),
        cmocka_unit_test(test_name_addr_with_token_display_name_or_none),
        cmocka_unit_test(test_addr_spec_parameters_belong_to_the_header),
        cmocka_unit_test(test_contact_star_is_recognised),
        cmocka_unit_test(test_malformed_name_addr_is_rejected),
        cmocka_unit_test(test_cseq_number_and_method_with_leading_zeros_and_folding),
        cmocka_unit_test(test_cseq_above_2_pow_31_or_malformed_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
