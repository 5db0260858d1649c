/* SPDX-License-Identifier: BSD-2-Clause */
/* Server transactions (RFC 3261 §17.2, RFC 6026 Accepted) and request matching (§17.2.3). */
#include "txn/txn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "txn/txn_int.h"

/* What a request is matched against. */
struct srv_key {
    const struct sipmsg *m; /* borrowed: the request being matched */
    enum sip_method method; /* of the txn sought: INVITE for an ACK or a CANCEL lookup */
    struct slice method_name;
    bool is_ack; /* RFC 2543 ACK: To tag compared with our response's */
};

static struct txn *node_txn(const struct htab_node *n)
{
    return SW_CONTAINER_OF(n, struct txn, node);
}

static bool method_eq(const struct txn *t, const struct srv_key *k)
{
    if (t->method != k->method)
        return false;
    /* Unknown methods all map to SIP_METHOD_OTHER: compare the names
     * (case-sensitive, RFC 3261 §7.1). */
    return k->method != SIP_METHOD_OTHER || slice_eq(t->k_method_name, k->method_name);
}

/* §17.2.3 first part: branch, sent-by and method. */
static bool eq_cookie(const struct htab_node *n, const void *key)
{
    const struct srv_key *k = key;
    const struct txn *t = node_txn(n);
    const struct sip_via *b = &k->m->via1;
    return method_eq(t, k) && slice_eq(t->k_branch, b->branch) &&
           slice_caseeq(t->k_host, b->host) && t->k_port == txn_via_port(b);
}

/* §17.2.3 last paragraph: a request from an RFC 2543 element (no magic
 * cookie) matches on Request-URI, To tag, From tag, Call-ID, CSeq and top
 * Via; an ACK's To tag is the one of the response we sent. Byte
 * comparison suffices: a retransmission repeats the same bytes. */
static bool eq_2543(const struct htab_node *n, const void *key)
{
    const struct srv_key *k = key;
    const struct txn *t = node_txn(n);
    const struct sipmsg *a = t->req, *b = k->m;
    if (!method_eq(t, k) || !slice_eq(a->call_id, b->call_id) || a->cseq.num != b->cseq.num ||
        !slice_eq(a->from.tag, b->from.tag) || !slice_eq(a->ruri_s, b->ruri_s) ||
        !slice_caseeq(a->via1.raw, b->via1.raw))
        return false;
    if (k->is_ack)
        return t->resp != NULL && slice_eq(t->resp->to.tag, b->to.tag);
    return slice_eq(a->to.tag, b->to.tag);
}

static uint64_t hash_cookie(const struct sipmsg *m)
{
    /* Branch and sent-by host both: distinct clients reusing one branch
     * must not pile up in one bucket. */
    return txn_branch_hash(m->via1.branch) ^
           (htab_hash_nocase(m->via1.host.p, m->via1.host.len) * 0x9e3779b97f4a7c15ull);
}

static uint64_t hash_2543(const struct sipmsg *m)
{
    return htab_hash(m->call_id.p, m->call_id.len);
}

static struct txn *server_find(struct txn_layer *l, const struct sipmsg *m, enum sip_method method,
                               bool is_ack)
{
    struct srv_key k = {m, method, m->method_name, is_ack};
    struct htab_node *n;
    if (txn_has_cookie(m->via1.branch))
        n = htab_find(l->server, hash_cookie(m), eq_cookie, &k);
    else
        n = htab_find(l->server2543, hash_2543(m), eq_2543, &k);
    return n != NULL ? node_txn(n) : NULL;
}

struct txn *txn_server_find_cancelled(struct txn_layer *l, const struct sipmsg *cancel)
{
    /* §9.2: the CANCEL matches the INVITE by the §17.2.3 rules with the
     * method taken as INVITE (the CANCEL repeats the INVITE's Via). */
    if (cancel->method != SIP_CANCEL || cancel->via_count == 0)
        return NULL;
    struct txn *t = server_find(l, cancel, SIP_INVITE, false);
    return t != NULL && t->state != TXN_TERMINATED ? t : NULL;
}

/* ---- ending ---- */

/* Ends t and tells the TU why (Timer H, asynchronous transport error). */
static void server_fail(struct txn *t, int reason)
{
    txn_end_fn *fn = t->end_fn;
    void *arg = t->arg;
    txn_ref(t);
    txn_terminate(t);
    if (fn != NULL)
        fn(t, reason, arg);
    txn_unref(t);
}

void txn_server_transport_error(struct txn *t, int err)
{
    /* §17.2.4: a response could not be delivered; the TU is told. */
    server_fail(t, err);
}

/* ---- sending ---- */

static int server_send_last(struct txn *t)
{
    struct txn_layer *l = t->layer;
    if (t->is_compact)
        return t->wait_len == 0 ? 0
                                : l->io.send(l->io_arg, &t->wait_flow, t->wait_buf, t->wait_len);
    return l->io.send_response(l->io_arg, t->req, &t->flow, t->resp->buf, t->resp->len);
}

static void on_retx(struct tmr *tm, void *arg)
{
    (void)tm;
    struct txn *t = arg;
    struct txn_layer *l = t->layer;
    if (t->state != TXN_COMPLETED || (t->resp == NULL && t->wait_len == 0))
        return;
    /* Timer G (§17.2.1): resend the non-2xx final, doubling up to T2. */
    metric_inc(txn_m_retrans);
    int rc = server_send_last(t);
    if (rc < 0) {
        server_fail(t, rc);
        return;
    }
    t->retx_ms = SW_MIN(2 * t->retx_ms, l->cfg.t2_ms);
    tmr_start(l->wheel, &t->t_retx, t->retx_ms);
}

static void on_state_timer(struct tmr *tm, void *arg)
{
    (void)tm;
    struct txn *t = arg;
    if (t->is_invite && t->state == TXN_COMPLETED) {
        /* Timer H (§17.2.1): no ACK ever came; the TU is told. */
        metric_inc(txn_m_timeouts);
        server_fail(t, -ETIMEDOUT);
        return;
    }
    /* Timer I (Confirmed), J (non-INVITE Completed), L (Accepted, RFC
     * 6026 §8.7): the end of the absorbing period. */
    txn_terminate(t);
}

/* Starts the state timer, or ends t at once for a zero duration (TCP):
 * nothing needs absorbing on a reliable transport. Returns false if t
 * ended (and may be freed unless the caller holds a ref). */
static bool state_wait(struct txn *t, uint64_t ms)
{
    if (ms == 0) {
        txn_terminate(t);
        return false;
    }
    tmr_start(t->layer->wheel, &t->t_state, ms);
    return true;
}

/* Sends r (ref moved in) through t, applying the state machine. */
static int server_send(struct txn *t, struct sipmsg *r)
{
    struct txn_layer *l = t->layer;
    unsigned code = r->status;
    bool is_final = code >= 200;
    uint64_t wait_ms = 0;

    switch (t->state) {
    case TXN_TRYING:
    case TXN_PROCEEDING:
        break;
    case TXN_ACCEPTED:
        /* RFC 6026 §8.7: 2xx retransmissions from the TU pass through. */
        if (code / 100 == 2 && t->is_compact) {
            int rc = l->io.send(l->io_arg, &t->wait_flow, r->buf, r->len);
            sipmsg_unref(r);
            return rc;
        }
        if (code / 100 == 2)
            break;
        sipmsg_unref(r);
        return -EINVAL;
    default: /* Completed, Confirmed */
        sipmsg_unref(r);
        /* §17.2.2: further finals from the TU are discarded. */
        return is_final ? -EALREADY : -EINVAL;
    }

    if (t->resp != NULL)
        sipmsg_unref(t->resp);
    t->resp = r;
    if (!is_final) {
        if (!t->is_invite)
            t->state = TXN_PROCEEDING;
    } else if (t->is_invite && code / 100 == 2) {
        /* RFC 6026 §8.7: Accepted absorbs INVITE retransmissions for 64*T1
         * instead of ending at once (which made them look like new calls). */
        if (t->state != TXN_ACCEPTED) {
            t->state = TXN_ACCEPTED;
            tmr_start(l->wheel, &t->t_state, txn_64t1(l));
        }
    } else if (t->is_invite) {
        /* §17.2.1: Completed; Timer G only on unreliable transports. */
        t->state = TXN_COMPLETED;
        if (!t->is_reliable) {
            t->retx_ms = l->cfg.t1_ms;
            tmr_start(l->wheel, &t->t_retx, t->retx_ms);
        }
        tmr_start(l->wheel, &t->t_state, txn_64t1(l));
    } else {
        /* §17.2.2: Completed; Timer J 64*T1 on UDP, 0 on TCP. */
        t->state = TXN_COMPLETED;
        wait_ms = t->is_reliable ? 0 : txn_64t1(l);
    }

    int rc = server_send_last(t);
    if (rc < 0) {
        /* §17.2.4: the TU learns it from the return value. */
        LOG_RL(LOG_LVL_NOTICE, TXN_MOD, "cannot send %u response: %s", code, strerror(-rc));
        txn_terminate(t);
        return rc;
    }
    /* Only retransmissions are absorbed from here on: keep what a resend
     * needs, drop the parsed messages (txn_compact). A 2xx to an INVITE is
     * never resent by the txn (RFC 6026 §8.7). */
    if (is_final && (t->state == TXN_COMPLETED || t->state == TXN_ACCEPTED) && !t->is_compact) {
        bool is_2xx = t->state == TXN_ACCEPTED;
        (void)txn_compact(t, is_2xx ? NULL : t->resp->buf, is_2xx ? 0 : t->resp->len);
    }
    if (!t->is_invite && t->state == TXN_COMPLETED)
        (void)state_wait(t, wait_ms);
    return 0;
}

int txn_server_respond(struct txn *st, const void *data, size_t len)
{
    if (st->state == TXN_TERMINATED)
        return -ESRCH;
    if (!st->is_server)
        return -EINVAL;
    struct sipmsg *r = txn_msg_parse(st->layer, data, len);
    if (r == NULL)
        return errno == ENOMEM || errno == EMSGSIZE ? -errno : -EINVAL;
    if (r->is_request) {
        sipmsg_unref(r);
        return -EINVAL;
    }
    return server_send(st, r);
}

int txn_server_reply(struct txn *st, unsigned code, struct slice reason,
                     const struct sipmsg_reply_opts *o)
{
    if (st->state == TXN_TERMINATED)
        return -ESRCH;
    if (!st->is_server || code < 100 || code > 699)
        return -EINVAL;
    if (st->is_compact) /* what server_send answers in these states */
        return st->state == TXN_ACCEPTED || code < 200 ? -EINVAL : -EALREADY;
    struct sipmsg_reply_opts opts = {0};
    if (o != NULL)
        opts = *o;
    /* §8.2.6.2 / §12.1.1: every response of one transaction carries the
     * same To tag, so reuse the one already sent. */
    if (opts.to_tag.len == 0 && st->resp != NULL && st->resp->to.tag.len != 0)
        opts.to_tag = st->resp->to.tag;
    struct sipmsg *r = txn_msg_reply(st->layer, st->req, &st->flow, code, reason, &opts);
    if (r == NULL)
        return -ENOMEM;
    return server_send(st, r);
}

void txn_server_bind(struct txn *st, txn_end_fn *end, void *arg)
{
    st->end_fn = end;
    st->arg = arg;
}

/* ---- receiving ---- */

/* 503 for a request over max_txns, sent without creating a txn. */
static void reject_overload(struct txn_layer *l, const struct sipmsg *m, const struct tp_flow *flow)
{
    metric_inc(txn_m_limit);
    if (!sipmsg_can_reply(m))
        return;
    char line[40];
    snprintf(line, sizeof(line), "Retry-After: %u", l->cfg.retry_after_s);
    struct slice extra = slice_cstr(line);
    uint64_t r = txn_rand(l);
    char ip[TP_ADDR_STRLEN];
    struct sipmsg_reply_opts o = {
        .rand = (const uint8_t *)&r,
        .rand_len = sizeof(r),
        .src_ip = slice_cstr(tp_addr_ip_str(&flow->remote, ip, sizeof(ip))),
        .src_port = tp_addr_port(&flow->remote),
        .extra = &extra,
        .extra_count = 1,
    };
    buf_clear(&l->scratch);
    if (sipmsg_reply_build(&l->scratch, m, 503, SLICE_NULL, &o) != 0 ||
        l->io.send_response(l->io_arg, m, flow, l->scratch.p, l->scratch.len) != 0)
        LOG_RL(LOG_LVL_NOTICE, TXN_MOD, "cannot send 503 over max_txns");
}

static void recv_ack(struct txn_layer *l, struct sipmsg *m, const struct tp_flow *flow)
{
    struct txn *t = server_find(l, m, SIP_INVITE, true);
    if (t == NULL) {
        /* The ACK for a 2xx is its own transaction with a new branch
         * (§17.1.1.3, §13.2.2.4): it belongs to the TU. */
        if (l->tu.ack != NULL)
            l->tu.ack(NULL, m, flow, l->tu_arg);
        return;
    }
    switch (t->state) {
    case TXN_COMPLETED:
        /* §17.2.1: the ACK for our non-2xx ends the retransmissions;
         * Timer I absorbs ACK retransmissions (T4, 0 on TCP). */
        tmr_stop(&t->t_retx);
        tmr_stop(&t->t_state);
        t->state = TXN_CONFIRMED;
        (void)state_wait(t, t->is_reliable ? 0 : l->cfg.t4_ms);
        break;
    case TXN_ACCEPTED:
        /* RFC 6026 §8.7: an ACK matching in Accepted goes to the TU. */
        if (l->tu.ack != NULL) {
            txn_ref(t);
            l->tu.ack(t, m, flow, l->tu_arg);
            txn_unref(t);
        }
        break;
    default:
        /* Confirmed: a retransmitted ACK; Proceeding: an ACK for nothing
         * we sent. Both absorbed. */
        metric_inc(txn_m_absorbed);
        break;
    }
}

/* A retransmitted request (§17.2.1, §17.2.2): absorbed, and the last
 * response resent where the state machine says so. */
static void absorb(struct txn *t)
{
    metric_inc(txn_m_absorbed);
    bool resend;
    switch (t->state) {
    case TXN_PROCEEDING: /* most recent provisional */
        resend = t->resp != NULL;
        break;
    case TXN_COMPLETED: /* the final (non-INVITE: any final; INVITE: non-2xx) */
        resend = true;
        break;
    default: /* Trying: nothing yet; Confirmed; Accepted (RFC 6026 §8.7) */
        resend = false;
        break;
    }
    if (resend) {
        int rc = server_send_last(t);
        if (rc < 0)
            server_fail(t, rc);
    }
}

void txn_server_recv(struct txn_layer *l, struct sipmsg *m, const struct tp_flow *flow)
{
    if (m->via_count == 0 || m->via1.raw.len == 0)
        return; /* nothing to match on or answer to; the parser counts these */
    if (m->method == SIP_ACK) {
        recv_ack(l, m, flow);
        return;
    }
    struct txn *t = server_find(l, m, m->method, false);
    if (t != NULL) {
        absorb(t);
        return;
    }
    if (l->count >= l->cfg.max_txns) {
        reject_overload(l, m, flow);
        return;
    }
    t = txn_alloc(l, true, sipmsg_ref(m), flow);
    if (t == NULL) {
        sipmsg_unref(m);
        LOG_RL(LOG_LVL_WARN, TXN_MOD, "out of memory for a server transaction");
        return;
    }
    tmr_init(&t->t_retx, on_retx, t);
    tmr_init(&t->t_state, on_state_timer, t);
    t->state = t->is_invite ? TXN_PROCEEDING : TXN_TRYING;
    if (txn_has_cookie(m->via1.branch))
        txn_link(l, t, TXN_TAB_SERVER, hash_cookie(m));
    else
        txn_link(l, t, TXN_TAB_SERVER2543, hash_2543(m));
    metric_inc(txn_m_server);

    txn_ref(t); /* the TU's pointer is valid for the whole callback */
    /* §16.2 / §17.2.1: a 100 at once stops the client's INVITE
     * retransmissions before the TU has decided anything. */
    bool is_live = true;
    if (t->is_invite && l->tu.invite_send_100)
        is_live = txn_server_reply(t, 100, SLICE_NULL, NULL) == 0;
    if (is_live)
        l->tu.request(t, m, flow, l->tu_arg);
    txn_unref(t);
}
