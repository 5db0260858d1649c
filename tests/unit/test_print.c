/* SPDX-License-Identifier: BSD-2-Clause */
/* Edit list and printers (sip/print.h). */
#include "sip/print.h"

#include "core/arena.h"
#include "sip/sipmsg.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg_helper.h"

static struct arena *g_arena;

static int setup(void **state)
{
    (void)state;
    g_arena = arena_new(4096, 1 << 20);
    return g_arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(g_arena);
    return 0;
}

static const char INVITE[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060"
                             ";branch=z9hG4bK776asdhds;rport\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: Bob <sip:bob@biloxi.example.com>\r\n"
                             "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                             "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Route: <sip:p1.example.com;lr>\r\n"
                             "l: 4\r\n"
                             "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                             "Content-Type: text/plain\r\n"
                             "\r\n"
                             "test";

/* A response on its way back: two Via values on one line, a compact one. */
static const char RESPONSE[] = "SIP/2.0 200 OK\r\n"
                               "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1 , "
                               "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776"
                               ";received=192.0.2.1\r\n"
                               "v: SIP/2.0/TCP c.example.com;branch=z9hG4bKc\r\n"
                               "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
                               "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                               "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
                               "CSeq: 314159 INVITE\r\n"
                               "\r\n";

/* Prints e into a NUL-terminated arena string. */
static char *print(const struct sipedit *e)
{
    size_t n = sipedit_len(e);
    char *out = arena_alloc(g_arena, n + 1);
    assert_non_null(out);
    ssize_t r = sipedit_print(e, out, n);
    assert_int_equal(r, (ssize_t)n);
    out[n] = '\0';
    return out;
}

/* Expected output: the original with 'from' replaced by 'to' once. */
static char *subst(const char *orig, const char *from, const char *to)
{
    const char *at = strstr(orig, from);
    assert_non_null(at);
    size_t n = strlen(orig) - strlen(from) + strlen(to);
    char *out = arena_alloc(g_arena, n + 1);
    assert_non_null(out);
    snprintf(out, n + 1, "%.*s%s%s", (int)(at - orig), orig, to, at + strlen(from));
    return out;
}

static unsigned hdr_index(const struct sipmsg *m, enum hdr_id id)
{
    assert_int_not_equal(m->first[id], SIP_HDR_NONE);
    return m->first[id];
}

static void test_no_edits_prints_the_original_bytes(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_string_equal(print(&e), INVITE);
    sipmsg_unref(m);
}

static void test_ruri_replace_leaves_every_other_byte_identical(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_ruri_set(&e, SLICE_LIT("sip:bob@192.0.2.44:5062;transport=udp")), 0);
    assert_string_equal(print(&e), subst(INVITE, "sip:bob@biloxi.example.com SIP/2.0",
                                         "sip:bob@192.0.2.44:5062;transport=udp SIP/2.0"));
    sipmsg_unref(m);
}

static void test_ruri_edit_is_refused_on_a_response_or_with_spaces(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(RESPONSE), *r = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_ruri_set(&e, SLICE_LIT("sip:x@y")), -EINVAL);
    sipedit_init(&e, r, g_arena);
    assert_int_equal(sipedit_ruri_set(&e, SLICE_LIT("sip:x@y SIP/2.0")), -EINVAL);
    assert_int_equal(e.count, 0);
    sipmsg_unref(m);
    sipmsg_unref(r);
}

static void test_header_remove_drops_the_whole_line(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_hdr_remove(&e, hdr_index(m, HDR_ROUTE)), 0);
    assert_string_equal(print(&e), subst(INVITE, "Route: <sip:p1.example.com;lr>\r\n", ""));
    assert_int_equal(sipedit_hdr_remove(&e, m->hdr_count), -EINVAL);
    sipmsg_unref(m);
}

static void test_header_value_replace_keeps_the_name_as_received(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(RESPONSE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_hdr_set_value(&e, 1, SLICE_LIT("SIP/2.0/TLS d.example.com")), 0);
    assert_string_equal(print(&e), subst(RESPONSE, "v: SIP/2.0/TCP c.example.com;branch=z9hG4bKc",
                                         "v: SIP/2.0/TLS d.example.com"));
    sipmsg_unref(m);
}

static void test_via_push_inserts_a_line_before_the_first_via(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(
        sipedit_via_push(&e, SLICE_LIT("SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx")), 0);
    assert_string_equal(print(&e),
                        subst(INVITE, "SIP/2.0\r\nVia: ",
                              "SIP/2.0\r\nVia: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKx\r\n"
                              "Via: "));
    sipmsg_unref(m);
}

static void test_insert_at_top_and_end_of_headers(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_hdr_insert(&e, SIPEDIT_HDR_END, SLICE_LIT("X-End"), SLICE_LIT("1")),
                     0);
    assert_int_equal(sipedit_hdr_insert(&e, SIPEDIT_HDR_TOP, SLICE_LIT("X-Top"), SLICE_LIT("2")),
                     0);
    /* top is also "before the first Via": insertions at one point keep
     * their order of addition */
    assert_int_equal(sipedit_hdr_insert(&e, 0, SLICE_LIT("X-Before-Via"), SLICE_LIT("3")), 0);
    char *want =
        subst(INVITE, "SIP/2.0\r\nVia: ", "SIP/2.0\r\nX-Top: 2\r\nX-Before-Via: 3\r\nVia: ");
    want = subst(want, "text/plain\r\n\r\n", "text/plain\r\nX-End: 1\r\n\r\n");
    assert_string_equal(print(&e), want);
    assert_int_equal(sipedit_hdr_insert(&e, 99, SLICE_LIT("X"), SLICE_LIT("1")), -EINVAL);
    assert_int_equal(sipedit_hdr_insert(&e, 0, SLICE_LIT("Bad Name"), SLICE_LIT("1")), -EINVAL);
    sipmsg_unref(m);
}

static void test_via_pop_removes_the_first_value_of_a_multi_value_line(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(RESPONSE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_via_pop(&e), 0);
    char *out = print(&e);
    assert_string_equal(out,
                        subst(RESPONSE, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1 , ", ""));
    /* the result is a valid response whose top Via is the next hop's */
    struct sipmsg *r = test_msg_parse_str(out);
    assert_int_equal(r->via_count, 2);
    assert_int_equal(strncmp(r->via1.branch.p, "z9hG4bK776", r->via1.branch.len), 0);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_via_pop_of_a_single_value_line_removes_the_line(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_via_pop(&e), 0);
    assert_null(strstr(print(&e), "Via:"));
    sipmsg_unref(m);
}

static void test_via_received_fills_bare_rport_and_adds_received(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_via_received(&e, SLICE_LIT("198.51.100.7"), 40123), 0);
    char *out = print(&e);
    assert_string_equal(out,
                        subst(INVITE, ";branch=z9hG4bK776asdhds;rport\r\n",
                              ";branch=z9hG4bK776asdhds;rport=40123;received=198.51.100.7\r\n"));
    struct sipmsg *r = test_msg_parse_str(out);
    assert_true(r->via1.has_rport);
    assert_int_equal(strncmp(r->via1.rport.p, "40123", 5), 0);
    assert_int_equal(strncmp(r->via1.received.p, "198.51.100.7", 12), 0);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_via_param_order_of_addition_does_not_split_rport_from_its_value(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    /* both land at the end of the Via value; "=5070" must stay on rport */
    assert_int_equal(sipedit_via_set_param(&e, "received", SLICE_LIT("192.0.2.9")), 0);
    assert_int_equal(sipedit_via_set_param(&e, "rport", SLICE_LIT("5070")), 0);
    assert_non_null(strstr(print(&e), ";rport=5070;received=192.0.2.9\r\n"));
    sipmsg_unref(m);
}

static void test_via_received_is_skipped_when_sent_by_matches_and_no_rport(void **state)
{
    (void)state;
    static const char msg[] = "OPTIONS sip:a@b SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                              "CSeq: 1 OPTIONS\r\n\r\n";
    struct sipmsg *m = test_msg_parse_str(msg);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    /* same address written differently: still the same host */
    assert_int_equal(sipedit_via_received(&e, SLICE_LIT("2001:db8:0::1"), 5060), 0);
    assert_int_equal(e.count, 0);
    assert_int_equal(sipedit_via_received(&e, SLICE_LIT("2001:db8::2"), 5060), 0);
    assert_non_null(strstr(print(&e), ";branch=z9hG4bK1;received=2001:db8::2\r\n"));
    sipmsg_unref(m);
}

static void test_body_replace_fixes_content_length_and_type(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
    assert_int_equal(sipedit_body_set(&e, SLICE_LIT("application/sdp"), SLICE_LIT(sdp)), 0);
    char *out = print(&e);
    char *want = subst(INVITE, "l: 4\r\n", "l: 36\r\n");
    want = subst(want, "text/plain\r\n\r\ntest", "application/sdp\r\n\r\n");
    size_t wl = strlen(want);
    char *full = arena_alloc(g_arena, wl + sizeof(sdp));
    memcpy(full, want, wl);
    memcpy(full + wl, sdp, sizeof(sdp));
    assert_string_equal(out, full);
    struct sipmsg *r = test_msg_parse_str(out);
    assert_int_equal(r->content_length, 36);
    assert_int_equal(r->body.len, 36);
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_body_removal_drops_content_type_and_sets_zero_length(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_body_set(&e, SLICE_NULL, SLICE_NULL), 0);
    char *want = subst(INVITE, "l: 4\r\n", "l: 0\r\n");
    want = subst(want, "Content-Type: text/plain\r\n\r\ntest", "\r\n");
    assert_string_equal(print(&e), want);
    sipmsg_unref(m);
}

static void test_body_set_adds_content_length_when_missing(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(RESPONSE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_body_set(&e, SLICE_LIT("text/plain"), SLICE_LIT("hello")), 0);
    char *out = print(&e);
    assert_non_null(strstr(out, "CSeq: 314159 INVITE\r\nContent-Length: 5\r\n"
                                "Content-Type: text/plain\r\n\r\nhello"));
    sipmsg_unref(test_msg_parse_str(out));
    sipmsg_unref(m);
}

static void test_content_length_fix_adds_the_field_for_streams(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(RESPONSE), *i = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_content_length_fix(&e), 0);
    assert_string_equal(print(&e),
                        subst(RESPONSE, "INVITE\r\n\r\n", "INVITE\r\nContent-Length: 0\r\n\r\n"));
    sipedit_init(&e, i, g_arena);
    assert_int_equal(sipedit_content_length_fix(&e), 0);
    assert_int_equal(e.count, 0); /* already has one ("l:") */
    sipmsg_unref(m);
    sipmsg_unref(i);
}

static void test_overlapping_edits_are_rejected(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    unsigned via = hdr_index(m, HDR_VIA);
    assert_int_equal(sipedit_hdr_remove(&e, via), 0);
    /* the value, a param on it and the first value all lie in that line */
    assert_int_equal(sipedit_hdr_set_value(&e, via, SLICE_LIT("x")), -EINVAL);
    assert_int_equal(sipedit_via_set_param(&e, "received", SLICE_LIT("192.0.2.9")), -EINVAL);
    assert_int_equal(sipedit_via_pop(&e), -EINVAL);
    /* insertion at either end of the removed range is fine */
    assert_int_equal(sipedit_hdr_insert(&e, (int)via, SLICE_LIT("Via"), SLICE_LIT("SIP/2.0/UDP a")),
                     0);
    assert_int_equal(sipedit_hdr_insert(&e, (int)via + 1, SLICE_LIT("X-A"), SLICE_LIT("b")), 0);
    /* a second body replacement overlaps the first */
    assert_int_equal(sipedit_body_set(&e, SLICE_LIT("a/b"), SLICE_LIT("x")), 0);
    unsigned before = e.count;
    assert_int_equal(sipedit_body_set(&e, SLICE_LIT("a/b"), SLICE_LIT("y")), -EINVAL);
    assert_int_equal(e.count, before); /* all or nothing */
    char *out = print(&e);
    assert_non_null(strstr(out, "SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nX-A: b\r\nMax-Forwards"));
    sipmsg_unref(m);
}

static void test_edits_apply_in_buffer_order_whatever_the_order_added(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit a, b;
    sipedit_init(&a, m, g_arena);
    sipedit_init(&b, m, g_arena);
    unsigned route = hdr_index(m, HDR_ROUTE), mf = hdr_index(m, HDR_MAX_FORWARDS);

    assert_int_equal(sipedit_ruri_set(&a, SLICE_LIT("sip:p1.example.com;lr")), 0);
    assert_int_equal(sipedit_hdr_set_value(&a, mf, SLICE_LIT("69")), 0);
    assert_int_equal(sipedit_hdr_remove(&a, route), 0);
    assert_int_equal(sipedit_body_set(&a, SLICE_LIT("text/plain"), SLICE_LIT("hi")), 0);

    assert_int_equal(sipedit_body_set(&b, SLICE_LIT("text/plain"), SLICE_LIT("hi")), 0);
    assert_int_equal(sipedit_hdr_remove(&b, route), 0);
    assert_int_equal(sipedit_hdr_set_value(&b, mf, SLICE_LIT("69")), 0);
    assert_int_equal(sipedit_ruri_set(&b, SLICE_LIT("sip:p1.example.com;lr")), 0);

    char *pa = print(&a);
    assert_string_equal(pa, print(&b));
    for (unsigned i = 1; i < a.count; i++)
        assert_true(a.ops[i - 1].start <= a.ops[i].start);
    sipmsg_unref(m);
}

static void test_output_reparses_and_matches_the_edits(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_via_received(&e, SLICE_LIT("203.0.113.5"), 6000), 0);
    assert_int_equal(
        sipedit_via_push(&e, SLICE_LIT("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsw1;rport")), 0);
    assert_int_equal(sipedit_hdr_set_value(&e, hdr_index(m, HDR_MAX_FORWARDS), SLICE_LIT("69")), 0);
    assert_int_equal(sipedit_hdr_remove(&e, hdr_index(m, HDR_ROUTE)), 0);
    assert_int_equal(sipedit_ruri_set(&e, SLICE_LIT("sip:bob@192.0.2.44")), 0);
    assert_int_equal(sipedit_hdr_insert(&e, SIPEDIT_HDR_END, SLICE_LIT("Record-Route"),
                                        SLICE_LIT("<sip:192.0.2.10;lr>")),
                     0);
    struct sipmsg *r = test_msg_parse_str(print(&e));
    struct sip_err err;
    assert_int_equal(sipmsg_parse_full(r, &err), SIP_PARSE_OK);
    assert_int_equal(r->method, SIP_INVITE);
    assert_int_equal(strncmp(r->ruri_s.p, "sip:bob@192.0.2.44", r->ruri_s.len), 0);
    assert_int_equal(r->via_count, 2);
    assert_int_equal(strncmp(r->via1.branch.p, "z9hG4bKsw1", r->via1.branch.len), 0);
    assert_int_equal(r->max_forwards, 69);
    assert_null(sipmsg_hdr_first(r, HDR_ROUTE));
    assert_non_null(sipmsg_hdr_first(r, HDR_RECORD_ROUTE));
    assert_true(slice_eq(r->call_id, m->call_id));
    assert_int_equal(r->cseq.num, 314159);
    assert_int_equal(r->body.len, 4);
    const struct sip_hdr *v2 = sipmsg_hdr_next(r, sipmsg_hdr_first(r, HDR_VIA));
    assert_non_null(strstr(v2->value.p, ";rport=6000;received=203.0.113.5"));
    sipmsg_unref(r);
    sipmsg_unref(m);
}

static void test_iov_print_equals_flat_print_and_points_into_the_original(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_via_push(&e, SLICE_LIT("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK2")), 0);
    assert_int_equal(sipedit_hdr_remove(&e, hdr_index(m, HDR_ROUTE)), 0);
    assert_int_equal(sipedit_via_received(&e, SLICE_LIT("203.0.113.5"), 6000), 0);
    struct iovec iov[2 * SIPEDIT_MAX + 1];
    int n = sipedit_print_iov(&e, iov, SW_ARRAY_LEN(iov));
    assert_true(n > 0 && (unsigned)n <= 2 * e.count + 1);
    char *flat = print(&e);
    size_t k = 0, orig_bytes = 0;
    for (int i = 0; i < n; i++) {
        assert_memory_equal(flat + k, iov[i].iov_base, iov[i].iov_len);
        const char *b = iov[i].iov_base;
        if (b >= m->buf && b < m->buf + m->len)
            orig_bytes += iov[i].iov_len; /* zero copy: straight from the receive buffer */
        k += iov[i].iov_len;
    }
    assert_int_equal(k, strlen(flat));
    assert_true(orig_bytes > strlen(INVITE) - 60);
    assert_int_equal(sipedit_print_iov(&e, iov, (unsigned)n - 1), -EMSGSIZE);
    sipmsg_unref(m);
}

static void test_print_into_a_short_buffer_is_emsgsize(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    char out[64];
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_print(&e, out, sizeof(out)), -EMSGSIZE);
    sipmsg_unref(m);
}

static void test_crlf_in_edit_text_is_refused(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    assert_int_equal(sipedit_hdr_set_value(&e, 0, SLICE_LIT("a\r\nX-Injected: 1")), -EINVAL);
    assert_int_equal(sipedit_hdr_insert(&e, 0, SLICE_LIT("X"), SLICE_LIT("a\nb")), -EINVAL);
    assert_int_equal(sipedit_via_set_param(&e, "received", SLICE_LIT("1;x=2")), -EINVAL);
    assert_int_equal(sipedit_body_set(&e, SLICE_LIT("a/b\r\nX: y"), SLICE_LIT("z")), -EINVAL);
    assert_int_equal(e.count, 0);
    sipmsg_unref(m);
}

static void test_edit_list_is_bounded(void **state)
{
    (void)state;
    struct sipmsg *m = test_msg_parse_str(INVITE);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    for (unsigned i = 0; i < SIPEDIT_MAX; i++)
        assert_int_equal(sipedit_hdr_insert(&e, SIPEDIT_HDR_END, SLICE_LIT("X"), SLICE_LIT("1")),
                         0);
    assert_int_equal(sipedit_hdr_insert(&e, SIPEDIT_HDR_END, SLICE_LIT("X"), SLICE_LIT("1")),
                     -ENOSPC);
    sipmsg_unref(m);
}

static void test_bytes_past_content_length_are_not_forwarded(void **state)
{
    (void)state;
    static const char msg[] = "MESSAGE sip:a@b SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                              "CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                              "\r\nhi-garbage";
    struct sipmsg *m = test_msg_parse_str(msg);
    struct sipedit e;
    sipedit_init(&e, m, g_arena);
    char *out = print(&e);
    assert_int_equal(strlen(out), strlen(msg) - strlen("-garbage"));
    sipmsg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_edits_prints_the_original_bytes),
        cmocka_unit_test(test_ruri_replace_leaves_every_other_byte_identical),
        cmocka_unit_test(test_ruri_edit_is_refused_on_a_response_or_with_spaces),
        cmocka_unit_test(test_header_remove_drops_the_whole_line),
        cmocka_unit_test(test_header_value_replace_keeps_the_name_as_received),
        cmocka_unit_test(test_via_push_inserts_a_line_before_the_first_via),
        cmocka_unit_test(test_insert_at_top_and_end_of_headers),
        cmocka_unit_test(test_via_pop_removes_the_first_value_of_a_multi_value_line),
        cmocka_unit_test(test_via_pop_of_a_single_value_line_removes_the_line),
        cmocka_unit_test(test_via_received_fills_bare_rport_and_adds_received),
        cmocka_unit_test(test_via_param_order_of_addition_does_not_split_rport_from_its_value),
        cmocka_unit_test(test_via_received_is_skipped_when_sent_by_matches_and_no_rport),
        cmocka_unit_test(test_body_replace_fixes_content_length_and_type),
        cmocka_unit_test(test_body_removal_drops_content_type_and_sets_zero_length),
        cmocka_unit_test(test_body_set_adds_content_length_when_missing),
        cmocka_unit_test(test_content_length_fix_adds_the_field_for_streams),
        cmocka_unit_test(test_overlapping_edits_are_rejected),
        cmocka_unit_test(test_edits_apply_in_buffer_order_whatever_the_order_added),
        cmocka_unit_test(test_output_reparses_and_matches_the_edits),
        cmocka_unit_test(test_iov_print_equals_flat_print_and_points_into_the_original),
        cmocka_unit_test(test_print_into_a_short_buffer_is_emsgsize),
        cmocka_unit_test(test_crlf_in_edit_text_is_refused),
        cmocka_unit_test(test_edit_list_is_bounded),
        cmocka_unit_test(test_bytes_past_content_length_are_not_forwarded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
