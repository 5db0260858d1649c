/* SPDX-License-Identifier: BSD-2-Clause */
/* Proxy pure helpers: Record-Route values, best-response ranking, loop hash. */
#include "app/proxy/proxy.h"

#include "sip/sipmsg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "msg_helper.h"

static void test_record_route_value_is_loose_and_names_transport(void **state)
{
    (void)state;
    struct tp_listen l = {.proto = TP_TCP};
    char out[128];
    assert_int_equal(tp_addr_parse(&l.addr, SLICE_LIT("192.0.2.1:5070"), 5060), 0);
    int n = proxy_rr_value(out, sizeof(out), &l);
    assert_true(n > 0);
    assert_string_equal(out, "<sip:192.0.2.1:5070;transport=tcp;lr>");
    l.proto = TP_UDP;
    assert_int_equal(tp_addr_parse(&l.addr, SLICE_LIT("[2001:db8::1]:5060"), 5060), 0);
    assert_true(proxy_rr_value(out, sizeof(out), &l) > 0);
    assert_string_equal(out, "<sip:[2001:db8::1]:5060;transport=udp;lr>");
    assert_int_equal(proxy_rr_value(out, 8, &l), -EMSGSIZE);
}

static void test_best_response_prefers_6xx_then_lowest_class(void **state)
{
    (void)state;
    assert_true(proxy_response_rank(603) < proxy_response_rank(302));
    assert_true(proxy_response_rank(302) < proxy_response_rank(486));
    assert_true(proxy_response_rank(486) < proxy_response_rank(500));
    /* 401/407 beat other 4xx (§16.7 step 6), our 408 loses to a real 4xx */
    assert_true(proxy_response_rank(407) < proxy_response_rank(404));
    assert_true(proxy_response_rank(404) < proxy_response_rank(408));
    /* 503 is the worst 5xx: it is turned into 500 */
    assert_true(proxy_response_rank(500) < proxy_response_rank(503));
    assert_true(proxy_response_rank(408) < proxy_response_rank(503));
}

static const char REQ[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKabc\r\n"
                          "Max-Forwards: 70\r\n"
                          "From: <sip:alice@example.com>;tag=a1\r\n"
                          "To: <sip:bob@example.com>\r\n"
                          "Call-ID: c1@192.0.2.9\r\n"
                          "CSeq: 1 INVITE\r\n"
                          "Content-Length: 0\r\n\r\n";

static void test_loop_hash_ignores_via_but_not_request_uri(void **state)
{
    (void)state;
    struct sipmsg *a = test_msg_parse_str(REQ);
    /* the same request after one hop through us: our Via on top, MF 69 */
    char hop[sizeof(REQ) + 128];
    const char *via = strstr(REQ, "Via:");
    snprintf(hop, sizeof(hop), "%.*sVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsw00x\r\n%s",
             (int)(via - REQ), REQ, via);
    struct sipmsg *b = test_msg_parse_str(hop);
    assert_true(proxy_loop_hash(a) == proxy_loop_hash(b));
    /* a spiral: the Request-URI was rewritten */
    char spiral[sizeof(REQ)];
    memcpy(spiral, REQ, sizeof(REQ));
    memcpy(strstr(spiral, "bob@"), "bib@", 4);
    struct sipmsg *c = test_msg_parse_str(spiral);
    assert_true(proxy_loop_hash(a) != proxy_loop_hash(c));
    sipmsg_unref(a);
    sipmsg_unref(b);
    sipmsg_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_route_value_is_loose_and_names_transport),
        cmocka_unit_test(test_best_response_prefers_6xx_then_lowest_class),
        cmocka_unit_test(test_loop_hash_ignores_via_but_not_request_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
