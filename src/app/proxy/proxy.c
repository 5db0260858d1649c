/* SPDX-License-Identifier: BSD-2-Clause */
/* Stateful proxying (RFC 3261 §16.6-§16.10): response contexts, forking, CANCEL, Timer C. */
#include "app/proxy/proxy.h"

#include "app/proxy/proxy_int.h"
#include "core/ev.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CTX_MAGIC 0x70726f78u /* "prox": txn_arg() of a server txn is ours */

metric_id proxy_m_fwd, proxy_m_fwd_sl, proxy_m_resp[7], proxy_m_resp_sl, proxy_m_stray,
    proxy_m_failover, proxy_m_live, proxy_m_cancel, proxy_m_timer_c, proxy_m_ack, proxy_m_fwd_fail;

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_register(void)
{
    proxy_m_fwd = metric_register("proxy_requests_forwarded_total{mode=\"stateful\"}",
                                  "requests forwarded on a client transaction (one per branch)");
    proxy_m_fwd_sl = metric_register("proxy_requests_forwarded_total{mode=\"stateless\"}",
                                     "requests forwarded statelessly (RFC 3261 §16.11)");
    proxy_m_ack = metric_register("proxy_acks_forwarded_total",
                                  "ACKs for 2xx and other transactionless requests forwarded");
    proxy_m_fwd_fail = metric_register("proxy_forward_failures_total",
                                       "requests or responses that could not be built or sent");
    static const char *names[7] = {
        NULL,
        "proxy_responses_forwarded_total{class=\"1xx\"}",
        "proxy_responses_forwarded_total{class=\"2xx\"}",
        "proxy_responses_forwarded_total{class=\"3xx\"}",
        "proxy_responses_forwarded_total{class=\"4xx\"}",
        "proxy_responses_forwarded_total{class=\"5xx\"}",
        "proxy_responses_forwarded_total{class=\"6xx\"}",
    };
    for (int i = 1; i < 7; i++)
        proxy_m_resp[i] = metric_register(names[i], "responses sent upstream by stateful contexts");
    proxy_m_resp_sl = metric_register("proxy_responses_relayed_total",
                                      "responses relayed by Via without a transaction");
    proxy_m_stray = metric_register("proxy_responses_dropped_total",
                                    "responses whose top Via is not ours (stray)");
    proxy_m_failover = metric_register("proxy_failovers_total",
                                       "next q-group tried after a failed group (serial forking)");
    /* A gauge from a counter: +1 and -1 (as 2^64-1) per worker sum, modulo
     * 2^64, to the live count. */
    proxy_m_live = metric_register("proxy_contexts_in_flight", "stateful requests in progress");
    proxy_m_cancel = metric_register("proxy_branches_cancelled_total",
                                     "client transactions cancelled (CANCEL, 2xx/6xx, Timer C)");
    proxy_m_timer_c = metric_register("proxy_timer_c_total", "Timer C expiries (RFC 3261 §16.8)");
}

void proxy_init(void)
{
    pthread_once(&metrics_once, metrics_register);
}

void proxy_config_defaults(struct proxy_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timer_c_ms = 180000;
    cfg->max_branches = 16;
}

struct proxy *proxy_new(const struct proxy_config *cfg, struct txn_layer *l, struct tp_worker *w)
{
    if (cfg->is_local == NULL || cfg->max_branches == 0 || cfg->max_branches > PROXY_MAX_BRANCHES ||
        cfg->nlisteners == 0)
        return NULL;
    proxy_init();
    struct proxy *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->cfg = *cfg;
    p->l = l;
    p->w = w;
    p->wheel = ev_timers(tp_worker_loop(w));
    p->a = arena_new(16384, 1u << 20);
    p->out = malloc(PROXY_OUT_CAP);
    if (p->a == NULL || p->out == NULL) {
        proxy_free(p);
        return NULL;
    }
    return p;
}

size_t proxy_count(const struct proxy *p)
{
    return p->nlive;
}

/* ---- contexts ---- */

static void ctx_free(struct proxy_ctx *c)
{
    struct proxy *p = c->p;
    for (unsigned i = 0; i < c->nbranches; i++) {
        struct proxy_branch *b = &c->br[i];
        tmr_stop(&b->timer_c);
        if (b->ct != NULL) {
            /* A client txn in Accepted still reports 2xx retransmissions:
             * detached, they go to the stray handler, which relays them
             * (RFC 6026 §7). */
            txn_detach(b->ct);
            txn_unref(b->ct);
        }
    }
    txn_detach(c->st);
    txn_unref(c->st);
    sipmsg_unref(c->req);
    if (c->best != NULL)
        sipmsg_unref(c->best);
    for (unsigned i = 0; i < c->nauth; i++)
        sipmsg_unref(c->auth[i]);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    p->nlive--;
    metric_add(proxy_m_live, UINT64_MAX); /* -1, see metrics_register */
    free(c);
}

void proxy_free(struct proxy *p)
{
    if (p == NULL)
        return;
    while (p->live != NULL)
        ctx_free(p->live);
    proxy_probes_drop(p);
    arena_free(p->a);
    free(p->out);
    free(p);
}

/* The message refcount is internal bookkeeping: keeping a ref on a
 * message handed to us as const does not change what it says. */
static struct sipmsg *msg_ref(const struct sipmsg *m)
{
    return sipmsg_ref((struct sipmsg *)(uintptr_t)m);
}

static void cancel_branch(struct proxy_branch *b, struct slice reason)
{
    if (b->ct == NULL || b->code != 0 || b->is_cancelled)
        return;
    b->is_cancelled = true;
    /* §9.1 / §16.10: in Calling the layer holds the CANCEL until a
     * provisional response arrives. */
    if (txn_client_cancel(b->ct, reason) == 0)
        metric_inc(proxy_m_cancel);
}

static void cancel_pending(struct proxy_ctx *c, const struct proxy_branch *except,
                           struct slice reason)
{
    for (unsigned i = 0; i < c->nbranches; i++)
        if (&c->br[i] != except)
            cancel_branch(&c->br[i], reason);
}

/* Sends a downstream response upstream with our Via popped. */
static void forward_response(struct proxy_ctx *c, const struct sipmsg *r,
                             const struct sipmsg *const *auth, unsigned nauth)
{
    struct proxy *p = c->p;
    if (c->upstream_gone)
        return;
    ssize_t len = proxy_build_response(p, r, auth, nauth, c->in_flow.proto == TP_TCP);
    int rc = len < 0 ? (int)len : txn_server_respond(c->st, p->out, (size_t)len);
    arena_reset(p->a);
    if (rc == 0) {
        metric_inc(proxy_m_resp[r->status / 100]);
        return;
    }
    metric_inc(proxy_m_fwd_fail);
    LOG_RL(LOG_LVL_INFO, PROXY_MOD, "cannot forward %u response: %s", r->status, strerror(-rc));
    if (rc != -EALREADY && rc != -EINVAL) {
        /* §17.2.4: the upstream is gone; nobody will take our answer. */
        c->upstream_gone = true;
        cancel_pending(c, NULL, SLICE_NULL);
    }
}

/* §16.7 step 6-7: sends the best final response of the context. */
static void send_best(struct proxy_ctx *c)
{
    c->final_sent = true;
    if (c->upstream_gone)
        return;
    if (c->best != NULL && c->best->status != 503) {
        bool is_auth = c->best->status == 401 || c->best->status == 407;
        forward_response(c, c->best, is_auth ? (const struct sipmsg *const *)c->auth : NULL,
                         is_auth ? c->nauth : 0);
        return;
    }
    /* No response to forward: §16.7 step 6 answers 408 when no final came
     * back at all, and a 503 (downstream overload or a transport error)
     * becomes 500 so upstream does not take us for the overloaded one. */
    unsigned code = c->best_rank == UINT32_MAX ? 408 : 500;
    struct slice reason = code == 500 ? SLICE_LIT("No destination available") : SLICE_NULL;
    if (txn_server_reply(c->st, code, reason, NULL) == 0)
        metric_inc(proxy_m_resp[code / 100]);
}

static void record_final(struct proxy_ctx *c, const struct sipmsg *r, unsigned code)
{
    unsigned rank = proxy_response_rank(code);
    if (rank < c->best_rank) {
        c->best_rank = rank;
        if (c->best != NULL)
            sipmsg_unref(c->best);
        c->best = r != NULL ? msg_ref(r) : NULL;
    }
    if (r != NULL && (code == 401 || code == 407) && c->nauth < c->p->cfg.max_branches)
        c->auth[c->nauth++] = msg_ref(r);
    if (code != 408 && code != 503)
        c->group_unavailable = false;
}

static void report(struct proxy_ctx *c, const struct proxy_branch *b, unsigned code)
{
    void *tag = c->targets[b->target].tag;
    if (c->outcome != NULL && tag != NULL)
        c->outcome(tag, code, c->outcome_arg);
}

static void on_response(struct txn *ct, const struct sipmsg *r, void *arg);
static void on_timer_c(struct tmr *t, void *arg);

/* Starts one branch (§16.6). false when it failed synchronously (recorded
 * as a 503 for that branch, §8.1.3.1). */
static bool start_branch(struct proxy_ctx *c, unsigned ti)
{
    struct proxy *p = c->p;
    struct proxy_branch *b = &c->br[c->nbranches++];
    const struct proxy_ctarget *t = &c->targets[ti];
    char branch[TXN_BRANCH_CAP];
    b->ctx = c;
    b->target = ti;
    tmr_init(&b->timer_c, on_timer_c, b);
    int bn = txn_branch_new(p->l, branch, sizeof(branch));
    struct tp_flow dst;
    ssize_t len = bn < 0
                      ? bn
                      : proxy_build_request(p, &dst, c->req, &c->in_flow, &c->prep, t->ruri, t->dst,
                                            c->record_route, slice_make(branch, (size_t)bn));
    int rc = len < 0 ? (int)len
                     : txn_client_new(&b->ct, p->l, &dst, p->out, (size_t)len, on_response, b);
    arena_reset(p->a);
    if (rc != 0) {
        LOG_RL(LOG_LVL_INFO, PROXY_MOD, "cannot forward to " SLICE_FMT ": %s",
               SLICE_ARG(t->dst.len    ? t->dst
                         : t->ruri.len ? t->ruri
                                       : c->prep.ruri),
               strerror(-rc));
        metric_inc(proxy_m_fwd_fail);
        b->code = 503;
        record_final(c, NULL, 503);
        report(c, b, 503);
        return false;
    }
    metric_inc(proxy_m_fwd);
    report(c, b, 0);
    c->npending++;
    if (c->is_invite)
        tmr_start(p->wheel, &b->timer_c, p->cfg.timer_c_ms);
    return true;
}

/* Starts the next q-group (§16.6: same q in parallel, groups in
 * descending q). Returns true when a branch is pending. */
static bool start_next_group(struct proxy_ctx *c)
{
    while (c->next_target < c->ntargets && !c->is_cancelled) {
        uint16_t q = c->targets[c->next_target].q;
        c->group_unavailable = true;
        while (c->next_target < c->ntargets && c->targets[c->next_target].q == q &&
               c->nbranches < c->p->cfg.max_branches)
            start_branch(c, c->next_target++);
        if (c->npending > 0)
            return true;
        if (c->nbranches >= c->p->cfg.max_branches)
            break;
    }
    return false;
}

/* Once no branch is pending: try the next group or answer, then free. */
static void ctx_advance(struct proxy_ctx *c)
{
    if (c->npending > 0)
        return;
    bool may_next = c->next_mode == PROXY_NEXT_ON_FAILURE || c->group_unavailable;
    if (!c->final_sent && !c->is_cancelled && may_next && c->next_target < c->ntargets &&
        c->nbranches < c->p->cfg.max_branches) {
        metric_inc(proxy_m_failover);
        if (start_next_group(c))
            return;
    }
    if (!c->final_sent)
        send_best(c);
    ctx_free(c);
}

static void on_response(struct txn *ct, const struct sipmsg *r, void *arg)
{
    (void)ct;
    struct proxy_branch *b = arg;
    struct proxy_ctx *c = b->ctx;
    unsigned code = r->status;
    if (code < 200) {
        /* §16.7 step 5: 100 is hop-by-hop; other provisionals go up and
         * restart Timer C (§16.8). */
        if (code == 100)
            return;
        b->has_prov = true;
        if (c->is_invite && b->code == 0)
            tmr_start(c->p->wheel, &b->timer_c, c->p->cfg.timer_c_ms);
        if (!c->final_sent)
            forward_response(c, r, NULL, 0);
        return;
    }
    if (b->code != 0) {
        /* A 2xx retransmission or a late 2xx in Accepted (RFC 6026 §7). */
        if (code < 300)
            forward_response(c, r, NULL, 0);
        return;
    }
    b->code = code;
    tmr_stop(&b->timer_c);
    c->npending--;
    report(c, b, code);
    if (code < 300) {
        /* §16.7 step 5/§16.7 step 10: every 2xx goes up at once; the
         * other branches are cancelled (RFC 3326 Reason tells why). */
        bool first = !c->final_sent;
        if (c->is_invite || first)
            forward_response(c, r, NULL, 0);
        c->final_sent = true;
        if (c->is_invite && first)
            cancel_pending(
                c, b, SLICE_LIT("Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"));
        c->is_cancelled = true;
    } else {
        if (code >= 600 && c->is_invite) {
            /* §16.7 step 5: a 6xx ends the forking. */
            c->is_cancelled = true;
            cancel_pending(c, b, SLICE_NULL);
        }
        record_final(c, r, code);
    }
    ctx_advance(c);
}

/* §16.8: a branch that stays provisional too long is cancelled; one that
 * got nothing at all counts as a 408 (Timer B normally comes first). */
static void on_timer_c(struct tmr *t, void *arg)
{
    (void)t;
    struct proxy_branch *b = arg;
    struct proxy_ctx *c = b->ctx;
    metric_inc(proxy_m_timer_c);
    if (b->code != 0)
        return;
    if (b->has_prov) {
        cancel_branch(b, SLICE_NULL);
        return;
    }
    txn_detach(b->ct);
    b->code = 408;
    c->npending--;
    report(c, b, 408);
    record_final(c, NULL, 408);
    ctx_advance(c);
}

/* The server transaction ended on its own (Timer H, transport error,
 * §17.2.4): nobody listens upstream any more. */
static void on_server_end(struct txn *st, int reason, void *arg)
{
    (void)st;
    (void)reason;
    struct proxy_ctx *c = arg;
    c->upstream_gone = true;
    cancel_pending(c, NULL, SLICE_NULL);
}

void proxy_forward(struct proxy *p, struct txn *st, const struct sipmsg *req,
                   const struct tp_flow *flow, const struct proxy_prep *prep,
                   const struct proxy_decision *d)
{
    static const struct proxy_target loose = {.q = 1000};
    const struct proxy_target *ts = d->ntargets != 0 ? d->targets : &loose;
    unsigned nt = d->ntargets != 0 ? d->ntargets : 1;
    size_t strl = 0;
    for (unsigned i = 0; i < nt; i++)
        strl += ts[i].ruri.len + ts[i].dst.len;
    unsigned mb = p->cfg.max_branches;
    size_t sz = sizeof(struct proxy_ctx) + nt * sizeof(struct proxy_ctarget) +
                mb * sizeof(struct proxy_branch) + mb * sizeof(struct sipmsg *) + strl + 1;
    struct proxy_ctx *c = calloc(1, sz);
    if (c == NULL) {
        if (txn_server_reply(st, 500, SLICE_LIT("Out of memory"), NULL) != 0)
            metric_inc(proxy_m_fwd_fail);
        return;
    }
    c->magic = CTX_MAGIC;
    c->targets = (struct proxy_ctarget *)(c + 1);
    c->br = (struct proxy_branch *)(c->targets + nt);
    c->auth = (struct sipmsg **)(c->br + mb);
    c->strs = (char *)(c->auth + mb);
    char *s = c->strs;
    /* Copy, then sort by q descending (stable insertion sort: few targets);
     * equal q keeps the routing order. */
    for (unsigned i = 0; i < nt; i++) {
        struct proxy_ctarget t = {.q = ts[i].q, .tag = ts[i].tag};
        memcpy(s, ts[i].ruri.p ? ts[i].ruri.p : "", ts[i].ruri.len);
        t.ruri = slice_make(s, ts[i].ruri.len);
        s += ts[i].ruri.len;
        memcpy(s, ts[i].dst.p ? ts[i].dst.p : "", ts[i].dst.len);
        t.dst = slice_make(s, ts[i].dst.len);
        s += ts[i].dst.len;
        unsigned j = i;
        while (j > 0 && c->targets[j - 1].q < t.q) {
            c->targets[j] = c->targets[j - 1];
            j--;
        }
        c->targets[j] = t;
    }
    c->p = p;
    c->ntargets = nt;
    c->st = txn_ref(st);
    c->req = msg_ref(req);
    c->in_flow = *flow;
    c->prep = *prep;
    c->next_mode = d->next;
    c->outcome = d->outcome;
    c->outcome_arg = d->outcome_arg;
    c->record_route = d->record_route;
    c->is_invite = req->method == SIP_INVITE;
    c->best_rank = UINT32_MAX;
    txn_server_bind(st, on_server_end, c);
    c->next = p->live;
    if (p->live != NULL)
        p->live->prev = c;
    p->live = c;
    p->nlive++;
    metric_inc(proxy_m_live);
    start_next_group(c);
    ctx_advance(c);
}

void proxy_cancel(struct proxy *p, struct txn *cancel_st, const struct sipmsg *cancel)
{
    /* §16.10: a CANCEL matching a context is answered 200 at once and
     * cancels every pending branch; the INVITE then gets the 487s (or
     * whatever final the callees send first) through its own context. */
    struct txn *ist = txn_server_find_cancelled(p->l, cancel);
    struct proxy_ctx *c = ist != NULL ? txn_arg(ist) : NULL;
    if (c != NULL && c->magic != CTX_MAGIC)
        c = NULL;
    if (txn_server_reply(cancel_st, ist != NULL ? 200 : 481, SLICE_NULL, NULL) != 0)
        metric_inc(proxy_m_fwd_fail);
    if (c == NULL || c->final_sent)
        return;
    c->is_cancelled = true;
    /* RFC 3326: pass on the caller's Reason, if any. */
    char extra[512];
    struct slice reason = SLICE_NULL;
    const struct sip_hdr *h = sipmsg_hdr_first(cancel, HDR_REASON);
    if (h != NULL && h->raw.len < sizeof(extra)) {
        memcpy(extra, h->raw.p, h->raw.len);
        reason = slice_make(extra, h->raw.len);
    }
    cancel_pending(c, NULL, reason);
}
