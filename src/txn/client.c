/* SPDX-License-Identifier: BSD-2-Clause */
/* Client transactions (RFC 3261 §17.1, RFC 6026 Accepted) and response matching (§17.1.3). */
#include "txn/txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "txn/txn_int.h"

struct cli_key {
    struct slice branch;
    enum sip_method method;
    struct slice method_name;
};

static struct txn *node_txn(const struct htab_node *n)
{
    return SW_CONTAINER_OF(n, struct txn, node);
}

/* §17.1.3: a response matches the client txn whose branch is the one of
 * its top Via and whose request method is its CSeq method (so a CANCEL,
 * sharing the INVITE's branch, has its own txn). */
static bool eq_client(const struct htab_node *n, const void *key)
{
    const struct cli_key *k = key;
    const struct txn *t = node_txn(n);
    if (t->method != k->method || !slice_eq(t->k_branch, k->branch))
        return false;
    return k->method != SIP_METHOD_OTHER || slice_eq(t->k_method_name, k->method_name);
}

static struct txn *client_find(struct txn_layer *l, struct slice branch, enum sip_method method,
                               struct slice method_name)
{
    struct cli_key k = {branch, method, method_name};
    struct htab_node *n = htab_find(l->client, txn_branch_hash(branch), eq_client, &k);
    return n != NULL ? node_txn(n) : NULL;
}

/* ---- delivering to the TU ---- */

static void deliver(struct txn *t, const struct sipmsg *resp)
{
    if (t->resp_fn != NULL) {
        txn_resp_fn *fn = t->resp_fn;
        txn_ref(t);
        fn(t, resp, t->arg);
        txn_unref(t);
        return;
    }
    /* A detached INVITE txn still sees 2xx retransmissions in Accepted;
     * the TU's stray handler forwards them (RFC 6026's update of §16.7). */
    struct txn_layer *l = t->layer;
    if (t->is_invite && !t->is_internal && resp->status / 100 == 2 && l != NULL &&
        l->tu.stray_response != NULL)
        l->tu.stray_response(resp, &t->flow, l->tu_arg);
}

/* Ends t with a response of our own making: 408 (Timer B/F, §17.1.1.2,
 * §17.1.2.2; the CANCEL wait of §9.1) or 503 (transport error, §8.1.3.1). */
static void client_fail(struct txn *t, unsigned code)
{
    struct txn_layer *l = t->layer;
    struct sipmsg *r = txn_msg_reply(l, t->req, NULL, code, SLICE_NULL, NULL);
    if (r == NULL)
        LOG_RL(LOG_LVL_WARN, TXN_MOD, "cannot build a local %u", code);
    txn_ref(t);
    txn_terminate(t);
    if (r != NULL)
        deliver(t, r);
    txn_unref(t);
    if (r != NULL)
        sipmsg_unref(r);
}

void txn_client_transport_error(struct txn *t, int err)
{
    (void)err;
    /* §17.1.4: without a final response the TU gets a 503 (§8.1.3.1);
     * after it (an ACK or retransmission lost) there is nothing to say. */
    if (t->state == TXN_CALLING || t->state == TXN_TRYING || t->state == TXN_PROCEEDING)
        client_fail(t, 503);
    else
        txn_terminate(t);
}

/* ---- timers ---- */

static int send_req(struct txn *t, const struct sipmsg *m)
{
    struct txn_layer *l = t->layer;
    return l->io.send(l->io_arg, &t->flow, m->buf, m->len);
}

/* Our ACK for a non-2xx again (§17.1.1.2), kept or compacted. */
static int resend_ack(struct txn *t)
{
    struct txn_layer *l = t->layer;
    if (t->is_compact)
        return t->wait_len == 0 ? 0 : l->io.send(l->io_arg, &t->flow, t->wait_buf, t->wait_len);
    return t->ack != NULL ? send_req(t, t->ack) : 0;
}

static void on_retx(struct tmr *tm, void *arg)
{
    (void)tm;
    struct txn *t = arg;
    struct txn_layer *l = t->layer;
    if (t->is_invite) {
        /* Timer A (§17.1.1.2): doubles each time, no cap; Timer B ends it. */
        if (t->state != TXN_CALLING)
            return;
        t->retx_ms *= 2;
    } else if (t->state == TXN_TRYING) {
        /* Timer E (§17.1.2.2): doubles up to T2 ... */
        t->retx_ms = SW_MIN(2 * t->retx_ms, l->cfg.t2_ms);
    } else if (t->state == TXN_PROCEEDING) {
        /* ... and is T2 once a provisional response came. */
        t->retx_ms = l->cfg.t2_ms;
    } else {
        return;
    }
    metric_inc(txn_m_retrans);
    int rc = send_req(t, t->req);
    if (rc < 0) {
        client_fail(t, 503);
        return;
    }
    tmr_start(l->wheel, &t->t_retx, t->retx_ms);
}

static void on_state_timer(struct tmr *tm, void *arg)
{
    (void)tm;
    struct txn *t = arg;
    switch (t->state) {
    case TXN_CALLING:    /* Timer B */
    case TXN_TRYING:     /* Timer F */
    case TXN_PROCEEDING: /* Timer F, or 64*T1 after our CANCEL (§9.1) */
        metric_inc(txn_m_timeouts);
        client_fail(t, 408);
        break;
    default: /* Timer D, K, or M (RFC 6026 §8.4) */
        txn_terminate(t);
        break;
    }
}

/* Starts the Completed/Accepted wait, or ends t at once for a zero one. */
static void state_wait(struct txn *t, uint64_t ms)
{
    if (ms == 0)
        txn_terminate(t);
    else
        tmr_start(t->layer->wheel, &t->t_state, ms);
}

/* ---- ACK and CANCEL (§17.1.1.3, §9.1) ---- */

static int put_hdr(struct buf *b, const char *name, struct slice value)
{
    int rc = buf_printf(b, "%s: ", name);
    if (rc == 0)
        rc = buf_append_slice(b, value);
    if (rc == 0)
        rc = buf_append(b, "\r\n", 2);
    return rc;
}

static struct slice hdr_value(const struct sipmsg *m, enum hdr_id id)
{
    const struct sip_hdr *h = sipmsg_hdr_first(m, id);
    return h != NULL ? h->value : SLICE_NULL;
}

/*
 * Builds an ACK or CANCEL from our request: the same Request-URI,
 * Call-ID, From and CSeq number, the request's top Via only (with its
 * branch), the Route fields as sent, the given To value (the response's
 * for an ACK: it carries the tag; the request's for a CANCEL), and extra
 * lines (each ending in CRLF). Parsed so the txn can keep it.
 */
static struct sipmsg *build_from_req(struct txn_layer *l, const struct sipmsg *req,
                                     const char *method, struct slice to, struct slice extra)
{
    struct buf *b = &l->scratch;
    buf_clear(b);
    int rc = buf_printf(b, "%s ", method);
    if (rc == 0)
        rc = buf_append_slice(b, req->ruri_s);
    if (rc == 0)
        rc = buf_append(b, " SIP/2.0\r\n", 10);
    if (rc == 0)
        rc = put_hdr(b, "Via", req->via1.raw);
    /* Route fields copied whole (name and line end included), so folded
     * or multi-value fields come out exactly as the request had them. */
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_ROUTE); rc == 0 && h != NULL;
         h = sipmsg_hdr_next(req, h))
        rc = buf_append_slice(b, h->raw);
    if (rc == 0)
        rc = buf_append(b, "Max-Forwards: 70\r\n", 18);
    if (rc == 0)
        rc = put_hdr(b, "From", hdr_value(req, HDR_FROM));
    if (rc == 0)
        rc = put_hdr(b, "To", to);
    if (rc == 0)
        rc = put_hdr(b, "Call-ID", req->call_id);
    if (rc == 0)
        rc = buf_printf(b, "CSeq: %u %s\r\n", (unsigned)req->cseq.num, method);
    if (rc == 0)
        rc = buf_append_slice(b, extra);
    if (rc == 0)
        rc = buf_append(b, "Content-Length: 0\r\n\r\n", 21);
    if (rc != 0)
        return NULL;
    return txn_msg_parse(l, b->p, b->len);
}

static void on_internal_resp(struct txn *t, const struct sipmsg *resp, void *arg);
static int client_start(struct txn **out, struct txn_layer *l, const struct tp_flow *flow,
                        struct sipmsg *m, bool is_internal);

static void send_cancel(struct txn *ict)
{
    struct txn_layer *l = ict->layer;
    struct sipmsg *c = build_from_req(l, ict->req, "CANCEL", hdr_value(ict->req, HDR_TO),
                                      slice_make(ict->cancel_extra, ict->cancel_extra_len));
    ict->is_cancel_sent = true;
    if (c == NULL) {
        LOG_RL(LOG_LVL_WARN, TXN_MOD, "cannot build a CANCEL");
        return;
    }
    struct txn *ct = NULL;
    if (client_start(&ct, l, &ict->flow, c, true) != 0)
        return; /* send failed: the INVITE's own timers and errors still run */
    /* §9.1: if no final response comes 64*T1 after the CANCEL, the INVITE
     * txn is considered cancelled (the TU gets a 408). Timer B is not
     * running in Proceeding, so the state timer is free. */
    tmr_start(l->wheel, &ict->t_state, txn_64t1(l));
}

static void on_internal_resp(struct txn *t, const struct sipmsg *resp, void *arg)
{
    /* Responses to our CANCEL carry nothing for the TU: the INVITE's own
     * final response (487 or other) is what matters (§9.1). */
    (void)t;
    (void)resp;
    (void)arg;
}

int txn_client_cancel(struct txn *ct, struct slice extra)
{
    if (ct->state == TXN_TERMINATED)
        return -ESRCH;
    if (ct->is_server || !ct->is_invite)
        return -EINVAL;
    if (ct->is_cancel_wanted)
        return -EALREADY;
    if (ct->state != TXN_CALLING && ct->state != TXN_PROCEEDING)
        return -EINVAL; /* a final response came: nothing left to cancel */
    if (extra.len != 0) {
        if (extra.len < 2 || memcmp(extra.p + extra.len - 2, "\r\n", 2) != 0)
            return -EINVAL;
        ct->cancel_extra = malloc(extra.len);
        if (ct->cancel_extra == NULL)
            return -ENOMEM;
        memcpy(ct->cancel_extra, extra.p, extra.len);
        ct->cancel_extra_len = extra.len;
    }
    ct->is_cancel_wanted = true;
    /* §9.1: a CANCEL before any provisional response could overtake the
     * INVITE at the next hop; wait for one (see on_provisional). */
    if (ct->state == TXN_PROCEEDING)
        send_cancel(ct);
    return 0;
}

/* ---- responses ---- */

static void invite_resp(struct txn *t, const struct sipmsg *m)
{
    struct txn_layer *l = t->layer;
    unsigned code = m->status;

    if (t->state == TXN_COMPLETED) {
        /* §17.1.1.2: a retransmitted final; our ACK is resent, the TU not
         * bothered. */
        if (code >= 300 && (t->ack != NULL || t->wait_len != 0)) {
            metric_inc(txn_m_absorbed);
            if (resend_ack(t) < 0)
                txn_terminate(t);
        } else if (code / 100 == 2 && l->tu.stray_response != NULL) {
            /* A 2xx after our non-2xx (a misbehaving fork downstream) still
             * set up a session: like any unmatched 2xx it goes to the stray
             * handler, so a proxy forwards it and the caller can ACK and
             * BYE it (RFC 6026's update of §16.7), rather than leaving the
             * callee retransmitting it. */
            l->tu.stray_response(m, &t->flow, l->tu_arg);
        }
        return;
    }
    if (t->state == TXN_ACCEPTED) {
        /* RFC 6026 §8.4: every 2xx (retransmissions, other forks) goes to
         * the TU, which ACKs each itself. */
        if (code / 100 == 2)
            deliver(t, m);
        return;
    }
    if (code < 200) {
        tmr_stop(&t->t_retx);
        if (t->state == TXN_CALLING)
            tmr_stop(&t->t_state); /* Timer B only matters in Calling */
        t->state = TXN_PROCEEDING;
        if (t->is_cancel_wanted && !t->is_cancel_sent)
            send_cancel(t);
        deliver(t, m);
        return;
    }
    tmr_stop(&t->t_retx);
    tmr_stop(&t->t_state);
    if (code < 300) {
        /* RFC 6026 §8.4: Accepted for 64*T1 (Timer M), passing on more 2xx. */
        t->state = TXN_ACCEPTED;
        tmr_start(l->wheel, &t->t_state, txn_64t1(l));
        txn_ref(t);
        deliver(t, m);
        /* From here only 2xx retransmissions pass: nothing to resend. */
        if (t->state == TXN_ACCEPTED)
            (void)txn_compact(t, NULL, 0);
        txn_unref(t);
        return;
    }
    /* §17.1.1.3: the txn ACKs a non-2xx itself. */
    t->state = TXN_COMPLETED;
    t->ack = build_from_req(l, t->req, "ACK", hdr_value(m, HDR_TO), SLICE_NULL);
    if (t->ack == NULL)
        LOG_RL(LOG_LVL_WARN, TXN_MOD, "cannot build an ACK");
    else if (send_req(t, t->ack) < 0)
        LOG_RL(LOG_LVL_NOTICE, TXN_MOD, "cannot send an ACK");
    txn_ref(t);
    deliver(t, m);
    /* Timer D: absorbs final retransmissions, at least 32 s on UDP; the
     * ACK is all it resends. */
    if (t->state == TXN_COMPLETED) {
        (void)txn_compact(t, t->ack != NULL ? t->ack->buf : NULL, t->ack != NULL ? t->ack->len : 0);
        state_wait(t, t->is_reliable ? 0 : SW_MAX(l->cfg.timer_d_ms, 1));
    }
    txn_unref(t);
}

static void non_invite_resp(struct txn *t, const struct sipmsg *m)
{
    struct txn_layer *l = t->layer;
    if (t->state == TXN_COMPLETED) {
        metric_inc(txn_m_absorbed); /* §17.1.2.2: retransmitted finals */
        return;
    }
    if (m->status < 200) {
        /* §17.1.2.2: Proceeding; Timer E goes on at T2, Timer F still runs. */
        t->state = TXN_PROCEEDING;
        deliver(t, m);
        return;
    }
    tmr_stop(&t->t_retx);
    tmr_stop(&t->t_state);
    t->state = TXN_COMPLETED;
    txn_ref(t);
    deliver(t, m);
    /* Timer K: T4 on UDP for final retransmissions, 0 on TCP. */
    if (t->state == TXN_COMPLETED) {
        (void)txn_compact(t, NULL, 0);
        state_wait(t, t->is_reliable ? 0 : l->cfg.t4_ms);
    }
    txn_unref(t);
}

void txn_client_recv(struct txn_layer *l, struct sipmsg *m, const struct tp_flow *flow)
{
    struct txn *t = NULL;
    if (m->via_count != 0 && m->status >= 100 && m->status <= 699)
        t = client_find(l, m->via1.branch, (enum sip_method)m->cseq.method, m->cseq.method_s);
    if (t == NULL) {
        metric_inc(txn_m_stray);
        if (l->tu.stray_response != NULL)
            l->tu.stray_response(m, flow, l->tu_arg);
        return;
    }
    if (t->is_invite)
        invite_resp(t, m);
    else
        non_invite_resp(t, m);
}

/* ---- creation ---- */

/* Starts a client txn for the parsed request m (ref moved in). *out gets
 * a borrowed pointer (the layer's ref). */
static int client_start(struct txn **out, struct txn_layer *l, const struct tp_flow *flow,
                        struct sipmsg *m, bool is_internal)
{
    if (!m->is_request || m->method == SIP_ACK || m->via_count == 0 ||
        !txn_has_cookie(m->via1.branch)) {
        sipmsg_unref(m);
        return -EINVAL;
    }
    if (client_find(l, m->via1.branch, m->method, m->method_name) != NULL) {
        sipmsg_unref(m);
        return -EEXIST;
    }
    struct txn *t = txn_alloc(l, false, m, flow);
    if (t == NULL) {
        sipmsg_unref(m);
        return -ENOMEM;
    }
    tmr_init(&t->t_retx, on_retx, t);
    tmr_init(&t->t_state, on_state_timer, t);
    t->is_internal = is_internal;
    if (is_internal)
        t->resp_fn = on_internal_resp;
    t->state = t->is_invite ? TXN_CALLING : TXN_TRYING;
    txn_link(l, t, TXN_TAB_CLIENT, txn_branch_hash(m->via1.branch));
    metric_inc(txn_m_client);

    int rc = send_req(t, m);
    if (rc < 0) {
        /* §8.1.3.1: the caller sees the error (a 503 for its purposes). */
        txn_terminate(t);
        return rc;
    }
    /* Timer A / E only where the transport does not retransmit itself;
     * Timer B / F always (§17.1.1.2, §17.1.2.2). */
    if (!t->is_reliable) {
        t->retx_ms = l->cfg.t1_ms;
        tmr_start(l->wheel, &t->t_retx, t->retx_ms);
    }
    tmr_start(l->wheel, &t->t_state, txn_64t1(l));
    *out = t;
    return 0;
}

int txn_client_new(struct txn **out, struct txn_layer *l, const struct tp_flow *flow,
                   const void *data, size_t len, txn_resp_fn *resp, void *arg)
{
    if (l->count >= l->cfg.max_txns) {
        metric_inc(txn_m_limit);
        return -EBUSY;
    }
    struct sipmsg *m = txn_msg_parse(l, data, len);
    if (m == NULL)
        return errno == ENOMEM || errno == EMSGSIZE ? -errno : -EINVAL;
    struct txn *t = NULL;
    int rc = client_start(&t, l, flow, m, false);
    if (rc != 0)
        return rc;
    t->resp_fn = resp;
    t->arg = arg;
    *out = txn_ref(t);
    return 0;
}
