/* SPDX-License-Identifier: BSD-2-Clause */
/* Response and request builders (sip/build.h). */
#include "sip/build.h"

#include "core/buf.h"
#include "sip/sipmsg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_helper.h"

static const char INVITE[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2;rport,"
                             " SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
                             "Max-Forwards: 68\r\n"
                             "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n"
                             "t: Bob <sip:bob@biloxi.example.com>\r\n"
                             "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                             "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Timestamp: 54\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n";

/* Builds into a fresh buf and returns it NUL-terminated (caller frees). */
static char *reply(const struct sipmsg *req, unsigned code, const char *reason,
                   const struct sipmsg_reply_opts *o)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = sipmsg_reply_build(&b, req, code, slice_cstr(reason), o);
    assert_int_equal(rc, 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    return b.p;
}

static void test_response_copies_every_via_in_order_and_adds_to_tag(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipmsg_reply_opts o = {.to_tag = SLICE_LIT("sw42")};
    char *out = reply(m, 486, NULL, &o);
    assert_string_equal(out, "SIP/2.0 486 Busy Here\r\n"
                             "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2;rport,"
                             " SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
                             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n"
                             "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                             "To: Bob <sip:bob@biloxi.example.com>;tag=sw42\r\n"
                             "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Content-Length: 0\r\n"
                             "\r\n");
    struct sipmsg *r = test_msg_parse_str(out);
    assert_int_equal(r->status, 486);
    assert_int_equal(r->via_count, 3);
    assert_true(slice_eq(r->to.tag, SLICE_LIT("sw42")));
    free(out);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_100_trying_has_no_to_tag_and_copies_timestamp(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    char *out = reply(m, 100, NULL, NULL);
    assert_non_null(strstr(out, "SIP/2.0 100 Trying\r\n"));
    assert_non_null(strstr(out, "To: Bob <sip:bob@biloxi.example.com>\r\n"));
    assert_non_null(strstr(out, "\r\nTimestamp: 54\r\n"));
    free(out);
    out = reply(m, 180, NULL, &(struct sipmsg_reply_opts){.to_tag = SLICE_LIT("a")});
    assert_null(strstr(out, "Timestamp"));
    free(out);
    sipmsg_unref(m);
}

static void test_to_tag_is_made_from_caller_random_bytes(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    static const uint8_t rnd[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03};
    struct sipmsg_reply_opts o = {.rand = rnd, .rand_len = sizeof(rnd)};
    char *out = reply(m, 404, NULL, &o);
    assert_non_null(strstr(out, ">;tag=deadbeef00010203\r\n"));
    free(out);
    /* no tag and no randomness: refused rather than a dialog without a tag */
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(sipmsg_reply_build(&b, m, 404, SLICE_NULL, NULL), -EINVAL);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
    sipmsg_unref(m);
}

static void test_existing_to_tag_is_kept(void **state)
{
    (void)state;
    static const char bye[] = "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
                              "From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
                              "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                              "Call-ID: a84b4c76e66710\r\nCSeq: 231 BYE\r\n\r\n";
    struct sipmsg *m = test_msg_parse_str(bye);
    char *out = reply(m, 200, NULL, &(struct sipmsg_reply_opts){.to_tag = SLICE_LIT("zz")});
    assert_non_null(strstr(out, "To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"));
    assert_null(strstr(out, "zz"));
    free(out);
    sipmsg_unref(m);
}

static void test_received_and_rport_are_set_on_the_top_via_only(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipmsg_reply_opts o = {
        .to_tag = SLICE_LIT("t"), .src_ip = SLICE_LIT("198.51.100.9"), .src_port = 35060};
    char *out = reply(m, 200, NULL, &o);
    assert_non_null(strstr(out,
                           "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2;rport=35060"
                           ";received=198.51.100.9, SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
                           "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n"));
    struct sipmsg *r = test_msg_parse_str(out);
    assert_int_equal(r->via1.rport.len, 5);
    assert_int_equal(strncmp(r->via1.received.p, "198.51.100.9", 12), 0);
    free(out);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_bare_rport_in_the_middle_and_existing_received_are_filled(void **state)
{
    (void)state;
    static const char req[] = "REGISTER sip:example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;received=10.0.0.5"
                              ";branch=z9hG4bKr\r\n"
                              "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                              "Call-ID: r1\r\nCSeq: 1 REGISTER\r\n\r\n";
    struct sipmsg *m = test_msg_parse_str(req);
    struct sipmsg_reply_opts o = {
        .to_tag = SLICE_LIT("t"), .src_ip = SLICE_LIT("203.0.113.50"), .src_port = 1024};
    char *out = reply(m, 401, NULL, &o);
    assert_non_null(strstr(out, "Via: SIP/2.0/UDP 10.0.0.5:5060;rport=1024;received=203.0.113.50"
                                ";branch=z9hG4bKr\r\n"));
    free(out);
    sipmsg_unref(m);
}

static void test_received_is_omitted_when_sent_by_matches_without_rport(void **state)
{
    (void)state;
    static const char req[] = "OPTIONS sip:example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKo\r\n"
                              "From: <sip:a@example.com>;tag=1\r\nTo: <sip:example.com>\r\n"
                              "Call-ID: o1\r\nCSeq: 7 OPTIONS\r\n\r\n";
    struct sipmsg *m = test_msg_parse_str(req);
    struct sipmsg_reply_opts o = {
        .to_tag = SLICE_LIT("t"), .src_ip = SLICE_LIT("192.0.2.7"), .src_port = 5060};
    char *out = reply(m, 200, NULL, &o);
    assert_non_null(strstr(out, "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKo\r\n"));
    free(out);
    sipmsg_unref(m);
}

static void test_400_from_a_request_that_failed_parsing_but_can_reply(void **state)
{
    (void)state;
    static const char req[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbad;rport\r\n"
                              "Max-Forwards: seventy\r\n"
                              "From: <sip:alice@example.com>;tag=9\r\n"
                              "To: <sip:bob@example.com>\r\n"
                              "Call-ID: bad1@192.0.2.1\r\n"
                              "CSeq: 5 INVITE\r\n"
                              "Contact: <sip:alice@192.0.2.1>\r\n\r\n";
    struct sip_limits lim = SIP_LIMITS_DEFAULT;
    struct sip_err err = {0};
    struct sipmsg *m = sipmsg_new(req, strlen(req), &lim);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, &err), SIP_PARSE_BAD);
    assert_true(sipmsg_can_reply(m));
    static const uint8_t rnd[] = {1, 2, 3, 4};
    struct sipmsg_reply_opts o = {.rand = rnd,
                                  .rand_len = sizeof(rnd),
                                  .src_ip = SLICE_LIT("192.0.2.1"),
                                  .src_port = 5062,
                                  .server = SLICE_LIT("sipwarden")};
    char *out = reply(m, 400, err.reason, &o);
    assert_string_equal(out, "SIP/2.0 400 Bad Max-Forwards\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbad;rport=5062"
                             ";received=192.0.2.1\r\n"
                             "From: <sip:alice@example.com>;tag=9\r\n"
                             "To: <sip:bob@example.com>;tag=01020304\r\n"
                             "Call-ID: bad1@192.0.2.1\r\n"
                             "CSeq: 5 INVITE\r\n"
                             "Server: sipwarden\r\n"
                             "Content-Length: 0\r\n\r\n");
    sipmsg_unref(test_msg_parse_str(out));
    free(out);
    sipmsg_unref(m);
}

static void test_server_extra_lines_and_body_are_written(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    static const struct slice extra[] = {SLICE_LIT("Allow: INVITE, ACK, BYE"),
                                         SLICE_LIT("Retry-After: 30")};
    struct sipmsg_reply_opts o = {.to_tag = SLICE_LIT("t"),
                                  .server = SLICE_LIT("sipwarden/0.1"),
                                  .extra = extra,
                                  .extra_count = 2,
                                  .content_type = SLICE_LIT("text/plain"),
                                  .body = SLICE_LIT("busy")};
    char *out = reply(m, 503, "Overloaded", &o);
    assert_non_null(strstr(out, "SIP/2.0 503 Overloaded\r\n"));
    assert_non_null(strstr(out, "CSeq: 314159 INVITE\r\nServer: sipwarden/0.1\r\n"
                                "Allow: INVITE, ACK, BYE\r\nRetry-After: 30\r\n"
                                "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nbusy"));
    struct sipmsg *r = test_msg_parse_str(out);
    assert_int_equal(r->body.len, 4);
    free(out);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_caller_buffer_variant_matches_and_reports_emsgsize(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipmsg_reply_opts o = {.to_tag = SLICE_LIT("t")};
    char *want = reply(m, 200, NULL, &o);
    char out[1024];
    ssize_t n = sipmsg_reply_build_into(out, sizeof(out), m, 200, SLICE_NULL, &o);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    assert_int_equal(sipmsg_reply_build_into(out, (size_t)n - 1, m, 200, SLICE_NULL, &o),
                     -EMSGSIZE);
    /* a capped buf is left as it was */
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    assert_int_equal(sipmsg_reply_build(&b, m, 200, SLICE_NULL, &o), -EMSGSIZE);
    assert_int_equal(b.len, 4);
    buf_fini(&b);
    free(want);
    sipmsg_unref(m);
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipmsg_reply_opts o = {.to_tag = SLICE_LIT("t")};
    char out[1024];
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), m, 99, SLICE_NULL, &o), -EINVAL);
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), m, 700, SLICE_NULL, &o), -EINVAL);
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), m, 200, SLICE_LIT("OK\r\nX: 1"), &o),
                     -EINVAL);
    struct sipmsg_reply_opts nb = {.to_tag = SLICE_LIT("t"), .body = SLICE_LIT("x")};
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), m, 200, SLICE_NULL, &nb), -EINVAL);
    static const struct slice bad_extra[] = {SLICE_LIT("X-A: 1\r\nX-B: 2")};
    struct sipmsg_reply_opts ex = {.to_tag = SLICE_LIT("t"), .extra = bad_extra, .extra_count = 1};
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), m, 200, SLICE_NULL, &ex), -EINVAL);
    sipmsg_unref(m);
    /* a response is not answered */
    struct sipmsg *r =
        test_msg_parse_str("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                           "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\n"
                           "CSeq: 1 INVITE\r\n\r\n");
    assert_int_equal(sipmsg_reply_build_into(out, sizeof(out), r, 200, SLICE_NULL, &o), -EINVAL);
    sipmsg_unref(r);
}

static void test_reason_phrases_follow_rfc3261(void **state)
{
    (void)state;
    assert_string_equal(sip_reason_phrase(100), "Trying");
    assert_string_equal(sip_reason_phrase(404), "Not Found");
    assert_string_equal(sip_reason_phrase(481), "Call/Transaction Does Not Exist");
    assert_string_equal(sip_reason_phrase(499), "Request Failure");
    assert_string_equal(sip_reason_phrase(299), "Success");
    assert_string_equal(sip_reason_phrase(42), "Unknown");
}

static void test_options_request_builds_and_parses(void **state)
{
    (void)state;
    struct sipmsg_request_opts r = {
        .method = SLICE_LIT("OPTIONS"),
        .ruri = SLICE_LIT("sip:203.0.113.10:5060"),
        .via = SLICE_LIT("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKping1;rport"),
        .from = SLICE_LIT("<sip:ping@192.0.2.10>;tag=p1"),
        .to = SLICE_LIT("<sip:203.0.113.10:5060>"),
        .call_id = SLICE_LIT("ping-1@192.0.2.10"),
        .cseq = 12,
        .user_agent = SLICE_LIT("sipwarden"),
    };
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(sipmsg_request_build(&b, &r), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal(b.p, "OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKping1;rport\r\n"
                             "Max-Forwards: 70\r\n"
                             "From: <sip:ping@192.0.2.10>;tag=p1\r\n"
                             "To: <sip:203.0.113.10:5060>\r\n"
                             "Call-ID: ping-1@192.0.2.10\r\n"
                             "CSeq: 12 OPTIONS\r\n"
                             "User-Agent: sipwarden\r\n"
                             "Content-Length: 0\r\n\r\n");
    struct sipmsg *m = test_msg_parse_str(b.p);
    struct sip_err err;
    assert_int_equal(sipmsg_parse_full(m, &err), SIP_PARSE_OK);
    assert_int_equal(m->method, SIP_OPTIONS);
    assert_int_equal(m->cseq.num, 12);
    assert_int_equal(m->max_forwards, 70);
    sipmsg_unref(m);
    size_t len = b.len;
    r.ruri = SLICE_LIT("sip:x SIP/2.0");
    assert_int_equal(sipmsg_request_build(&b, &r), -EINVAL);
    assert_int_equal(b.len, len);
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_copies_every_via_in_order_and_adds_to_tag),
        cmocka_unit_test(test_100_trying_has_no_to_tag_and_copies_timestamp),
        cmocka_unit_test(test_to_tag_is_made_from_caller_random_bytes),
        cmocka_unit_test(test_existing_to_tag_is_kept),
        cmocka_unit_test(test_received_and_rport_are_set_on_the_top_via_only),
        cmocka_unit_test(test_bare_rport_in_the_middle_and_existing_received_are_filled),
        cmocka_unit_test(test_received_is_omitted_when_sent_by_matches_without_rport),
        cmocka_unit_test(test_400_from_a_request_that_failed_parsing_but_can_reply),
        cmocka_unit_test(test_server_extra_lines_and_body_are_written),
        cmocka_unit_test(test_caller_buffer_variant_matches_and_reports_emsgsize),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_reason_phrases_follow_rfc3261),
        cmocka_unit_test(test_options_request_builds_and_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
