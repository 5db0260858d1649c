/* SPDX-License-Identifier: BSD-2-Clause */
/* Client transactions (RFC 3261 §17.1, §9.1, RFC 6026), driven by a fake clock. */
#include "txn/txn.h"

#include "core/buf.h"
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
#define MAX_RESP 16

static struct {
    struct tmr_wheel *wheel;
    struct txn_layer *l;
    uint64_t now_ms;
    struct sipmsg *sent[MAX_SENT]; /* refs: requests that would have gone out */
    uint64_t sent_at[MAX_SENT];
    size_t nsent;
    int fail_rc; /* returned by sends when non-zero */
    /* TU */
    unsigned codes[MAX_RESP]; /* statuses delivered to the txn's handler */
    size_t nresp;
    struct sipmsg *last; /* ref: last response delivered */
    /* the requests start() handed the layer, parsed here: a txn drops its
     * own copy once it only absorbs retransmissions (txn_request) */
    struct txn *started[16];        /* borrowed, only compared */
    struct sipmsg *started_req[16]; /* ref */
    size_t nstarted;
    size_t nstray;
    unsigned stray_code;
    bool detach_on_final; /* the handler detaches on a final response */
} h;

static int cap_send(void *arg, const struct tp_flow *flow, const void *data, size_t len)
{
    (void)arg;
    (void)flow;
    if (h.fail_rc != 0)
        return h.fail_rc;
    assert_true(h.nsent < MAX_SENT);
    h.sent_at[h.nsent] = h.now_ms;
    h.sent[h.nsent++] = test_msg_parse(data, len);
    return 0;
}

static int cap_send_response(void *arg, const struct sipmsg *req, const struct tp_flow *flow,
                             const void *data, size_t len)
{
    (void)arg;
    (void)req;
    (void)flow;
    (void)data;
    (void)len;
    fail_msg("a client transaction sent a response");
    return -EINVAL;
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

static void on_request(struct txn *st, const struct sipmsg *req, const struct tp_flow *flow,
                       void *arg)
{
    (void)st;
    (void)req;
    (void)flow;
    (void)arg;
    fail_msg("no request expected");
}

static void on_stray(const struct sipmsg *resp, const struct tp_flow *flow, void *arg)
{
    (void)flow;
    (void)arg;
    h.nstray++;
    h.stray_code = resp->status;
}

static void on_resp(struct txn *t, const struct sipmsg *resp, void *arg)
{
    assert_ptr_equal(arg, &h);
    assert_true(h.nresp < MAX_RESP);
    h.codes[h.nresp++] = resp->status;
    if (h.last != NULL)
        sipmsg_unref(h.last);
    h.last = sipmsg_ref((struct sipmsg *)resp);
    if (h.detach_on_final && resp->status >= 200)
        txn_detach(t);
}

static void advance(uint64_t ms)
{
    h.now_ms += ms;
    tmr_wheel_advance(h.wheel, h.now_ms);
}

static struct txn_layer *layer_new(const struct txn_config *cfg)
{
    struct txn_tu tu = {.request = on_request, .stray_response = on_stray};
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
    cfg.worker_id = 3;
    h.l = layer_new(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* Every test leaves its transactions able to end on their timers. */
    advance(200000);
    assert_int_equal(txn_layer_count(h.l), 0);
    txn_layer_free(h.l);
    tmr_wheel_free(h.wheel);
    for (size_t i = 0; i < h.nsent; i++)
        sipmsg_unref(h.sent[i]);
    for (size_t i = 0; i < h.nstarted; i++)
        sipmsg_unref(h.started_req[i]);
    if (h.last != NULL)
        sipmsg_unref(h.last);
    return 0;
}

static struct tp_flow flow_of(enum tp_proto proto)
{
    struct tp_flow f = {.proto = proto};
    assert_int_equal(tp_addr_parse(&f.remote, SLICE_LIT("203.0.113.5:5060"), 5060), 0);
    return f;
}

/* Our request as a proxy would forward it: our Via on top with a branch
 * of ours, the upstream Via below, two Route fields. */
static int mk_req(char *out, size_t cap, const char *method, const char *branch)
{
    int n = snprintf(out, cap,
                     "%s sip:bob@203.0.113.5 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=%s\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKup1\r\n"
                     "Route: <sip:p1.example.com;lr>\r\n"
                     "Route: <sip:p2.example.com;lr>\r\n"
                     "Max-Forwards: 69\r\n"
                     "From: Alice <sip:alice@example.com>;tag=a1\r\n"
                     "To: Bob <sip:bob@example.com>\r\n"
                     "Call-ID: c2@192.0.2.1\r\n"
                     "CSeq: 7 %s\r\n"
                     "Contact: <sip:alice@192.0.2.1>\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: 5\r\n\r\n"
                     "v=0\r\n",
                     method, branch, method);
    assert_true(n > 0 && (size_t)n < cap);
    return n;
}

/* Starts a client txn for method over proto; returns it (caller's ref). */
static struct txn *start(const char *method, enum tp_proto proto)
{
    char branch[TXN_BRANCH_CAP], b[2048];
    assert_true(txn_branch_new(h.l, branch, sizeof(branch)) > 0);
    int n = mk_req(b, sizeof(b), method, branch);
    struct tp_flow f = flow_of(proto);
    struct txn *t = NULL;
    assert_int_equal(txn_client_new(&t, h.l, &f, b, (size_t)n, on_resp, &h), 0);
    assert_non_null(t);
    assert_true(h.nstarted < SW_ARRAY_LEN(h.started));
    h.started[h.nstarted] = t;
    h.started_req[h.nstarted++] = test_msg_parse(b, (size_t)n);
    return t;
}

/* The request start() sent for t. */
static const struct sipmsg *req_of(const struct txn *t)
{
    for (size_t i = h.nstarted; i-- > 0;)
        if (h.started[i] == t)
            return h.started_req[i];
    fail_msg("not a started txn");
    return NULL;
}

/* Feeds a response to req (a request we sent) with the given To tag. */
static void respond_to(const struct sipmsg *req, unsigned code, const char *tag)
{
    struct buf b;
    buf_init(&b, 0);
    struct sipmsg_reply_opts o = {.to_tag = slice_cstr(tag)};
    assert_int_equal(sipmsg_reply_build(&b, req, code, SLICE_NULL, &o), 0);
    struct sipmsg *m = test_msg_parse(b.p, b.len);
    struct tp_flow f = flow_of(TP_UDP);
    txn_layer_recv(h.l, m, &f);
    sipmsg_unref(m);
    buf_fini(&b);
}

static void respond(struct txn *t, unsigned code, const char *tag)
{
    respond_to(req_of(t), code, tag);
}

/* ---- INVITE client transactions (§17.1.1) ---- */

static void test_invite_client_txn_timer_a_doubles_without_cap(void **state)
{
    (void)state;
    uint64_t retrans = metric_read(metric_find("txn_retransmissions_total"));
    struct txn *t = start("INVITE", TP_UDP);
    assert_int_equal(txn_state(t), TXN_CALLING);
    assert_int_equal(h.nsent, 1);
    /* Timer A: T1, 2T1, 4T1 ... past T2 (no cap for INVITE, §17.1.1.2). */
    static const uint64_t gaps[] = {500, 1000, 2000, 4000, 8000, 16000};
    for (size_t i = 0; i < SW_ARRAY_LEN(gaps); i++) {
        advance(gaps[i] - 1);
        assert_int_equal(h.nsent, 1 + i);
        advance(1);
        assert_int_equal(h.nsent, 2 + i);
        assert_memory_equal(h.sent[1 + i]->buf, h.sent[0]->buf, h.sent[0]->len);
    }
    assert_int_equal(metric_read(metric_find("txn_retransmissions_total")), retrans + 6);
    txn_unref(t);
}

static void test_invite_client_timer_b_gives_408(void **state)
{
    (void)state;
    uint64_t timeouts = metric_read(metric_find("txn_timeouts_total"));
    struct txn *t = start("INVITE", TP_UDP);
    advance(64 * 500 - 1);
    assert_int_equal(h.nresp, 0);
    advance(1);
    assert_int_equal(h.nresp, 1);
    assert_int_equal(h.codes[0], 408);
    /* The synthesized 408 reads like a received one: our Via on top. */
    assert_true(slice_eq(h.last->via1.branch, req_of(t)->via1.branch));
    assert_int_equal(h.last->via_count, 2);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    assert_int_equal(metric_read(metric_find("txn_timeouts_total")), timeouts + 1);
    size_t n = h.nsent;
    advance(100000);
    assert_int_equal(h.nsent, n);
    assert_int_equal(txn_client_cancel(t, SLICE_NULL), -ESRCH);
    txn_unref(t);
}

static void test_provisional_stops_timer_a_and_b(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 100, "");
    assert_int_equal(txn_state(t), TXN_PROCEEDING);
    respond(t, 180, "b1");
    assert_int_equal(h.nresp, 2);
    advance(100000);
    assert_int_equal(h.nsent, 1);
    assert_int_equal(txn_state(t), TXN_PROCEEDING); /* Timer C is the proxy's */
    respond(t, 486, "b1");
    txn_unref(t);
}

static void test_invite_client_txn_acks_non_2xx_itself(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 180, "b1");
    respond(t, 486, "b1");
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.codes[1], 486);
    assert_int_equal(txn_state(t), TXN_COMPLETED);
    assert_int_equal(h.nsent, 2);

    /* Only the ACK is kept for resending (txn_compact). */
    assert_null(txn_request(t));
    /* §17.1.1.3: R-URI, Call-ID, From, CSeq number of the request, To of
     * the response, the top Via only, the Route fields. */
    const struct sipmsg *req = req_of(t), *ack = h.sent[1];
    assert_int_equal(ack->method, SIP_ACK);
    assert_true(slice_eq(ack->ruri_s, req->ruri_s));
    assert_true(slice_eq(ack->call_id, req->call_id));
    assert_true(slice_eq(ack->from.raw, req->from.raw));
    assert_true(slice_eq(ack->to.tag, SLICE_LIT("b1")));
    assert_int_equal(ack->cseq.num, 7);
    assert_int_equal(ack->cseq.method, SIP_ACK);
    assert_int_equal(ack->via_count, 1);
    assert_true(slice_eq(ack->via1.raw, req->via1.raw));
    const struct sip_hdr *r1 = sipmsg_hdr_first(ack, HDR_ROUTE);
    assert_non_null(r1);
    assert_true(slice_eq(r1->value, SLICE_LIT("<sip:p1.example.com;lr>")));
    const struct sip_hdr *r2 = sipmsg_hdr_next(ack, r1);
    assert_non_null(r2);
    assert_true(slice_eq(r2->value, SLICE_LIT("<sip:p2.example.com;lr>")));
    assert_int_equal(ack->content_length, 0);

    /* A retransmitted final: the ACK again, the TU not bothered. */
    respond(t, 486, "b1");
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.nsent, 3);
    assert_int_equal(h.sent[2]->method, SIP_ACK);

    /* Timer D (32 s on UDP) ends it. */
    advance(32000 - 1);
    assert_int_equal(txn_state(t), TXN_COMPLETED);
    advance(1);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    txn_unref(t);
}

static void test_2xx_after_non_2xx_goes_to_stray_handler(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 486, "b1");
    respond(t, 200, "b2");
    assert_int_equal(h.nresp, 1);
    assert_int_equal(h.nstray, 1);
    assert_int_equal(h.stray_code, 200);
    assert_int_equal(h.nsent, 2); /* only our ACK for the 486 */
    txn_unref(t);
}

static void test_layer_refuses_bad_timer_settings(void **state)
{
    (void)state;
    struct txn_tu tu = {.request = on_request};
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    cfg.t1_ms = 0;
    assert_null(txn_layer_new(&cfg, h.wheel, &cap_io, NULL, &tu, NULL));
    txn_config_defaults(&cfg);
    cfg.t2_ms = 100; /* below T1 */
    assert_null(txn_layer_new(&cfg, h.wheel, &cap_io, NULL, &tu, NULL));
    txn_config_defaults(&cfg);
    cfg.t1_ms = TXN_T_MAX_MS + 1;
    cfg.t2_ms = TXN_T_MAX_MS + 1;
    assert_null(txn_layer_new(&cfg, h.wheel, &cap_io, NULL, &tu, NULL));
    txn_config_defaults(&cfg);
    cfg.worker_id = 256;
    assert_null(txn_layer_new(&cfg, h.wheel, &cap_io, NULL, &tu, NULL));
}

static void test_2xx_passes_through_accepted_state(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 200, "b1");
    assert_int_equal(txn_state(t), TXN_ACCEPTED);
    assert_int_equal(h.nsent, 1); /* the TU ACKs a 2xx, not the txn */
    /* RFC 6026 §8.4: retransmissions and other forks' 2xx reach the TU. */
    respond(t, 200, "b1");
    respond(t, 200, "b2");
    assert_int_equal(h.nresp, 3);
    assert_true(slice_eq(h.last->to.tag, SLICE_LIT("b2")));
    /* Non-2xx in Accepted means nothing. */
    respond(t, 486, "b3");
    assert_int_equal(h.nresp, 3);
    advance(500);
    assert_int_equal(h.nsent, 1);

    /* Timer M (64*T1) ends it; later 2xx are strays for the TU to forward. */
    advance(64 * 500 - 501);
    assert_int_equal(txn_state(t), TXN_ACCEPTED);
    advance(1);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    respond(t, 200, "b1");
    assert_int_equal(h.nresp, 3);
    assert_int_equal(h.nstray, 1);
    assert_int_equal(h.stray_code, 200);
    txn_unref(t);
}

static void test_detached_accepted_txn_hands_2xx_to_stray_handler(void **state)
{
    (void)state;
    h.detach_on_final = true;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 200, "b1");
    assert_int_equal(h.nresp, 1);
    assert_null(txn_arg(t));
    respond(t, 200, "b1");
    assert_int_equal(h.nresp, 1);
    assert_int_equal(h.nstray, 1);
    txn_unref(t);
}

/* ---- non-INVITE client transactions (§17.1.2) ---- */

static void test_non_invite_client_timer_e_doubles_to_t2(void **state)
{
    (void)state;
    struct txn *t = start("OPTIONS", TP_UDP);
    assert_int_equal(txn_state(t), TXN_TRYING);
    static const uint64_t gaps[] = {500, 1000, 2000, 4000, 4000, 4000};
    for (size_t i = 0; i < SW_ARRAY_LEN(gaps); i++) {
        advance(gaps[i] - 1);
        assert_int_equal(h.nsent, 1 + i);
        advance(1);
        assert_int_equal(h.nsent, 2 + i);
    }
    respond(t, 200, "x");
    txn_unref(t);
}

static void test_non_invite_client_timer_e_is_t2_in_proceeding(void **state)
{
    (void)state;
    struct txn *t = start("REGISTER", TP_UDP);
    advance(500); /* first retransmission; the next would be after 1000 */
    assert_int_equal(h.nsent, 2);
    respond(t, 100, "");
    assert_int_equal(txn_state(t), TXN_PROCEEDING);
    advance(1000); /* the pending Timer E still fires ... */
    assert_int_equal(h.nsent, 3);
    advance(4000 - 1); /* ... then every T2 */
    assert_int_equal(h.nsent, 3);
    advance(1);
    assert_int_equal(h.nsent, 4);
    advance(4000);
    assert_int_equal(h.nsent, 5);
    respond(t, 200, "x");
    txn_unref(t);
}

static void test_non_invite_client_timer_f_gives_408(void **state)
{
    (void)state;
    struct txn *t = start("OPTIONS", TP_UDP);
    respond(t, 100, ""); /* a provisional does not stop Timer F */
    advance(64 * 500 - 1);
    assert_int_equal(h.nresp, 1);
    advance(1);
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.codes[1], 408);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    txn_unref(t);
}

static void test_non_invite_client_completed_absorbs_until_timer_k(void **state)
{
    (void)state;
    struct txn *t = start("BYE", TP_UDP);
    respond(t, 200, "x");
    assert_int_equal(txn_state(t), TXN_COMPLETED);
    respond(t, 200, "x");
    assert_int_equal(h.nresp, 1);
    advance(5000 - 1);
    assert_int_equal(h.nsent, 1); /* Timer E stopped by the final */
    assert_int_equal(txn_state(t), TXN_COMPLETED);
    advance(1); /* Timer K = T4 */
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    txn_unref(t);
}

/* ---- reliable transports ---- */

static void test_tcp_has_no_retransmissions(void **state)
{
    (void)state;
    struct txn *inv = start("INVITE", TP_TCP);
    struct txn *opt = start("OPTIONS", TP_TCP);
    advance(31999);
    assert_int_equal(h.nsent, 2); /* neither Timer A nor E on TCP */
    /* Timer K is 0: the final ends the non-INVITE txn at once. */
    respond(opt, 200, "x");
    assert_int_equal(txn_state(opt), TXN_TERMINATED);
    /* Timer D is 0: the ACK goes out and the txn ends at once. */
    respond(inv, 404, "y");
    assert_int_equal(h.nsent, 3);
    assert_int_equal(h.sent[2]->method, SIP_ACK);
    assert_int_equal(txn_state(inv), TXN_TERMINATED);
    /* Timer B still runs on TCP. */
    struct txn *inv2 = start("INVITE", TP_TCP);
    advance(64 * 500);
    assert_int_equal(h.codes[h.nresp - 1], 408);
    txn_unref(inv);
    txn_unref(opt);
    txn_unref(inv2);
}

/* ---- transport errors (§17.1.4, §8.1.3.1) ---- */

static void test_transport_error_gives_503(void **state)
{
    (void)state;
    /* Synchronous: the caller gets the error, no txn is left. */
    h.fail_rc = -ECONNREFUSED;
    char branch[TXN_BRANCH_CAP], b[2048];
    assert_true(txn_branch_new(h.l, branch, sizeof(branch)) > 0);
    int n = mk_req(b, sizeof(b), "INVITE", branch);
    struct tp_flow f = flow_of(TP_TCP);
    struct txn *t = NULL;
    assert_int_equal(txn_client_new(&t, h.l, &f, b, (size_t)n, on_resp, &h), -ECONNREFUSED);
    assert_null(t);
    assert_int_equal(txn_layer_count(h.l), 0);
    h.fail_rc = 0;

    /* Asynchronous (tp_error_fn): every txn on that flow without a final
     * gets a 503; others are left alone. */
    struct txn *a = start("INVITE", TP_TCP);
    struct txn *b2 = start("OPTIONS", TP_TCP);
    struct txn *c = start("OPTIONS", TP_UDP);
    txn_layer_transport_error(h.l, &f, -ECONNRESET);
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.codes[0], 503);
    assert_int_equal(h.codes[1], 503);
    assert_int_equal(txn_state(a), TXN_TERMINATED);
    assert_int_equal(txn_state(b2), TXN_TERMINATED);
    assert_int_equal(txn_state(c), TXN_TRYING);
    respond(c, 200, "x");
    txn_unref(a);
    txn_unref(b2);
    txn_unref(c);
}

static void test_retransmission_send_error_gives_503(void **state)
{
    (void)state;
    struct txn *t = start("OPTIONS", TP_UDP);
    h.fail_rc = -EPERM;
    advance(500);
    h.fail_rc = 0;
    assert_int_equal(h.nresp, 1);
    assert_int_equal(h.codes[0], 503);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    txn_unref(t);
}

/* ---- CANCEL (§9.1) ---- */

static void test_cancel_waits_for_provisional(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    assert_int_equal(txn_client_cancel(t, SLICE_LIT("Reason: SIP;cause=487\r\n")), 0);
    assert_int_equal(txn_client_cancel(t, SLICE_NULL), -EALREADY);
    assert_int_equal(h.nsent, 1); /* nothing yet: no provisional */
    advance(500);                 /* Timer A goes on meanwhile */
    assert_int_equal(h.nsent, 2);
    assert_int_equal(h.sent[1]->method, SIP_INVITE);

    respond(t, 180, "b1");
    assert_int_equal(h.nsent, 3);
    const struct sipmsg *req = txn_request(t), *c = h.sent[2];
    assert_int_equal(c->method, SIP_CANCEL);
    assert_true(slice_eq(c->ruri_s, req->ruri_s));
    assert_true(slice_eq(c->call_id, req->call_id));
    assert_true(slice_eq(c->from.raw, req->from.raw));
    assert_true(slice_eq(c->to.raw, req->to.raw));
    assert_int_equal(c->cseq.num, 7);
    assert_int_equal(c->cseq.method, SIP_CANCEL);
    assert_int_equal(c->via_count, 1);
    assert_true(slice_eq(c->via1.raw, req->via1.raw));
    assert_non_null(sipmsg_hdr_first(c, HDR_ROUTE));
    assert_non_null(sipmsg_hdr_first(c, HDR_REASON));
    /* The CANCEL is a non-INVITE txn of its own: Timer E retransmits it. */
    assert_int_equal(txn_layer_count(h.l), 2);
    advance(500);
    assert_int_equal(h.nsent, 4);
    assert_int_equal(h.sent[3]->method, SIP_CANCEL);

    /* Its 200 is consumed; the INVITE's 487 reaches the TU and is ACKed. */
    respond_to(c, 200, "b1");
    assert_int_equal(h.nresp, 1);
    respond(t, 487, "b1");
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.codes[1], 487);
    assert_int_equal(h.sent[h.nsent - 1]->method, SIP_ACK);
    txn_unref(t);
}

static void test_cancel_is_sent_at_once_in_proceeding(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 183, "b1");
    assert_int_equal(txn_client_cancel(t, SLICE_NULL), 0);
    assert_int_equal(h.nsent, 2);
    assert_int_equal(h.sent[1]->method, SIP_CANCEL);
    /* Extra lines must be whole lines. */
    struct txn *t2 = start("INVITE", TP_UDP);
    assert_int_equal(txn_client_cancel(t2, SLICE_LIT("Reason: x")), -EINVAL);
    respond(t2, 486, "b2");
    respond(t, 487, "b1");
    txn_unref(t);
    txn_unref(t2);
}

static void test_cancel_not_sent_when_final_comes_first(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    assert_int_equal(txn_client_cancel(t, SLICE_NULL), 0);
    respond(t, 486, "b1");
    assert_int_equal(h.nsent, 2);
    assert_int_equal(h.sent[1]->method, SIP_ACK);
    assert_int_equal(txn_layer_count(h.l), 1);
    /* Nothing left to cancel once a final response came. */
    struct txn *t2 = start("INVITE", TP_UDP);
    respond(t2, 200, "b2");
    assert_int_equal(txn_client_cancel(t2, SLICE_NULL), -EINVAL);
    struct txn *o = start("OPTIONS", TP_UDP);
    assert_int_equal(txn_client_cancel(o, SLICE_NULL), -EINVAL);
    respond(o, 200, "x");
    txn_unref(t);
    txn_unref(t2);
    txn_unref(o);
}

static void test_cancel_without_final_gives_408_after_64_t1(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    respond(t, 180, "b1");
    assert_int_equal(txn_client_cancel(t, SLICE_NULL), 0);
    const struct sipmsg *c = h.sent[1];
    respond_to(c, 200, "b1");
    advance(64 * 500 - 1);
    assert_int_equal(h.nresp, 1);
    advance(1);
    assert_int_equal(h.nresp, 2);
    assert_int_equal(h.codes[1], 408);
    assert_int_equal(txn_state(t), TXN_TERMINATED);
    txn_unref(t);
}

/* ---- matching (§17.1.3), branches, limits ---- */

static void test_response_matches_by_branch_and_cseq_method(void **state)
{
    (void)state;
    struct txn *t = start("INVITE", TP_UDP);
    /* Our branch but CSeq CANCEL: not the INVITE's (no CANCEL txn exists). */
    char b[2048], br[TXN_BRANCH_CAP];
    snprintf(br, sizeof(br), SLICE_FMT, SLICE_ARG(req_of(t)->via1.branch));
    int n = mk_req(b, sizeof(b), "CANCEL", br);
    struct sipmsg *cancel = test_msg_parse(b, (size_t)n);
    respond_to(cancel, 200, "x");
    sipmsg_unref(cancel);
    assert_int_equal(h.nresp, 0);
    assert_int_equal(h.nstray, 1);
    /* Another branch: a stray. */
    n = mk_req(b, sizeof(b), "INVITE", "z9hG4bKsw03ffffffffffffffff");
    struct sipmsg *other = test_msg_parse(b, (size_t)n);
    respond_to(other, 180, "x");
    sipmsg_unref(other);
    assert_int_equal(h.nstray, 2);
    assert_int_equal(txn_state(t), TXN_CALLING);
    respond(t, 200, "b1");
    assert_int_equal(h.nresp, 1);
    txn_unref(t);
}

static void test_branch_carries_worker_id(void **state)
{
    (void)state;
    char a[TXN_BRANCH_CAP], b[TXN_BRANCH_CAP];
    assert_int_equal(txn_branch_new(h.l, a, sizeof(a)), 27);
    assert_int_equal(txn_branch_new(h.l, b, sizeof(b)), 27);
    assert_memory_equal(a, "z9hG4bKsw03", 11);
    assert_string_not_equal(a, b);
    assert_int_equal(txn_branch_worker(slice_cstr(a)), 3);
    assert_int_equal(txn_branch_worker(SLICE_LIT("z9hG4bK776asdhds")), -1);
    assert_int_equal(txn_branch_new(h.l, a, 10), -EMSGSIZE);
}

static void test_client_txn_refuses_bad_requests_and_limit(void **state)
{
    (void)state;
    char b[2048];
    struct tp_flow f = flow_of(TP_UDP);
    struct txn *t = NULL;
    /* No magic cookie: we only send branches of our own. */
    int n = mk_req(b, sizeof(b), "INVITE", "abc");
    assert_int_equal(txn_client_new(&t, h.l, &f, b, (size_t)n, on_resp, &h), -EINVAL);
    /* ACK is never a client transaction. */
    n = mk_req(b, sizeof(b), "ACK", "z9hG4bKsw03aaaaaaaaaaaaaaaa");
    assert_int_equal(txn_client_new(&t, h.l, &f, b, (size_t)n, on_resp, &h), -EINVAL);
    assert_int_equal(txn_client_new(&t, h.l, &f, "junk", 4, on_resp, &h), -EINVAL);
    /* The same branch and method twice. */
    n = mk_req(b, sizeof(b), "INVITE", "z9hG4bKsw03aaaaaaaaaaaaaaaa");
    assert_int_equal(txn_client_new(&t, h.l, &f, b, (size_t)n, on_resp, &h), 0);
    struct txn *t2 = NULL;
    assert_int_equal(txn_client_new(&t2, h.l, &f, b, (size_t)n, on_resp, &h), -EEXIST);
    struct sipmsg *req = test_msg_parse(b, (size_t)n);
    respond_to(req, 486, "x");
    sipmsg_unref(req);
    txn_unref(t);

    /* max_txns */
    struct txn_config cfg;
    txn_config_defaults(&cfg);
    cfg.max_txns = 1;
    advance(100000);
    txn_layer_free(h.l);
    h.l = layer_new(&cfg);
    t = start("OPTIONS", TP_UDP);
    n = mk_req(b, sizeof(b), "OPTIONS", "z9hG4bKsw03bbbbbbbbbbbbbbbb");
    assert_int_equal(txn_client_new(&t2, h.l, &f, b, (size_t)n, on_resp, &h), -EBUSY);
    respond(t, 200, "x");
    txn_unref(t);
}

static void test_txn_lives_on_the_layer_ref_after_caller_unref(void **state)
{
    (void)state;
    /* Drop the caller's ref first: the layer's keeps the txn alive. */
    struct txn *t = start("OPTIONS", TP_UDP);
    txn_unref(t);
    respond(t, 200, "x");
    assert_int_equal(h.nresp, 1);
    assert_int_equal(txn_layer_count(h.l), 1);
}

int main(void)
{
    log_configure(LOG_LVL_ERROR, LOG_FMT_TEXT, 2);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_invite_client_txn_timer_a_doubles_without_cap),
        T(test_invite_client_timer_b_gives_408),
        T(test_provisional_stops_timer_a_and_b),
        T(test_invite_client_txn_acks_non_2xx_itself),
        T(test_2xx_passes_through_accepted_state),
        T(test_2xx_after_non_2xx_goes_to_stray_handler),
        T(test_layer_refuses_bad_timer_settings),
        T(test_detached_accepted_txn_hands_2xx_to_stray_handler),
        T(test_non_invite_client_timer_e_doubles_to_t2),
        T(test_non_invite_client_timer_e_is_t2_in_proceeding),
        T(test_non_invite_client_timer_f_gives_408),
        T(test_non_invite_client_completed_absorbs_until_timer_k),
        T(test_tcp_has_no_retransmissions),
        T(test_transport_error_gives_503),
        T(test_retransmission_send_error_gives_503),
        T(test_cancel_waits_for_provisional),
        T(test_cancel_is_sent_at_once_in_proceeding),
        T(test_cancel_not_sent_when_final_comes_first),
        T(test_cancel_without_final_gives_408_after_64_t1),
        T(test_response_matches_by_branch_and_cseq_method),
        T(test_branch_carries_worker_id),
        T(test_client_txn_refuses_bad_requests_and_limit),
        T(test_txn_lives_on_the_layer_ref_after_caller_unref),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
