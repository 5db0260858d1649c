/* SPDX-License-Identifier: BSD-2-Clause */
/* Registrar (RFC 3261 §10.3, RFC 3327) over the memory store, with captured
 * sends, a fake wall clock and completions through a real event loop. */
#include "app/registrar/registrar.h"

#include "core/ev.h"
#include "core/htab.h"
#include "core/metric.h"
#include "core/tmr.h"
#include "sip/sipmsg.h"
#include "store/store.h"
#include "txn/txn.h"

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

#define NOW 1700000000

static struct {
    struct tmr_wheel *wheel;
    struct txn_layer *l;
    struct ev_loop *loop;
    struct store *store;
    struct registrar *r;
    int64_t wall;
    uint64_t now_ms;
    struct sipmsg *last; /* ref: the last response sent */
    size_t nsent;
    unsigned branch;
    bool auth_answers;
    size_t nauth;
} h;

static int cap_send(void *arg, const struct tp_flow *flow, const void *data, size_t len)
{
    (void)arg;
    (void)flow;
    (void)data;
    (void)len;
    return 0;
}

static int cap_send_response(void *arg, const struct sipmsg *req, const struct tp_flow *flow,
                             const void *data, size_t len)
{
    (void)arg;
    (void)req;
    (void)flow;
    if (h.last != NULL)
        sipmsg_unref(h.last);
    h.last = test_msg_parse(data, len);
    h.nsent++;
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

static void on_request(struct txn *st, const struct sipmsg *req, const struct tp_flow *flow,
                       void *arg)
{
    (void)arg;
    assert_int_equal(reg_handle(h.r, h.loop, st, req, flow), 0);
}

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return h.wall;
}

static enum reg_auth_result auth_hook(void *arg, struct txn *st, const struct sipmsg *req,
                                      const struct tp_flow *flow, struct slice aor)
{
    (void)arg;
    (void)req;
    (void)flow;
    h.nauth++;
    assert_true(slice_eq(
        aor, SLICE_LIT("sip:Alice@example.com"))); /* user part keeps its case, host does not */
    if (!h.auth_answers)
        return REG_AUTH_CONTINUE;
    assert_int_equal(txn_server_reply(st, 401, SLICE_NULL, NULL), 0);
    return REG_AUTH_ANSWERED;
}

static void make(const struct reg_config *cfg)
{
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    htab_seed_fixed(key);
    memset(&h, 0, sizeof(h));
    h.wall = NOW;
    h.now_ms = 1000;
    h.wheel = tmr_wheel_new(h.now_ms);
    h.loop = ev_loop_new();
    char err[128];
    assert_int_equal(store_open(&h.store, "memory", NULL, NOW, err, sizeof(err)), 0);
    h.r = reg_new(cfg, h.store);
    assert_non_null(h.r);
    reg_set_clock(h.r, fake_clock, NULL);
    reg_set_auth(h.r, auth_hook, NULL);
    struct txn_config tc;
    txn_config_defaults(&tc);
    struct txn_tu tu = {.request = on_request};
    h.l = txn_layer_new(&tc, h.wheel, &cap_io, NULL, &tu, NULL);
    assert_non_null(h.l);
}

static int setup(void **state)
{
    (void)state;
    struct reg_config cfg;
    reg_config_defaults(&cfg);
    cfg.max_contacts = 3;
    make(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h.now_ms += 200000;
    tmr_wheel_advance(h.wheel, h.now_ms);
    assert_int_equal(txn_layer_count(h.l), 0);
    txn_layer_free(h.l);
    reg_free(h.r);
    store_close(h.store);
    ev_loop_free(h.loop);
    tmr_wheel_free(h.wheel);
    if (h.last)
        sipmsg_unref(h.last);
    return 0;
}

static struct tp_flow flow_of(const char *remote, enum tp_proto proto)
{
    struct tp_flow f = {.proto = proto, .listener = 1, .conn_id = proto == TP_TCP ? 77 : 0};
    assert_int_equal(tp_addr_parse(&f.remote, slice_cstr(remote), 5060), 0);
    assert_int_equal(tp_addr_parse(&f.local, SLICE_LIT("192.0.2.9:5060"), 5060), 0);
    return f;
}

/* Sends a REGISTER for alice and returns the response's status. */
static unsigned reg_from(const char *remote, const char *callid, unsigned cseq, const char *extra)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf),
                     "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKreg%u\r\n"
                     "From: <sip:alice@example.com>;tag=f1\r\n"
                     "To: <sip:Alice@EXAMPLE.com>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "%s"
                     "Content-Length: 0\r\n\r\n",
                     ++h.branch, callid, cseq, extra);
    struct sipmsg *m = test_msg_parse(buf, (size_t)n);
    struct tp_flow f = flow_of(remote, TP_UDP);
    size_t before = h.nsent;
    txn_layer_recv(h.l, m, &f);
    sipmsg_unref(m);
    for (int i = 0; i < 100 && h.nsent == before; i++)
        assert_true(ev_loop_run_once(h.loop, 10) >= 0);
    assert_int_equal(h.nsent, before + 1);
    return h.last->status;
}

static unsigned reg(const char *callid, unsigned cseq, const char *extra)
{
    return reg_from("192.0.2.1:5060", callid, cseq, extra);
}

static bool resp_has(const char *text)
{
    return memmem(h.last->buf, h.last->len, text, strlen(text)) != NULL;
}

static size_t resp_contacts(void)
{
    size_t n = 0;
    for (const struct sip_hdr *x = sipmsg_hdr_first(h.last, HDR_CONTACT); x;
         x = sipmsg_hdr_next(h.last, x))
        n++;
    return n;
}

static void test_register_200_lists_contacts_with_expires_and_date(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:alice@192.0.2.1:5060>\r\n"), 200);
    assert_true(resp_has("Contact: <sip:alice@192.0.2.1:5060>;expires=3600\r\n"));
    assert_true(resp_has("Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"));
    h.wall += 100;
    assert_int_equal(reg("c2", 1, "Contact: <sip:alice@198.51.100.2>;expires=120\r\n"), 200);
    assert_int_equal(resp_contacts(), 2);
    assert_true(resp_has("Contact: <sip:alice@192.0.2.1:5060>;expires=3500\r\n"));
    assert_true(resp_has("Contact: <sip:alice@198.51.100.2>;expires=120\r\n"));
    assert_int_equal(h.nauth, 2);
}

static void test_register_over_max_expires_is_clamped(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>\r\nExpires: 99999\r\n"), 200);
    assert_true(resp_has(";expires=3600\r\n"));
}

static void test_register_too_brief_gets_423_with_min_expires(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>;expires=30\r\n"), 423);
    assert_true(resp_has("Min-Expires: 60\r\n"));
    assert_int_equal(store_binding_count(h.store), 0);
}

static void test_star_removes_all_and_needs_expires_zero(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>\r\n"), 200);
    assert_int_equal(resp_contacts(), 2);
    assert_int_equal(reg("c9", 1, "Contact: *\r\n"), 400); /* no Expires: 0 */
    assert_int_equal(reg("c9", 2, "Contact: *, <sip:a@h>\r\nExpires: 0\r\n"), 400);
    assert_int_equal(reg("c9", 3, "Contact: *\r\nExpires: 0\r\n"), 200);
    assert_int_equal(resp_contacts(), 0);
    assert_int_equal(store_binding_count(h.store), 0);
}

static void test_expires_zero_removes_one_binding(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>\r\n"), 200);
    assert_int_equal(reg("c1", 2, "Contact: <sip:a@192.0.2.1>;expires=0\r\n"), 200);
    assert_int_equal(resp_contacts(), 1);
    assert_true(resp_has("<sip:b@192.0.2.1>"));
}

static void test_cseq_not_higher_for_same_call_id_fails_with_500(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 5, "Contact: <sip:a@192.0.2.1>\r\n"), 200);
    assert_int_equal(reg("c1", 5, "Contact: <sip:a@192.0.2.1>;expires=0\r\n"), 500);
    assert_int_equal(reg("c1", 4, "Contact: <sip:a@192.0.2.1>;expires=0\r\n"), 500);
    assert_int_equal(store_binding_count(h.store), 1);
    assert_int_equal(reg("c1", 6, "Contact: <sip:a@192.0.2.1>;expires=0\r\n"), 200);
    assert_int_equal(store_binding_count(h.store), 0);
}

static void test_q_values_order_the_lookup(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1,
                         "Contact: <sip:low@192.0.2.1>;q=0.1, <sip:high@192.0.2.1>;q=1.0, "
                         "<sip:mid@192.0.2.1>;q=0.5\r\n"),
                     200);
    assert_true(resp_has("<sip:low@192.0.2.1>;expires=3600;q=0.100"));
    assert_int_equal(reg("c2", 1, "Contact: <sip:x@192.0.2.1>;q=2\r\n"), 400);
    struct uri u;
    struct sip_err err;
    assert_int_equal(uri_parse(&u, SLICE_LIT("sip:Alice@example.COM;user=phone"), &err),
                     SIP_PARSE_OK);
    struct reg_target *t = NULL;
    assert_int_equal(reg_lookup(h.r, &u, &t), 3);
    assert_string_equal(t[0].uri, "sip:high@192.0.2.1");
    assert_string_equal(t[1].uri, "sip:mid@192.0.2.1");
    assert_string_equal(t[2].uri, "sip:low@192.0.2.1");
    assert_int_equal(t[2].q, 100);
    assert_true(t[0].has_flow);
    assert_int_equal(tp_addr_port(&t[0].flow.remote), 5060);
    assert_int_equal(t[0].flow.listener, 1);
    reg_targets_free(t, 3);
}

static void test_max_contacts_replaces_oldest(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        char c[96], cid[16];
        snprintf(c, sizeof(c), "Contact: <sip:d%d@192.0.2.1>\r\n", i);
        snprintf(cid, sizeof(cid), "c%d", i);
        h.wall++;
        assert_int_equal(reg(cid, 1, c), 200);
    }
    assert_int_equal(resp_contacts(), 3);
    assert_false(resp_has("sip:d0@"));
    assert_true(resp_has("sip:d3@"));
}

static void test_max_contacts_reject_gives_403(void **state)
{
    (void)state;
    teardown(state);
    struct reg_config cfg;
    reg_config_defaults(&cfg);
    cfg.max_contacts = 2;
    cfg.max_contacts_policy = REG_REJECT;
    make(&cfg);
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>\r\n"), 200);
    assert_int_equal(reg("c2", 1, "Contact: <sip:c@192.0.2.1>\r\n"), 403);
    assert_int_equal(reg("c3", 1, "Contact: <sip:a@h>, <sip:b@h>, <sip:c@h>\r\n"), 403);
    assert_int_equal(store_binding_count(h.store), 2);
}

static void test_path_is_stored_echoed_and_returned_by_lookup(void **state)
{
    (void)state;
    assert_int_equal(
        reg("c1", 1, "Contact: <sip:a@10.0.0.5:5060>\r\nPath: <sip:edge.example.net;lr>\r\n"), 420);
    assert_true(resp_has("Unsupported: path\r\n"));
    assert_int_equal(reg_from("203.0.113.7:40000", "c1", 2,
                              "Contact: <sip:a@10.0.0.5:5060>\r\nSupported: path\r\n"
                              "Path: <sip:edge.example.net;lr>\r\n"),
                     200);
    assert_true(resp_has("Path: <sip:edge.example.net;lr>\r\n"));
    struct uri u;
    struct sip_err err;
    assert_int_equal(uri_parse(&u, SLICE_LIT("sip:Alice@example.com"), &err), SIP_PARSE_OK);
    struct reg_target *t = NULL;
    assert_int_equal(reg_lookup(h.r, &u, &t), 1);
    assert_string_equal(t[0].path, "<sip:edge.example.net;lr>");
    /* NAT: the request goes back to where the REGISTER came from. */
    char a[TP_ADDR_STRLEN];
    assert_string_equal(tp_addr_str(&t[0].flow.remote, a, sizeof(a)), "203.0.113.7:40000");
    reg_targets_free(t, 1);
}

static void test_query_register_returns_current_bindings(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>\r\n"), 200);
    h.wall += 60;
    assert_int_equal(reg("q1", 1, ""), 200);
    assert_true(resp_has("Contact: <sip:a@192.0.2.1>;expires=3540\r\n"));
    assert_int_equal(store_binding_count(h.store), 1);
}

static void test_auth_hook_can_answer_first(void **state)
{
    (void)state;
    h.auth_answers = true;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>\r\n"), 401);
    assert_int_equal(store_binding_count(h.store), 0);
}

static void test_unknown_require_gets_420(void **state)
{
    (void)state;
    assert_int_equal(reg("c1", 1, "Contact: <sip:a@192.0.2.1>\r\nRequire: foo\r\n"), 420);
    assert_true(resp_has("Unsupported: foo\r\n"));
}

/* ---- NAT keepalive (keepalive.c) ---- */

static void test_contact_natted(void **state)
{
    (void)state;
    /* Contact equal to the source: reachable as registered */
    assert_false(reg_contact_natted(SLICE_LIT("sip:a@198.51.100.7:5070"), "198.51.100.7:5070"));
    assert_false(reg_contact_natted(SLICE_LIT("sip:a@198.51.100.7"), "198.51.100.7:5060"));
    assert_false(reg_contact_natted(SLICE_LIT("sip:a@[2001:db8::1]:5062"), "[2001:db8::1]:5062"));
    /* another port or IP, a host name: rewritten by a NAT */
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@198.51.100.7:5060"), "198.51.100.7:40001"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@192.0.2.10:5060"), "127.0.0.4:5099"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@phone.example.com"), "198.51.100.7:5060"));
    /* a private address even when it is the source (RFC 1918, 6598, 4193) */
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@10.1.2.3"), "10.1.2.3:5060"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@172.20.0.1"), "172.20.0.1:5060"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@192.168.1.5"), "192.168.1.5:5060"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@100.64.0.9"), "100.64.0.9:5060"));
    assert_true(reg_contact_natted(SLICE_LIT("sip:a@[fd00::5]"), "[fd00::5]:5060"));
    assert_false(reg_contact_natted(SLICE_LIT("sip:a@172.32.0.1"), "172.32.0.1:5060"));
    /* nothing to send to, or not a SIP URI */
    assert_false(reg_contact_natted(SLICE_LIT("sip:a@10.0.0.1"), ""));
    assert_false(reg_contact_natted(SLICE_LIT("tel:+15550100"), "198.51.100.7:5060"));
}

static struct {
    char uri[8][96];
    reg_ping_done_fn *done[8];
    void *arg[8];
    size_t n;
    int rc;
} ka;

static int ka_send(void *send_arg, const char *uri, reg_ping_done_fn *done, void *done_arg)
{
    assert_ptr_equal(send_arg, &ka);
    if (ka.rc != 0)
        return ka.rc;
    assert_true(ka.n < 8);
    snprintf(ka.uri[ka.n], sizeof(ka.uri[0]), "%s", uri);
    ka.done[ka.n] = done;
    ka.arg[ka.n] = done_arg;
    ka.n++;
    return 0;
}

static void ka_make(unsigned max_inflight, unsigned max_failures)
{
    teardown(NULL);
    struct reg_config cfg;
    reg_config_defaults(&cfg);
    cfg.keepalive.enabled = true;
    cfg.keepalive.interval_ms = 1000;
    cfg.keepalive.max_inflight = max_inflight;
    cfg.keepalive.max_failures = max_failures;
    make(&cfg);
    memset(&ka, 0, sizeof(ka));
    reg_keepalive_metrics();
}

/* One round over every shard. */
static size_t ka_round(void)
{
    size_t sent = 0;
    for (unsigned i = 0; i < STORE_SHARDS; i++)
        sent += reg_keepalive_tick(h.r);
    return sent;
}

static void test_keepalive_pings_natted_udp_contacts_at_their_source(void **state)
{
    (void)state;
    ka_make(100, 0);
    metric_id sent = metric_find("registrar_keepalive_sent_total");
    metric_id failed = metric_find("registrar_keepalive_failed_total");
    uint64_t sent0 = metric_read(sent), failed0 = metric_read(failed);
    /* behind NAT: the Contact names TEST-NET, the source is 127.0.0.4 */
    assert_int_equal(
        reg_from("127.0.0.4:5099", "nat@x", 1, "Contact: <sip:alice@192.0.2.10:5060>\r\n"), 200);
    /* not behind NAT: Contact equals the source */
    assert_int_equal(
        reg_from("198.51.100.7:5060", "pub@x", 1, "Contact: <sip:alice@198.51.100.7>\r\n"), 200);
    /* behind an edge proxy (Path): the edge keeps the flow */
    assert_int_equal(reg_from("198.51.100.8:5060", "path@x", 1,
                              "Contact: <sip:alice@10.0.0.7>\r\nPath: <sip:edge.example.com;lr>\r\n"
                              "Supported: path\r\n"),
                     200);
    /* not started: nothing is sent */
    assert_int_equal(ka_round(), 0);
    reg_keepalive_start(h.r, h.loop, ka_send, &ka);
    assert_int_equal(ka_round(), 1);
    assert_string_equal(ka.uri[0], "sip:127.0.0.4:5099");
    assert_int_equal(reg_keepalive_inflight(h.r), 1);
    assert_int_equal(metric_read(sent) - sent0, 1);
    ka.done[0](200, ka.arg[0]);
    assert_int_equal(reg_keepalive_inflight(h.r), 0);
    assert_int_equal(metric_read(failed) - failed0, 0);
    /* the next round pings again; no answer (408) is counted, the binding stays */
    assert_int_equal(ka_round(), 1);
    ka.done[1](408, ka.arg[1]);
    assert_int_equal(metric_read(failed) - failed0, 1);
    struct uri u;
    struct sip_err err;
    assert_int_equal(uri_parse(&u, SLICE_LIT("sip:Alice@example.com"), &err), SIP_PARSE_OK);
    struct reg_target *t = NULL;
    assert_int_equal(reg_lookup(h.r, &u, &t), 3);
    reg_targets_free(t, 3);
    /* a send error is counted as a failure and nothing is in flight */
    ka.rc = -ENOBUFS;
    assert_int_equal(ka_round(), 0);
    assert_int_equal(metric_read(failed) - failed0, 2);
    assert_int_equal(reg_keepalive_inflight(h.r), 0);
}

static void test_keepalive_bounded_by_max_inflight(void **state)
{
    (void)state;
    ka_make(1, 0);
    /* two NATed contacts of one AOR: one shard */
    assert_int_equal(reg_from("127.0.0.4:5099", "a@x", 1, "Contact: <sip:alice@192.0.2.10>\r\n"),
                     200);
    assert_int_equal(reg_from("127.0.0.5:5099", "b@x", 1, "Contact: <sip:alice@192.0.2.11>\r\n"),
                     200);
    reg_keepalive_start(h.r, h.loop, ka_send, &ka);
    assert_int_equal(ka_round(), 1);
    assert_int_equal(ka_round(), 0); /* still one in flight */
    ka.done[0](0, ka.arg[0]);        /* dropped at shutdown: not a failure */
    assert_int_equal(ka_round(), 1);
    ka.done[1](200, ka.arg[1]);
    /* the timer drives the ticks: interval / STORE_SHARDS apart */
    size_t before = ka.n;
    for (int i = 0; i < 200 && ka.n == before; i++)
        assert_true(ev_loop_run_once(h.loop, 10) >= 0);
    assert_int_equal(ka.n, before + 1);
    ka.done[ka.n - 1](200, ka.arg[ka.n - 1]);
    reg_keepalive_stop(h.r);
}

static int lookup_alice(void)
{
    struct uri u;
    struct sip_err err;
    assert_int_equal(uri_parse(&u, SLICE_LIT("sip:Alice@example.com"), &err), SIP_PARSE_OK);
    struct reg_target *t = NULL;
    int n = reg_lookup(h.r, &u, &t);
    if (n > 0)
        reg_targets_free(t, (size_t)n);
    return n;
}

/* Answers the last ping with code. */
static void ka_answer(unsigned code)
{
    assert_true(ka.n > 0);
    ka.done[ka.n - 1](code, ka.arg[ka.n - 1]);
}

static void test_keepalive_removes_after_max_failures_in_a_row(void **state)
{
    (void)state;
    ka_make(100, 2);
    metric_id removed = metric_find("registrar_keepalive_removed_total");
    uint64_t removed0 = metric_read(removed);
    assert_int_equal(reg_from("127.0.0.4:5099", "nat@x", 1, "Contact: <sip:alice@192.0.2.10>\r\n"),
                     200);
    reg_keepalive_start(h.r, h.loop, ka_send, &ka);
    /* failure, answer (4xx counts as alive), failure: never two in a row */
    assert_int_equal(ka_round(), 1);
    ka_answer(408);
    assert_int_equal(ka_round(), 1);
    ka_answer(404);
    assert_int_equal(ka_round(), 1);
    ka_answer(503);
    assert_true(ev_loop_run_once(h.loop, 0) >= 0);
    assert_int_equal(lookup_alice(), 1);
    /* a refresh (higher CSeq) makes it another binding: counting restarts */
    assert_int_equal(reg_from("127.0.0.4:5099", "nat@x", 2, "Contact: <sip:alice@192.0.2.10>\r\n"),
                     200);
    assert_int_equal(ka_round(), 1);
    ka_answer(408);
    assert_true(ev_loop_run_once(h.loop, 0) >= 0);
    assert_int_equal(lookup_alice(), 1);
    /* the second failure in a row removes it */
    assert_int_equal(ka_round(), 1);
    ka_answer(408);
    for (int i = 0; i < 10; i++)
        assert_true(ev_loop_run_once(h.loop, 0) >= 0);
    assert_int_equal(lookup_alice(), 0);
    assert_int_equal(metric_read(removed) - removed0, 1);
    assert_int_equal(ka_round(), 0);
    /* the phone may register again with the next CSeq of its Call-ID */
    assert_int_equal(reg_from("127.0.0.4:5099", "nat@x", 3, "Contact: <sip:alice@192.0.2.10>\r\n"),
                     200);
    assert_int_equal(lookup_alice(), 1);
    /* failures further apart than two rounds plus Timer F are not "in a row" */
    assert_int_equal(ka_round(), 1);
    ka_answer(408);
    h.wall += 100;
    assert_int_equal(ka_round(), 1);
    ka_answer(408);
    for (int i = 0; i < 10; i++)
        assert_true(ev_loop_run_once(h.loop, 0) >= 0);
    assert_int_equal(lookup_alice(), 1);
    reg_keepalive_stop(h.r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_register_200_lists_contacts_with_expires_and_date),
        T(test_register_over_max_expires_is_clamped),
        T(test_register_too_brief_gets_423_with_min_expires),
        T(test_star_removes_all_and_needs_expires_zero),
        T(test_expires_zero_removes_one_binding),
        T(test_cseq_not_higher_for_same_call_id_fails_with_500),
        T(test_q_values_order_the_lookup),
        T(test_max_contacts_replaces_oldest),
        T(test_max_contacts_reject_gives_403),
        T(test_path_is_stored_echoed_and_returned_by_lookup),
        T(test_query_register_returns_current_bindings),
        T(test_auth_hook_can_answer_first),
        T(test_unknown_require_gets_420),
        T(test_contact_natted),
        T(test_keepalive_pings_natted_udp_contacts_at_their_source),
        T(test_keepalive_bounded_by_max_inflight),
        T(test_keepalive_removes_after_max_failures_in_a_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
