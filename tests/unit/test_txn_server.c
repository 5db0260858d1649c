/* SPDX-License-Identifier: BSD-2-Clause */
/* Server transactions (RFC 3261 §17.2, RFC 6026), driven by a fake clock. */
#include "txn/txn.h"

#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/tmr.h"
#include "sip/build.h"
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

/* ---- harness: captured sends, recorded TU calls, fake clock ---- */

#define MAX_SENT 64

struct sent {
    bool is_response;
    struct sipmsg *m; /* ref: what would have gone out, parsed */
};

static struct {
    struct tmr_wheel *wheel;
    struct txn_layer *l;
    uint64_t now_ms;
    struct sent sent[MAX_SENT];
    size_t nsent;
    int fail_rc; /* returned by the next sends when non-zero */
    /* TU */
    struct txn *st[8]; /* ref: server txns handed to the TU, in order */
    size_t nreq;
    size_t nack;
    struct txn *ack_st; /* borrowed, only compared */
    int end_reason;
    size_t nend;
    unsigned auto_code; /* answer in the request callback when non-zero */
} h;

static void record(bool is_response, const void *data, size_t len)
{
    assert_true(h.nsent < MAX_SENT);
    h.sent[h.nsent].is_response = is_response;
    h.sent[h.nsent].m = test_msg_parse(data, len);
    h.nsent++;
}

static int cap_send(void *arg, const struct tp_flow *flow, const void *data, size_t len)
{
    (void)arg;
    (void)flow;
    if (h.fail_rc != 0)
        return h.fail_rc;
    record(len >= 8 && memcmp(data, "SIP/2.0 ", 8) == 0, data, len);
    return 0;
}

static int cap_send_response(void *arg, const struct sipmsg *req, const struct tp_flow *flow,
                             const void *data, size_t len)
{
    (void)arg;
    (void)req;
    (void)flow;
    if (h.fail_rc != 0)
        return h.fail_rc;
    record(true, data, len);
    return 0;
}

static int cap_response_dest(void *arg, const struct sipmsg *req, const struct tp_flow *flow,
                             struct tp_flow *out)
{
    (void)arg;
    (void)req;
    *out = *flow;
    return 0;
}

static const struct txn_io cap_io = {cap_send, cap_send_response, cap_response_dest};

static void on_end(struct txn *t, int reason, void *arg)
{
    (void)t;
    (void)arg;
    h.end_reason = reason;
    h.nend++;
}

static void on_request(struct txn *st, const struct sipmsg *req, const struct tp_flow *flow,
                       void *arg)
{
    (void)req;
    (void)flow;
    (void)arg;
    assert_true(h.nreq < SW_ARRAY_LEN(h.st));
    h.st[h.nreq++] = txn_ref(st);
    txn_server_bind(st, on_end, NULL);
    if (h.auto_code != 0)
        assert_int_equal(txn_server_reply(st, h.auto_code, SLICE_NULL, NULL), 0);
}

static void on_ack(struct txn *st, const struct sipmsg *ack, const struct tp_flow *flow, void *arg)
{
    (void)ack;
    (void)flow;
    (void)arg;
    h.nack++;
    h.ack_st = st;
}

static void advance(uint64_t ms)
{
    h.now_ms += ms;
    tmr_wheel_advance(h.wheel, h.now_ms);
}

static struct txn_layer *layer_new(const struct txn_config *cfg, bool send_100)
{
    struct txn_tu tu = {.request = on_request, .ack = on_ack, .invite_send_100 = send_100};
    struct txn_layer *l = txn_layer_new(cfg, h.wheel, &cap_io, NULL, &tu, NULL);
    assert_non_null(l);
    return l;
}

static int setup(void **state)
{
    (void)state;
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    htab_seed_fixed(key);
    memset(&h, 0, sizeof(h));
    h.now_ms = 1000;
    h.wheel = tmr_wheel_new(h.now_ms);
    assert_non_null(h.wheel);
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    h.l = layer_new(&cfg, false);
    return 0;
}

static void clear_sent(void)
{
    for (size_t i = 0; i < h.nsent; i++)
        sipmsg_unref(h.sent[i].m);
    h.nsent = 0;
}

static int teardown(void **state)
{
    (void)state;
    /* Every test leaves its transactions able to end on their timers:
     * none may still be live after the longest of them (Timer L/H/J). */
    advance(200000);
    assert_int_equal(txn_layer_count(h.l), 0);
    for (size_t i = 0; i < h.nreq; i++) {
        assert_int_equal(txn_state(h.st[i]), TXN_TERMINATED);
        txn_unref(h.st[i]);
    }
    txn_layer_free(h.l);
    tmr_wheel_free(h.wheel);
    clear_sent();
    return 0;
}

static struct tp_flow flow_of(enum tp_proto proto)
{
    struct tp_flow f = {.proto = proto, .conn_id = proto == TP_TCP ? 7 : 0};
    assert_int_equal(tp_addr_parse(&f.remote, SLICE_LIT("192.0.2.1:5060"), 5060), 0);
    assert_int_equal(tp_addr_parse(&f.local, SLICE_LIT("192.0.2.9:5060"), 5060), 0);
    return f;
}

/*
 * A request from 192.0.2.1. via: the whole top Via value; to_tag: "" or
 * ";tag=..."; cseq: e.g. "1 INVITE".
 */
static struct sipmsg *mk_req(const char *method, const char *via, const char *to_tag,
                             const char *cseq)
{
    char b[1024];
    int n = snprintf(b, sizeof(b),
                     "%s sip:bob@example.com SIP/2.0\r\n"
                     "Via: %s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.com>;tag=a1\r\n"
                     "To: <sip:bob@example.com>%s\r\n"
                     "Call-ID: c1@192.0.2.1\r\n"
                     "CSeq: %s\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, via, to_tag, cseq);
    return test_msg_parse(b, (size_t)n);
}

#define VIA1 "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa1"
#define VIA2 "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbbb2"
#define VIA_OLD "SIP/2.0/UDP 192.0.2.1:5060"

/* Feeds a request and drops our ref. */
static void feed(struct sipmsg *m, enum tp_proto proto)
{
    struct tp_flow f = flow_of(proto);
    txn_layer_recv(h.l, m, &f);
    sipmsg_unref(m);
}

static unsigned sent_status(size_t i)
{
    assert_true(i < h.nsent);
    assert_true(h.sent[i].is_response);
    return h.sent[i].m->status;
}

/* An ACK for the response with the given To tag, in the INVITE's txn
 * (same branch, §17.1.1.3). */
static struct sipmsg *mk_ack_n(const char *via, struct slice tag, unsigned cseq)
{
    char t[64], c[32];
    snprintf(t, sizeof(t), ";tag=" SLICE_FMT, SLICE_ARG(tag));
    snprintf(c, sizeof(c), "%u ACK", cseq);
    return mk_req("ACK", via, t, c);
}

static struct sipmsg *mk_ack(const char *via, struct slice tag)
{
    return mk_ack_n(via, tag, 1);
}

/* ---- INVITE server transactions (§17.2.1) ---- */

static void test_invite_server_txn_sends_100_at_once_when_asked(void **state)
{
    (void)state;
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    txn_layer_free(h.l);
    h.l = layer_new(&cfg, true);

    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(sent_status(0), 100);
    assert_int_equal(h.sent[0].m->to.tag.len, 0); /* §8.2.6.2: no tag on a 100 */
    assert_int_equal(txn_state(h.st[0]), TXN_PROCEEDING);

    /* A retransmitted INVITE gets the 100 again (§17.2.1). */
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(sent_status(1), 100);

    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    feed(mk_ack(VIA1, h.sent[2].m->to.tag), TP_UDP);
    assert_int_equal(txn_state(h.st[0]), TXN_CONFIRMED);
}

static void test_invite_server_txn_absorbs_retransmit(void **state)
{
    (void)state;
    uint64_t absorbed = metric_read(metric_find("txn_absorbed_retransmissions_total"));
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 0); /* no 100 unless the TU asks */

    /* Proceeding without a provisional: absorbed silently. */
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 0);

    assert_int_equal(txn_server_reply(h.st[0], 180, SLICE_NULL, NULL), 0);
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(sent_status(1), 180);
    assert_true(slice_eq(h.sent[0].m->to.tag, h.sent[1].m->to.tag));
    assert_int_equal(metric_read(metric_find("txn_absorbed_retransmissions_total")), absorbed + 2);

    /* The final keeps the To tag of the provisional (§8.2.6.2). */
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    assert_true(slice_eq(h.sent[0].m->to.tag, h.sent[2].m->to.tag));
    feed(mk_ack(VIA1, h.sent[2].m->to.tag), TP_UDP);
}

static void test_timer_g_retransmits_final_until_ack(void **state)
{
    (void)state;
    uint64_t retrans = metric_read(metric_find("txn_retransmissions_total"));
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_COMPLETED);

    /* Timer G: T1, 2*T1, 4*T1, then capped at T2 (§17.2.1). */
    static const uint64_t gaps[] = {500, 1000, 2000, 4000, 4000, 4000};
    for (size_t i = 0; i < SW_ARRAY_LEN(gaps); i++) {
        advance(gaps[i] - 1);
        assert_int_equal(h.nsent, 1 + i);
        advance(1);
        assert_int_equal(h.nsent, 2 + i);
        assert_int_equal(sent_status(1 + i), 486);
    }
    assert_int_equal(metric_read(metric_find("txn_retransmissions_total")), retrans + 6);

    /* The ACK stops Timer G and is not passed to the TU. */
    feed(mk_ack(VIA1, h.sent[0].m->to.tag), TP_UDP);
    assert_int_equal(txn_state(h.st[0]), TXN_CONFIRMED);
    assert_int_equal(h.nack, 0);
    size_t n = h.nsent;
    advance(4000);
    assert_int_equal(h.nsent, n);
    /* Timer I (T4) ends it. */
    advance(1000);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(h.nend, 0);
}

static void test_timer_h_ends_txn_without_ack(void **state)
{
    (void)state;
    uint64_t timeouts = metric_read(metric_find("txn_timeouts_total"));
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 603, SLICE_NULL, NULL), 0);
    advance(64 * 500 - 1);
    assert_int_equal(txn_state(h.st[0]), TXN_COMPLETED);
    advance(1);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(h.nend, 1);
    assert_int_equal(h.end_reason, -ETIMEDOUT);
    assert_int_equal(metric_read(metric_find("txn_timeouts_total")), timeouts + 1);
    assert_int_equal(txn_layer_count(h.l), 0);
}

static void test_ack_for_non_2xx_is_absorbed_in_confirmed(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 404, SLICE_NULL, NULL), 0);
    struct slice tag = h.sent[0].m->to.tag;
    feed(mk_ack(VIA1, tag), TP_UDP);
    feed(mk_ack(VIA1, tag), TP_UDP);
    /* A retransmitted INVITE in Confirmed is absorbed without a resend. */
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nack, 0);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_CONFIRMED);
}

static void test_2xx_passes_through_accepted_state(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
    assert_int_equal(txn_state(h.st[0]), TXN_ACCEPTED);
    assert_int_equal(h.nsent, 1);

    /* RFC 6026 §8.7: a retransmitted INVITE is absorbed (the TU, not the
     * txn, retransmits the 2xx), and the TU's 2xx retransmissions pass. */
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 1);
    advance(500);
    assert_int_equal(h.nsent, 1); /* no Timer G for a 2xx */
    /* The txn keeps no request in Accepted (txn_request): the TU resends
     * its own 2xx bytes. */
    assert_null(txn_request(h.st[0]));
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), -EINVAL);
    assert_int_equal(txn_server_respond(h.st[0], h.sent[0].m->buf, h.sent[0].m->len), 0);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(sent_status(1), 200);
    assert_true(slice_eq(h.sent[0].m->to.tag, h.sent[1].m->to.tag));
    /* Nothing but a 2xx makes sense any more. */
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), -EINVAL);
    assert_int_equal(txn_server_reply(h.st[0], 180, SLICE_NULL, NULL), -EINVAL);

    /* Timer L (64*T1) ends it. */
    advance(64 * 500 - 501);
    assert_int_equal(txn_state(h.st[0]), TXN_ACCEPTED);
    advance(1);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(h.nend, 0);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), -ESRCH);
}

static void test_ack_for_2xx_goes_to_tu(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
    struct slice tag = h.sent[0].m->to.tag;

    /* The usual 2xx ACK has a branch of its own: no txn, to the TU. */
    feed(mk_ack(VIA2, tag), TP_UDP);
    assert_int_equal(h.nack, 1);
    assert_null(h.ack_st);

    /* One that reuses the INVITE's branch matches the txn in Accepted
     * and still goes to the TU (RFC 6026 §8.7). */
    feed(mk_ack(VIA1, tag), TP_UDP);
    assert_int_equal(h.nack, 2);
    assert_ptr_equal(h.ack_st, h.st[0]);
    assert_int_equal(txn_state(h.st[0]), TXN_ACCEPTED);
}

/* ---- non-INVITE server transactions (§17.2.2) ---- */

static void test_non_invite_server_txn_timer_j_absorbs_then_ends(void **state)
{
    (void)state;
    feed(mk_req("OPTIONS", VIA1, "", "5 OPTIONS"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_TRYING);

    /* Trying: a retransmission is discarded. */
    feed(mk_req("OPTIONS", VIA1, "", "5 OPTIONS"), TP_UDP);
    assert_int_equal(h.nsent, 0);
    assert_int_equal(h.nreq, 1);

    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
    assert_int_equal(txn_state(h.st[0]), TXN_COMPLETED);
    /* Completed: the final is resent for each retransmission ... */
    feed(mk_req("OPTIONS", VIA1, "", "5 OPTIONS"), TP_UDP);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(sent_status(1), 200);
    /* ... and further finals from the TU are discarded. */
    assert_int_equal(txn_server_reply(h.st[0], 500, SLICE_NULL, NULL), -EALREADY);
    assert_int_equal(h.nsent, 2);
    /* No Timer G for a non-INVITE: nothing resent on its own. */
    advance(64 * 500 - 1);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(txn_state(h.st[0]), TXN_COMPLETED);
    advance(1); /* Timer J */
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
}

static void test_non_invite_server_txn_resends_provisional(void **state)
{
    (void)state;
    feed(mk_req("REGISTER", VIA1, "", "2 REGISTER"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 101, SLICE_LIT("Working"), NULL), 0);
    assert_int_equal(txn_state(h.st[0]), TXN_PROCEEDING);
    feed(mk_req("REGISTER", VIA1, "", "2 REGISTER"), TP_UDP);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(sent_status(1), 101);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
    assert_int_equal(txn_server_reply(h.st[0], 180, SLICE_NULL, NULL), -EINVAL);
}

static void test_respond_takes_tu_built_bytes(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    static const char resp[] = "SIP/2.0 180 Ringing\r\n"
                               "Via: " VIA1 "\r\n"
                               "From: <sip:alice@example.com>;tag=a1\r\n"
                               "To: <sip:bob@example.com>;tag=down1\r\n"
                               "Call-ID: c1@192.0.2.1\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Content-Length: 0\r\n\r\n";
    assert_int_equal(txn_server_respond(h.st[0], resp, strlen(resp)), 0);
    assert_int_equal(sent_status(0), 180);
    assert_true(slice_eq(h.sent[0].m->to.tag, SLICE_LIT("down1")));
    /* A request or garbage is refused and changes nothing. */
    assert_int_equal(txn_server_respond(h.st[0], "junk", 4), -EINVAL);
    struct sipmsg *req = mk_req("BYE", VIA2, "", "2 BYE");
    assert_int_equal(txn_server_respond(h.st[0], req->buf, req->len), -EINVAL);
    sipmsg_unref(req);
    assert_int_equal(txn_state(h.st[0]), TXN_PROCEEDING);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
}

/* ---- reliable transports ---- */

static void test_tcp_has_no_retransmissions(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_TCP);
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    advance(10000);
    assert_int_equal(h.nsent, 1); /* no Timer G on TCP */
    /* Timer I is 0 on TCP: the ACK ends the txn at once. */
    feed(mk_ack(VIA1, h.sent[0].m->to.tag), TP_TCP);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);

    /* Timer J is 0 on TCP: the final ends a non-INVITE txn at once. */
    feed(mk_req("OPTIONS", VIA2, "", "2 OPTIONS"), TP_TCP);
    assert_int_equal(txn_server_reply(h.st[1], 200, SLICE_NULL, NULL), 0);
    assert_int_equal(txn_state(h.st[1]), TXN_TERMINATED);
    assert_int_equal(txn_layer_count(h.l), 0);
}

static void test_final_answered_inside_request_callback_on_tcp(void **state)
{
    (void)state;
    /* The txn ends inside the TU's own call; the layer's ref keeps it. */
    h.auto_code = 200;
    feed(mk_req("OPTIONS", VIA1, "", "2 OPTIONS"), TP_TCP);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(txn_layer_count(h.l), 0);
}

/* ---- matching (§17.2.3) ---- */

static void test_rfc2543_request_matches_without_cookie(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA_OLD, "", "1 INVITE"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    /* Same R-URI, tags, Call-ID, CSeq and top Via: a retransmission. */
    feed(mk_req("INVITE", VIA_OLD, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(h.nsent, 2);
    /* Another CSeq is another transaction. */
    feed(mk_req("INVITE", VIA_OLD, "", "2 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 2);
    /* The ACK matches on the To tag of our response, nothing else. */
    feed(mk_ack(VIA_OLD, SLICE_LIT("other")), TP_UDP);
    assert_int_equal(h.nack, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_COMPLETED);
    feed(mk_ack(VIA_OLD, h.sent[0].m->to.tag), TP_UDP);
    assert_int_equal(h.nack, 1);
    assert_int_equal(txn_state(h.st[0]), TXN_CONFIRMED);
    assert_int_equal(txn_server_reply(h.st[1], 486, SLICE_NULL, NULL), 0);
    /* A CANCEL finds the INVITE it cancels the RFC 2543 way too (§9.2). */
    struct sipmsg *c = mk_req("CANCEL", VIA_OLD, "", "2 CANCEL");
    assert_ptr_equal(txn_server_find_cancelled(h.l, c), h.st[1]);
    sipmsg_unref(c);
    feed(mk_ack_n(VIA_OLD, h.sent[2].m->to.tag, 2), TP_UDP);
    assert_int_equal(txn_state(h.st[1]), TXN_CONFIRMED);
}

static void test_same_branch_from_another_sent_by_is_a_new_txn(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    feed(mk_req("INVITE", "SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKaaa1", "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 2);
    /* An explicit 5060 is the default port: the same sent-by. */
    feed(mk_req("INVITE", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKaaa1", "", "1 INVITE"),
         TP_UDP);
    assert_int_equal(h.nreq, 2);
    /* Same branch, another method: its own txn. */
    feed(mk_req("OPTIONS", VIA1, "", "1 OPTIONS"), TP_UDP);
    assert_int_equal(h.nreq, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(txn_server_reply(h.st[i], 200, SLICE_NULL, NULL), 0);
}

static void test_cancel_is_its_own_txn_and_finds_the_invite(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    struct sipmsg *c = mk_req("CANCEL", VIA1, "", "1 CANCEL");
    feed(sipmsg_ref(c), TP_UDP);
    assert_int_equal(h.nreq, 2);
    assert_int_equal(txn_request(h.st[1])->method, SIP_CANCEL);
    assert_ptr_equal(txn_server_find_cancelled(h.l, c), h.st[0]);
    sipmsg_unref(c);

    /* §9.2: 200 to the CANCEL, 487 to the INVITE. */
    assert_int_equal(txn_server_reply(h.st[1], 200, SLICE_NULL, NULL), 0);
    assert_int_equal(txn_server_reply(h.st[0], 487, SLICE_NULL, NULL), 0);
    /* A CANCEL from elsewhere cancels nothing. */
    c = mk_req("CANCEL", VIA2, "", "1 CANCEL");
    assert_null(txn_server_find_cancelled(h.l, c));
    sipmsg_unref(c);
    feed(mk_ack(VIA1, h.sent[1].m->to.tag), TP_UDP);
}

/* ---- limits and errors ---- */

static void test_txn_limit_gives_503(void **state)
{
    (void)state;
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    cfg.max_txns = 1;
    cfg.retry_after_s = 7;
    txn_layer_free(h.l);
    h.l = layer_new(&cfg, false);

    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    feed(mk_req("OPTIONS", VIA2, "", "2 OPTIONS"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(txn_layer_count(h.l), 1);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(sent_status(0), 503);
    const struct sip_hdr *ra = sipmsg_hdr_first(h.sent[0].m, HDR_RETRY_AFTER);
    assert_non_null(ra);
    assert_true(slice_eq(ra->value, SLICE_LIT("7")));
    /* An ACK over the limit cannot be answered: just not matched. */
    feed(mk_ack(VIA2, SLICE_LIT("x")), TP_UDP);
    assert_int_equal(h.nsent, 1);
    /* Retransmissions of the live txn are still absorbed. */
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    assert_int_equal(h.nreq, 1);
    assert_int_equal(txn_server_reply(h.st[0], 200, SLICE_NULL, NULL), 0);
}

static void test_send_failure_ends_server_txn(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_TCP);
    h.fail_rc = -ENOTCONN;
    assert_int_equal(txn_server_reply(h.st[0], 180, SLICE_NULL, NULL), -ENOTCONN);
    h.fail_rc = 0;
    /* §17.2.4: the txn is gone; no callback for an error already returned. */
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(h.nend, 0);
}

static void test_transport_error_ends_server_txn(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_TCP);
    feed(mk_req("INVITE", VIA2, "", "1 INVITE"), TP_UDP);
    struct tp_flow f = flow_of(TP_TCP);
    txn_layer_transport_error(h.l, &f, -ECONNRESET);
    assert_int_equal(h.nend, 1);
    assert_int_equal(h.end_reason, -ECONNRESET);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(txn_state(h.st[1]), TXN_PROCEEDING);
    assert_int_equal(txn_server_reply(h.st[1], 200, SLICE_NULL, NULL), 0);
}

static void test_layer_free_ends_live_txns_without_callbacks(void **state)
{
    (void)state;
    feed(mk_req("INVITE", VIA1, "", "1 INVITE"), TP_UDP);
    feed(mk_req("OPTIONS", VIA2, "", "1 OPTIONS"), TP_UDP);
    assert_int_equal(txn_server_reply(h.st[0], 486, SLICE_NULL, NULL), 0);
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    txn_layer_free(h.l); /* Timer G and H were armed: stopped here */
    assert_int_equal(h.nend, 0);
    assert_int_equal(txn_state(h.st[0]), TXN_TERMINATED);
    assert_int_equal(txn_server_reply(h.st[1], 200, SLICE_NULL, NULL), -ESRCH);
    h.l = layer_new(&cfg, false);
}

/* ---- the cross-worker index of INVITE server txns ---- */

static void test_index_finds_the_invite_worker_for_cancel_and_ack(void **state)
{
    (void)state;
    struct txn_index *x = txn_index_new(16);
    assert_non_null(x);
    struct sipmsg *inv = mk_req("INVITE", VIA1, "", "1 INVITE");
    struct sipmsg *cancel = mk_req("CANCEL", VIA1, "", "1 CANCEL");
    struct sipmsg *ack = mk_req("ACK", VIA1, ";tag=b1", "1 ACK");
    struct sipmsg *other = mk_req("INVITE", VIA2, "", "1 INVITE");
    struct sipmsg *moved =
        mk_req("CANCEL", "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKaaa1", "", "1 CANCEL");
    struct sipmsg *old = mk_req("CANCEL", VIA_OLD, "", "1 CANCEL");

    assert_int_equal(txn_index_get(x, cancel), -1); /* nothing known yet */
    txn_index_put(x, inv, 3, 60);
    /* §9.2 / §17.1.1.3: the CANCEL and the non-2xx ACK repeat the
     * INVITE's branch and sent-by */
    assert_int_equal(txn_index_get(x, cancel), 3);
    assert_int_equal(txn_index_get(x, ack), 3);
    assert_int_equal(txn_index_get(x, inv), 3);
    /* another branch, or the same branch from another sent-by (§17.2.3) */
    assert_int_equal(txn_index_get(x, other), -1);
    assert_int_equal(txn_index_get(x, moved), -1);
    /* RFC 2543 requests are not indexed */
    assert_int_equal(txn_index_get(x, old), -2);
    /* a newer entry for the same key wins */
    txn_index_put(x, inv, 1, 60);
    assert_int_equal(txn_index_get(x, cancel), 1);
    /* an expired entry is no answer (ttl 0 ends at once) */
    txn_index_put(x, other, 2, 0);
    assert_int_equal(txn_index_get(x, other), -1);
    /* bounded: 100,000 INVITEs in a 16-entry index only overwrite */
    char via[128];
    for (int i = 0; i < 100000; i++) {
        snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKf%d", i);
        struct sipmsg *m = mk_req("INVITE", via, "", "1 INVITE");
        txn_index_put(x, m, (unsigned)(i % 4), 60);
        assert_int_equal(txn_index_get(x, m), i % 4);
        sipmsg_unref(m);
    }
    txn_index_free(x);
    txn_index_free(NULL);
    assert_int_equal(txn_index_get(NULL, inv), -1);
    sipmsg_unref(inv);
    sipmsg_unref(cancel);
    sipmsg_unref(ack);
    sipmsg_unref(other);
    sipmsg_unref(moved);
    sipmsg_unref(old);
}

int main(void)
{
    log_configure(LOG_LVL_ERROR, LOG_FMT_TEXT, 2);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_invite_server_txn_sends_100_at_once_when_asked),
        T(test_invite_server_txn_absorbs_retransmit),
        T(test_timer_g_retransmits_final_until_ack),
        T(test_timer_h_ends_txn_without_ack),
        T(test_ack_for_non_2xx_is_absorbed_in_confirmed),
        T(test_2xx_passes_through_accepted_state),
        T(test_ack_for_2xx_goes_to_tu),
        T(test_non_invite_server_txn_timer_j_absorbs_then_ends),
        T(test_non_invite_server_txn_resends_provisional),
        T(test_respond_takes_tu_built_bytes),
        T(test_tcp_has_no_retransmissions),
        T(test_final_answered_inside_request_callback_on_tcp),
        T(test_rfc2543_request_matches_without_cookie),
        T(test_same_branch_from_another_sent_by_is_a_new_txn),
        T(test_cancel_is_its_own_txn_and_finds_the_invite),
        T(test_txn_limit_gives_503),
        T(test_send_failure_ends_server_txn),
        T(test_transport_error_ends_server_txn),
        T(test_layer_free_ends_live_txns_without_callbacks),
        T(test_index_finds_the_invite_worker_for_cancel_and_ack),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
