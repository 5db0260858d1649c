/* SPDX-License-Identifier: BSD-2-Clause */
/* Message block and eager parser (sip/sipmsg.h). */
#include "sip/sipmsg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const struct sip_limits lim = SIP_LIMITS_DEFAULT;

#define HDRS_TAIL                                                                                  \
    "To: Bob <sip:bob@biloxi.example.com>\r\n"                                                     \
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                               \
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"

static const char INVITE[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
                             "Max-Forwards: 70\r\n" HDRS_TAIL "CSeq: 314159 INVITE\r\n"
                             "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length: 4\r\n"
                             "\r\n"
                             "v=0\n";

static void assert_slice(struct slice s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static struct sipmsg *parse_lim(const char *text, const struct sip_limits *l, int want_rc,
                                const char *want_reason)
{
    struct sipmsg *m = sipmsg_new(text, strlen(text), l);
    assert_non_null(m);
    struct sip_err err = {NULL, 0};
    int rc = sipmsg_parse(m, &err);
    if (rc != want_rc)
        print_message("# rc %d reason %s at %zu\n", rc, err.reason ? err.reason : "-", err.offset);
    assert_int_equal(rc, want_rc);
    if (want_reason) {
        assert_non_null(err.reason);
        assert_string_equal(err.reason, want_reason);
        assert_true(err.offset <= m->len);
    }
    return m;
}

static struct sipmsg *parse(const char *text, int want_rc, const char *want_reason)
{
    return parse_lim(text, &lim, want_rc, want_reason);
}

/* Replaces the first occurrence of 'from' in INVITE by 'to'. */
static const char *variant(const char *from, const char *to)
{
    static char out[4096];
    const char *at = strstr(INVITE, from);
    assert_non_null(at);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - INVITE), INVITE, to, at + strlen(from));
    return out;
}

static void test_request_fields_are_parsed_eagerly(void **state)
{
    (void)state;
    struct sipmsg *m = parse(INVITE, SIP_PARSE_OK, NULL);
    assert_true(m->is_request);
    assert_int_equal(m->method, SIP_INVITE);
    assert_slice(m->method_name, "INVITE");
    assert_slice(m->ruri_s, "sip:bob@biloxi.example.com");
    assert_slice(m->ruri.user, "bob");
    assert_slice(m->version, "SIP/2.0");
    assert_slice(m->via1.branch, "z9hG4bK776asdhds");
    assert_slice(m->via1.host, "pc33.atlanta.example.com");
    assert_int_equal(m->via_count, 1);
    assert_slice(m->from.tag, "1928301774");
    assert_slice(m->from.display, "Alice");
    assert_int_equal(m->to.tag.len, 0);
    assert_slice(m->to.uri.host, "biloxi.example.com");
    assert_slice(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    assert_int_equal(m->cseq.num, 314159);
    assert_int_equal(m->cseq.method, SIP_INVITE);
    assert_int_equal(m->max_forwards, 70);
    assert_int_equal(m->content_length, 4);
    assert_slice(m->body, "v=0\n");
    assert_int_equal(m->head_len, strlen(INVITE) - 4);
    assert_int_equal(m->hdr_count, 9);
    assert_true(m->has_via && m->has_from && m->has_to && m->has_call_id && m->has_cseq);
    assert_true(sipmsg_can_reply(m));
    struct sip_err err;
    assert_int_equal(sipmsg_parse_full(m, &err), SIP_PARSE_OK);
    sipmsg_unref(m);
}

static void test_header_index_keeps_order_chains_and_raw_lines(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse("OPTIONS sip:a@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h1.example.com;branch=z9hG4bK1\r\n"
              "X-Foo: one\r\n"
              "v: SIP/2.0/UDP h2.example.com;branch=z9hG4bK2, SIP/2.0/TCP h3\r\n" HDRS_TAIL
              "CSeq: 1 OPTIONS\r\n"
              "x-foo: two\r\n"
              "\r\n",
              SIP_PARSE_OK, NULL);
    const struct sip_hdr *h = sipmsg_hdr_first(m, HDR_VIA);
    assert_non_null(h);
    assert_slice(h->name, "Via");
    h = sipmsg_hdr_next(m, h);
    assert_non_null(h);
    assert_slice(h->name, "v");
    assert_slice(h->raw, "v: SIP/2.0/UDP h2.example.com;branch=z9hG4bK2, SIP/2.0/TCP h3\r\n");
    assert_null(sipmsg_hdr_next(m, h));
    assert_int_equal(m->via_count, 3);
    assert_slice(m->via1.branch, "z9hG4bK1");
    h = sipmsg_hdr_by_name(m, slice_cstr("X-FOO"));
    assert_non_null(h);
    assert_slice(h->value, "one");
    h = sipmsg_hdr_next(m, h);
    assert_slice(h->value, "two");
    assert_ptr_equal(sipmsg_hdr_by_name(m, slice_cstr("i")), sipmsg_hdr_first(m, HDR_CALL_ID));
    assert_null(sipmsg_hdr_by_name(m, slice_cstr("X-Bar")));
    assert_null(sipmsg_hdr_first(m, HDR_CONTACT));
    assert_int_equal(m->content_length, -1);
    assert_int_equal(m->max_forwards, -1);
    sipmsg_unref(m);
}

static void test_compact_forms_and_name_case_are_accepted(void **state)
{
    (void)state;
    struct sipmsg *m = parse("REGISTER sip:example.com SIP/2.0\r\n"
                             "V: SIP/2.0/UDP h.example.com;branch=z9hG4bK9\r\n"
                             "t: sip:u@example.com\r\n"
                             "F: sip:u@example.com;tag=7\r\n"
                             "i: reg-1@h\r\n"
                             "cSeQ: 2 REGISTER\r\n"
                             "m: <sip:u@192.0.2.1>;expires=60\r\n"
                             "L: 0\r\n"
                             "\r\n",
                             SIP_PARSE_OK, NULL);
    assert_int_equal(m->method, SIP_REGISTER);
    assert_slice(m->from.tag, "7");
    assert_slice(m->call_id, "reg-1@h");
    assert_int_equal(m->content_length, 0);
    assert_non_null(sipmsg_hdr_first(m, HDR_CONTACT));
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
}

static void test_folded_lines_continue_the_field(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse("OPTIONS sip:a@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP\r\n h.example.com\r\n\t;branch=z9hG4bKf\r\n"
              "Subject: first\r\n  second\r\n" HDRS_TAIL "CSeq:\r\n 1\r\n OPTIONS\r\n"
              "\r\n",
              SIP_PARSE_OK, NULL);
    assert_slice(m->via1.host, "h.example.com");
    assert_slice(m->via1.branch, "z9hG4bKf");
    const struct sip_hdr *h = sipmsg_hdr_first(m, HDR_SUBJECT);
    assert_slice(h->value, "first\r\n  second");
    assert_int_equal(m->cseq.num, 1);
    sipmsg_unref(m);
}

static void test_bare_lf_line_ends_are_tolerated(void **state)
{
    (void)state;
    struct sipmsg *m = parse("OPTIONS sip:a@example.com SIP/2.0\n"
                             "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bKlf\n"
                             "To: <sip:a@example.com>\n"
                             "From: <sip:b@example.com>;tag=1\n"
                             "Call-ID: lf@h\n"
                             "CSeq: 1 OPTIONS\n"
                             "Subject: a\n b\n"
                             "Content-Length: 2\n"
                             "\n"
                             "hi",
                             SIP_PARSE_OK, NULL);
    assert_slice(m->call_id, "lf@h");
    assert_slice(m->body, "hi");
    assert_slice(sipmsg_hdr_first(m, HDR_SUBJECT)->value, "a\n b");
    sipmsg_unref(m);
}

static void test_leading_crlf_before_start_line_is_ignored(void **state)
{
    (void)state;
    static char buf[4096];
    snprintf(buf, sizeof(buf), "\r\n\r\n%s", INVITE);
    struct sipmsg *m = parse(buf, SIP_PARSE_OK, NULL);
    assert_int_equal(m->method, SIP_INVITE);
    sipmsg_unref(m);
    m = parse("\r\n\r\n", SIP_PARSE_BAD, "Empty message");
    sipmsg_unref(m);
}

static void test_response_status_line_is_parsed(void **state)
{
    (void)state;
    struct sipmsg *m = parse("SIP/2.0 180 Ringing\r\n"
                             "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=192.0.2.1\r\n"
                             "To: <sip:a@example.com>;tag=xyz\r\n"
                             "From: <sip:b@example.com>;tag=1\r\n"
                             "Call-ID: r@h\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "\r\n",
                             SIP_PARSE_OK, NULL);
    assert_false(m->is_request);
    assert_int_equal(m->status, 180);
    assert_slice(m->reason, "Ringing");
    assert_slice(m->to.tag, "xyz");
    assert_false(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse("SIP/2.0 100 \r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\n"
              "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
              SIP_PARSE_OK, NULL);
    assert_int_equal(m->reason.len, 0);
    sipmsg_unref(m);
}

static void test_status_line_outside_100_699_or_malformed_is_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "SIP/2.0 099 Low\r\n", "SIP/2.0 700 High\r\n",     "SIP/2.0 20 OK\r\n",
        "SIP/2.0 2000 OK\r\n", "SIP/2.0  200 OK\r\n",      "SIP/2.0 2x0 OK\r\n",
        "SIP/2.0 200OK\r\n",   "SIP/2.0 4294967301 x\r\n", "SIP/2.0 200 bad\x01\r\n",
    };
    for (size_t i = 0; i < SW_ARRAY_LEN(bad); i++) {
        struct sipmsg *m = sipmsg_new(bad[i], strlen(bad[i]), &lim);
        struct sip_err err;
        assert_int_equal(sipmsg_parse(m, &err), SIP_PARSE_BAD);
        assert_false(sipmsg_can_reply(m));
        sipmsg_unref(m);
    }
    struct sipmsg *m = parse("SIP/3.0 200 OK\r\n\r\n", SIP_PARSE_BAD, "Bad SIP-Version");
    sipmsg_unref(m);
}

static void test_request_line_errors_name_the_part(void **state)
{
    (void)state;
    struct sipmsg *m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0",
                                     "INVITE sip:bob@biloxi.example.com SIP/2.1"),
                             SIP_PARSE_BAD, "Bad SIP-Version");
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0",
                      "INVITE sip:bob@biloxi.example.com:0 SIP/2.0"),
              SIP_PARSE_BAD, "Bad Request-URI");
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0",
                      "INVITE sip:bob@biloxi.example.com?Route=x SIP/2.0"),
              SIP_PARSE_BAD, "Bad Request-URI");
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0",
                      "INVITE  sip:bob@biloxi.example.com SIP/2.0"),
              SIP_PARSE_BAD, "Bad Request-Line");
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0",
                      "INVITE sip:bob@biloxi.example.com SIP/2.0 "),
              SIP_PARSE_BAD, "Bad Request-Line");
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0", "INV\"ITE sip:b@c SIP/2.0"),
              SIP_PARSE_BAD, "Bad Request-Line");
    sipmsg_unref(m);
    m = parse(variant("INVITE sip:bob@biloxi.example.com SIP/2.0", "INVITE sip:b@c"), SIP_PARSE_BAD,
              "Bad Request-Line");
    sipmsg_unref(m);
}

static void test_unknown_method_and_scheme_are_accepted(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse("NEWMETHOD nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bKn\r\n" HDRS_TAIL "CSeq: 1 NEWMETHOD\r\n\r\n",
              SIP_PARSE_OK, NULL);
    assert_int_equal(m->method, SIP_METHOD_OTHER);
    assert_int_equal(m->ruri.scheme, URI_OTHER);
    sipmsg_unref(m);
}

static void test_cseq_method_must_match_request_method(void **state)
{
    (void)state;
    struct sipmsg *m = parse(variant("CSeq: 314159 INVITE", "CSeq: 314159 OPTIONS"), SIP_PARSE_BAD,
                             "CSeq method does not match");
    assert_true(m->has_cseq);
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("CSeq: 314159 INVITE", "CSeq: 314159 invite"), SIP_PARSE_BAD,
              "CSeq method does not match");
    sipmsg_unref(m);
}

static void test_bad_core_field_leaves_the_others_usable_for_a_400(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse(variant("CSeq: 314159 INVITE", "CSeq: 2147483648 INVITE"), SIP_PARSE_BAD, "Bad CSeq");
    assert_false(m->has_cseq);
    assert_true(m->has_via && m->has_from && m->has_to && m->has_call_id);
    assert_false(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("Max-Forwards: 70", "Max-Forwards: 256"), SIP_PARSE_BAD, "Bad Max-Forwards");
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("Call-ID: a84b", "Call-ID: a84b c"), SIP_PARSE_BAD, "Bad Call-ID");
    assert_false(m->has_call_id);
    assert_true(m->has_via && m->has_from && m->has_to && m->has_cseq);
    sipmsg_unref(m);
    m = parse(variant("Via: SIP/2.0/UDP pc33", "Via: SIP/2.0/UDP ;pc33"), SIP_PARSE_BAD, "Bad Via");
    assert_false(m->has_via);
    assert_true(m->has_from && m->has_to && m->has_call_id && m->has_cseq);
    sipmsg_unref(m);
    m = parse(variant("From: Alice <sip:alice@atlanta.example.com>",
                      "From: Alice, Smith <sip:alice@atlanta.example.com>"),
              SIP_PARSE_BAD, "Bad From");
    assert_false(m->has_from);
    sipmsg_unref(m);
    m = parse(variant("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nBroken line\r\n"), SIP_PARSE_BAD,
              "Bad header line");
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
}

static void test_missing_core_fields_are_reported(void **state)
{
    (void)state;
    struct sipmsg *m = parse(variant("Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n", ""),
                             SIP_PARSE_BAD, "Missing Call-ID");
    assert_false(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("To: Bob <sip:bob@biloxi.example.com>\r\n", ""), SIP_PARSE_BAD, "Missing To");
    sipmsg_unref(m);
    m = parse("OPTIONS sip:a@b SIP/2.0\r\n\r\n", SIP_PARSE_BAD, "Missing Via");
    sipmsg_unref(m);
}

static void test_duplicate_single_value_headers_are_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *add;
        const char *reason;
    } dups[] = {
        {"From: <sip:x@example.com>;tag=2\r\n", "Duplicate From"},
        {"To: <sip:x@example.com>\r\n", "Duplicate To"},
        {"Call-ID: other@h\r\n", "Duplicate Call-ID"},
        {"CSeq: 1 INVITE\r\n", "Duplicate CSeq"},
        {"Max-Forwards: 69\r\n", "Duplicate Max-Forwards"},
        {"l: 5\r\n", "Duplicate Content-Length"},
    };
    for (size_t i = 0; i < SW_ARRAY_LEN(dups); i++) {
        char to[256];
        snprintf(to, sizeof(to), "Content-Type: application/sdp\r\n%s", dups[i].add);
        struct sipmsg *m =
            parse(variant("Content-Type: application/sdp\r\n", to), SIP_PARSE_BAD, dups[i].reason);
        assert_true(sipmsg_can_reply(m));
        sipmsg_unref(m);
    }
    /* the same Content-Length twice is harmless */
    struct sipmsg *m = parse(
        variant("Content-Type: application/sdp\r\n", "Content-Type: application/sdp\r\nl: 4\r\n"),
        SIP_PARSE_OK, NULL);
    sipmsg_unref(m);
}

static void test_content_length_against_datagram_body(void **state)
{
    (void)state;
    struct sipmsg *m = parse(variant("Content-Length: 4", "Content-Length: 5"), SIP_PARSE_BAD,
                             "Content-Length larger than body");
    assert_true(sipmsg_can_reply(m));
    sipmsg_unref(m);
    m = parse(variant("Content-Length: 4", "Content-Length: 2"), SIP_PARSE_OK, NULL);
    assert_slice(m->body, "v=");
    sipmsg_unref(m);
    m = parse(variant("Content-Length: 4\r\n", ""), SIP_PARSE_OK, NULL);
    assert_slice(m->body, "v=0\n");
    assert_int_equal(m->content_length, -1);
    sipmsg_unref(m);
    m = parse(variant("Content-Length: 4", "Content-Length: -1"), SIP_PARSE_BAD,
              "Bad Content-Length");
    sipmsg_unref(m);
    m = parse(variant("Content-Length: 4", "Content-Length: 99999999999999999999999"),
              SIP_PARSE_BAD, "Bad Content-Length");
    sipmsg_unref(m);
}

static void test_header_count_limit_stops_the_parse(void **state)
{
    (void)state;
    struct sip_limits small = {65535, 9, 32};
    struct sipmsg *m = parse_lim(INVITE, &small, SIP_PARSE_OK, NULL);
    sipmsg_unref(m);
    small.max_headers = 8;
    m = parse_lim(INVITE, &small, SIP_PARSE_BAD, "Too many headers");
    assert_int_equal(m->hdr_count, 8);
    sipmsg_unref(m);
}

static void test_via_value_limit_counts_every_value(void **state)
{
    (void)state;
    struct sip_limits small = {65535, 128, 3};
    const char *text = variant("Max-Forwards: 70\r\n",
                               "Max-Forwards: 70\r\nVia: SIP/2.0/UDP a, SIP/2.0/UDP b\r\n");
    struct sipmsg *m = parse_lim(text, &small, SIP_PARSE_OK, NULL);
    assert_int_equal(m->via_count, 3);
    sipmsg_unref(m);
    small.max_via = 2;
    m = parse_lim(text, &small, SIP_PARSE_BAD, "Too many Via");
    sipmsg_unref(m);
}

static void test_message_size_limit_refuses_allocation(void **state)
{
    (void)state;
    struct sip_limits small = {16, 128, 32};
    errno = 0;
    assert_null(sipmsg_new(INVITE, strlen(INVITE), &small));
    assert_int_equal(errno, EMSGSIZE);
    small.max_msg_size = strlen(INVITE);
    struct sipmsg *m = sipmsg_new(INVITE, strlen(INVITE), &small);
    assert_non_null(m);
    sipmsg_unref(m);
}

static void test_message_is_a_private_copy_and_refcounted(void **state)
{
    (void)state;
    char buf[sizeof(INVITE)];
    memcpy(buf, INVITE, sizeof(buf));
    struct sipmsg *m = sipmsg_new(buf, strlen(buf), &lim);
    memset(buf, 'x', sizeof(buf));
    struct sip_err err;
    assert_int_equal(sipmsg_parse(m, &err), SIP_PARSE_OK);
    assert_slice(m->method_name, "INVITE");
    assert_ptr_equal(sipmsg_ref(m), m);
    sipmsg_unref(m);
    assert_slice(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    sipmsg_unref(m);
    sipmsg_unref(NULL);
}

static void test_parse_can_run_twice_on_the_same_message(void **state)
{
    (void)state;
    struct sipmsg *m = parse(INVITE, SIP_PARSE_OK, NULL);
    struct sip_err err;
    assert_int_equal(sipmsg_parse(m, &err), SIP_PARSE_OK);
    assert_int_equal(m->hdr_count, 9);
    assert_int_equal(m->via_count, 1);
    sipmsg_unref(m);
}

static void test_ack_never_gets_a_reply(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse("ACK sip:a@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bKa\r\n" HDRS_TAIL "CSeq: 1 INVITE\r\n\r\n",
              SIP_PARSE_BAD, "CSeq method does not match");
    assert_true(m->has_cseq);
    assert_false(sipmsg_can_reply(m));
    sipmsg_unref(m);
}

static void test_missing_empty_line_is_tolerated_at_datagram_end(void **state)
{
    (void)state;
    struct sipmsg *m =
        parse("OPTIONS sip:a@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP h;branch=z9hG4bKe\r\n" HDRS_TAIL "CSeq: 1 OPTIONS\r\n",
              SIP_PARSE_OK, NULL);
    assert_int_equal(m->body.len, 0);
    assert_int_equal(m->head_len, m->len);
    sipmsg_unref(m);
}

static void test_parse_full_checks_every_known_header(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *reason; /* NULL: valid */
    } cases[] = {
        {"Contact: *\r\n", NULL},
        {"Contact: <sip:a@b>;q=0.7;expires=60, \"x\" <sip:c@d>\r\n", NULL},
        {"Contact: <sip:a@b>;q=1.5\r\n", "Bad Contact"},
        {"Contact: *, <sip:a@b>\r\n", "Bad Contact"},
        {"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n", NULL},
        {"Route: sip:p1.example.com;lr\r\n", "Bad Route"},
        {"Record-Route: <sip:p1;lr>,\r\n <sip:[2001:db8::1];lr>\r\n", NULL},
        {"Expires: 3600\r\n", NULL},
        {"Expires: 1e3\r\n", "Bad Expires"},
        {"Content-Type: multipart/mixed ; boundary=\"x;y\"\r\n", NULL},
        {"Content-Type: application\r\n", "Bad Content-Type"},
        {"Supported: 100rel, timer\r\n", NULL},
        {"Supported:\r\n", NULL},
        {"Require: 100rel, bad token\r\n", "Bad Require"},
        {"Allow: INVITE, ACK, CANCEL\r\n", NULL},
        {"RSeq: 988789\r\n", NULL},
        {"RAck: 776656 1 INVITE\r\n", NULL},
        {"RAck: 776656 INVITE\r\n", "Bad RAck"},
        {"Session-Expires: 1800;refresher=uac\r\n", NULL},
        {"Session-Expires: uac\r\n", "Bad Session-Expires"},
        {"P-Asserted-Identity: \"Cullen\" <sip:fluffy@cisco.com>, tel:+14083264000\r\n", NULL},
        {"Refer-To: <sip:c@d?Replaces=abc%40d>\r\n", NULL},
        {"Authorization: Digest username=\"bob\", realm=\"b.com\", nonce=\"x\", "
         "uri=\"sip:b.com\", response=\"42\"\r\n",
         NULL},
        {"Authorization: Digest username\r\n", "Bad Authorization"},
        {"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n", NULL},
        {"Date: Fri, 01 Jan 2010 16:00:00 EST\r\n", "Bad Date"},
        {"Warning: 370 devnull \"Choose a bigger pipe\"\r\n", NULL},
        {"Warning: 1812 overture \"In Progress\"\r\n", "Bad Warning"},
        {"Call-Info: <http://wwww.example.com/alice/photo.jpg> ;purpose=icon\r\n", NULL},
        {"Privacy: id;header\r\n", NULL},
        {"Timestamp: 54.2 0.5\r\n", NULL},
        {"Retry-After: 18000;duration=3600\r\n", NULL},
        {"Retry-After: 120 (I'm in a meeting)\r\n", NULL},
        {"MIME-Version: 1.0\r\n", NULL},
        {"Event: presence;id=1\r\n", NULL},
        {"Accept: application/sdp, */*;q=0.5\r\n", NULL},
        {"X-Anything: ;;,,;;,;\r\n", NULL},
    };
    for (size_t i = 0; i < SW_ARRAY_LEN(cases); i++) {
        char to[512];
        snprintf(to, sizeof(to), "Content-Type: application/sdp\r\n%s", cases[i].line);
        const char *text = variant("Content-Type: application/sdp\r\n", to);
        struct sipmsg *m = parse(text, SIP_PARSE_OK, NULL);
        struct sip_err err = {NULL, 0};
        int rc = sipmsg_parse_full(m, &err);
        if (rc != (cases[i].reason ? SIP_PARSE_BAD : SIP_PARSE_OK))
            fail_msg("%s: full parse gave %d (%s)", cases[i].line, rc, err.reason);
        if (cases[i].reason)
            assert_string_equal(err.reason, cases[i].reason);
        sipmsg_unref(m);
    }
}

static void test_method_names_round_trip(void **state)
{
    (void)state;
    for (int i = SIP_INVITE; i <= SIP_PUBLISH; i++) {
        const char *n = sip_method_name((enum sip_method)i);
        assert_int_equal(sip_method_lookup(slice_cstr(n)), i);
    }
    assert_int_equal(sip_method_lookup(slice_cstr("invite")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(slice_cstr("IN%56ITE")), SIP_METHOD_OTHER);
    assert_int_equal(sip_method_lookup(slice_cstr("")), SIP_METHOD_OTHER);
    assert_string_equal(sip_method_name(SIP_METHOD_OTHER), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_fields_are_parsed_eagerly),
        cmocka_unit_test(test_header_index_keeps_order_chains_and_raw_lines),
        cmocka_unit_test(test_compact_forms_and_name_case_are_accepted),
        cmocka_unit_test(test_folded_lines_continue_the_field),
        cmocka_unit_test(test_bare_lf_line_ends_are_tolerated),
        cmocka_unit_test(test_leading_crlf_before_start_line_is_ignored),
        cmocka_unit_test(test_response_status_line_is_parsed),
        cmocka_unit_test(test_status_line_outside_100_699_or_malformed_is_rejected),
        cmocka_unit_test(test_request_line_errors_name_the_part),
        cmocka_unit_test(test_unknown_method_and_scheme_are_accepted),
        cmocka_unit_test(test_cseq_method_must_match_request_method),
        cmocka_unit_test(test_bad_core_field_leaves_the_others_usable_for_a_400),
        cmocka_unit_test(test_missing_core_fields_are_reported),
        cmocka_unit_test(test_duplicate_single_value_headers_are_rejected),
        cmocka_unit_test(test_content_length_against_datagram_body),
        cmocka_unit_test(test_header_count_limit_stops_the_parse),
        cmocka_unit_test(test_via_value_limit_counts_every_value),
        cmocka_unit_test(test_message_size_limit_refuses_allocation),
        cmocka_unit_test(test_message_is_a_private_copy_and_refcounted),
        cmocka_unit_test(test_parse_can_run_twice_on_the_same_message),
        cmocka_unit_test(test_ack_never_gets_a_reply),
        cmocka_unit_test(test_missing_empty_line_is_tolerated_at_datagram_end),
        cmocka_unit_test(test_parse_full_checks_every_known_header),
        cmocka_unit_test(test_method_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
