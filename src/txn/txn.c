/* SPDX-License-Identifier: BSD-2-Clause */
/* Transaction layer: configuration, lifecycle, refcounts, dispatch, branches. */
#include "txn/txn.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "txn/txn_int.h"

metric_id txn_m_server, txn_m_client, txn_m_retrans, txn_m_timeouts, txn_m_absorbed, txn_m_limit,
    txn_m_stray;

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_register(void)
{
    txn_m_server = metric_register("txn_server_total", "server transactions created");
    txn_m_client = metric_register("txn_client_total", "client transactions created");
    txn_m_retrans = metric_register("txn_retransmissions_total",
                                    "requests and responses retransmitted on timers A, E, G");
    txn_m_timeouts = metric_register("txn_timeouts_total",
                                     "transactions ended by Timer B, F, H or a CANCEL wait");
    txn_m_absorbed = metric_register("txn_absorbed_retransmissions_total",
                                     "retransmitted requests and responses absorbed");
    txn_m_limit = metric_register("txn_limit_rejected_total",
                                  "requests refused because max_txns was reached");
    txn_m_stray = metric_register("txn_stray_responses_total",
                                  "responses that matched no client transaction");
}

void txn_init(void)
{
    pthread_once(&metrics_once, metrics_register);
}

const char *txn_state_name(enum txn_state s)
{
    static const char *const names[] = {
        [TXN_CALLING] = "Calling",       [TXN_TRYING] = "Trying",
        [TXN_PROCEEDING] = "Proceeding", [TXN_COMPLETED] = "Completed",
        [TXN_CONFIRMED] = "Confirmed",   [TXN_ACCEPTED] = "Accepted",
        [TXN_TERMINATED] = "Terminated",
    };
    return (unsigned)s < SW_ARRAY_LEN(names) ? names[s] : "?";
}

void txn_config_defaults(struct txn_config *cfg)
{
    /* RFC 3261 §17.1.1.1 and Table 4 defaults. */
    *cfg = (struct txn_config){
        .t1_ms = 500,
        .t2_ms = 4000,
        .t4_ms = 5000,
        .timer_d_ms = 32000,
        .max_txns = 65536,
        .retry_after_s = 5,
        .worker_id = 0,
        .limits = SIP_LIMITS_DEFAULT,
    };
}

/* ---- production I/O ---- */

static int io_tp_send(void *io_arg, const struct tp_flow *flow, const void *data, size_t len)
{
    return tp_send(io_arg, flow, data, len);
}

static int io_tp_send_response(void *io_arg, const struct sipmsg *req, const struct tp_flow *flow,
                               const void *data, size_t len)
{
    return tp_send_response(io_arg, req, flow, data, len);
}

static int io_tp_response_dest(void *io_arg, const struct sipmsg *req, const struct tp_flow *flow,
                               struct tp_flow *out)
{
    (void)io_arg;
    return tp_response_flow(out, req, flow);
}

const struct txn_io txn_io_tp = {io_tp_send, io_tp_send_response, io_tp_response_dest};

/* ---- layer ---- */

struct txn_layer *txn_layer_new(const struct txn_config *cfg, struct tmr_wheel *wheel,
                                const struct txn_io *io, void *io_arg, const struct txn_tu *tu,
                                void *tu_arg)
{
    /* Bounds keep 64*T1 and the doubled intervals far from overflow and
     * refuse settings under which nothing would ever be retransmitted. */
    if (cfg->t1_ms == 0 || cfg->t1_ms > TXN_T_MAX_MS || cfg->t2_ms < cfg->t1_ms ||
        cfg->t2_ms > TXN_T_MAX_MS || cfg->t4_ms > TXN_T_MAX_MS || cfg->timer_d_ms > TXN_T_MAX_MS ||
        cfg->worker_id > 255 || wheel == NULL || io == NULL || io->send == NULL ||
        io->send_response == NULL || tu == NULL || tu->request == NULL)
        return NULL;
    txn_init();
    struct txn_layer *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->cfg = *cfg;
    l->wheel = wheel;
    l->io = *io;
    l->io_arg = io_arg;
    l->tu = *tu;
    l->tu_arg = tu_arg;
    buf_init(&l->scratch, cfg->limits.max_msg_size);
    l->server = htab_new(256);
    l->server2543 = htab_new(16);
    l->client = htab_new(256);
    if (l->server == NULL || l->server2543 == NULL || l->client == NULL) {
        txn_layer_free(l);
        return NULL;
    }
    /* Branches and tags must be unpredictable and unique across restarts
     * (RFC 3261 §8.1.1.7); the worker marker keeps workers apart. */
    if (getrandom(&l->rng, sizeof(l->rng), 0) != sizeof(l->rng) || l->rng == 0)
        l->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)cfg->worker_id << 32) ^ (uintptr_t)l;
    return l;
}

void txn_layer_free(struct txn_layer *l)
{
    if (l == NULL)
        return;
    while (l->all != NULL) {
        struct txn *t = l->all;
        txn_detach(t);
        txn_terminate(t);
    }
    if (l->server != NULL)
        htab_free(l->server);
    if (l->server2543 != NULL)
        htab_free(l->server2543);
    if (l->client != NULL)
        htab_free(l->client);
    buf_fini(&l->scratch);
    free(l);
}

size_t txn_layer_count(const struct txn_layer *l)
{
    return l->count;
}

void txn_layer_recv(struct txn_layer *l, struct sipmsg *msg, const struct tp_flow *flow)
{
    if (msg->is_request)
        txn_server_recv(l, msg, flow);
    else
        txn_client_recv(l, msg, flow);
}

static bool flow_matches(const struct tp_flow *a, const struct tp_flow *b)
{
    if (a->proto != b->proto)
        return false;
    if (a->conn_id != 0 && a->conn_id == b->conn_id)
        return true;
    return tp_addr_eq(&a->remote, &b->remote);
}

void txn_layer_transport_error(struct txn_layer *l, const struct tp_flow *flow, int err)
{
    /* Collect first (each with a ref): the TU callbacks run below may
     * create or end other transactions, which would break a walk of the
     * live list. */
    struct txn *batch = NULL, **tail = &batch;
    for (struct txn *t = l->all; t != NULL; t = t->all_next) {
        if (!flow_matches(&t->flow, flow))
            continue;
        t->err_next = NULL;
        *tail = txn_ref(t);
        tail = &t->err_next;
    }
    while (batch != NULL) {
        struct txn *t = batch;
        batch = t->err_next;
        if (t->state != TXN_TERMINATED) {
            if (t->is_server)
                txn_server_transport_error(t, err);
            else
                txn_client_transport_error(t, err);
        }
        txn_unref(t);
    }
}

/* ---- transactions ---- */

uint16_t txn_via_port(const struct sip_via *v)
{
    if (v->has_port)
        return v->port;
    return slice_caseeq_cstr(v->transport, "TLS") ? 5061 : 5060;
}

static struct slice key_put(char **p, struct slice s)
{
    if (s.len != 0)
        memcpy(*p, s.p, s.len);
    struct slice out = slice_make(*p, s.len);
    *p += s.len;
    return out;
}

struct txn *txn_alloc(struct txn_layer *l, bool is_server, struct sipmsg *req,
                      const struct tp_flow *flow)
{
    /* The key is copied so that matching never needs the request, which
     * txn_compact may drop; the method name only matters for methods
     * without an enum value (§17.1.3 compares CSeq methods). */
    struct slice branch = req->via1.branch, host = is_server ? req->via1.host : SLICE_NULL;
    struct slice mname = req->method == SIP_METHOD_OTHER ? req->method_name : SLICE_NULL;
    struct txn *t = calloc(1, sizeof(*t) + branch.len + host.len + mname.len);
    if (t == NULL)
        return NULL;
    char *p = t->key;
    t->k_branch = key_put(&p, branch);
    t->k_host = key_put(&p, host);
    t->k_method_name = key_put(&p, mname);
    t->k_port = is_server ? txn_via_port(&req->via1) : 0;
    t->refs = 1; /* becomes the layer's ref once linked */
    t->layer = l;
    t->is_server = is_server;
    t->req = req;
    t->flow = *flow;
    t->is_reliable = flow->proto != TP_UDP;
    t->method = req->method;
    t->is_invite = req->method == SIP_INVITE;
    t->state = TXN_TERMINATED; /* until txn_link */
    return t;
}

bool txn_compact(struct txn *t, const char *resend, size_t len)
{
    struct txn_layer *l = t->layer;
    if (t->is_compact || l == NULL || t->is_reliable || t->tab == TXN_TAB_SERVER2543)
        return true;
    if (t->is_server) {
        if (l->io.response_dest == NULL ||
            l->io.response_dest(l->io_arg, t->req, &t->flow, &t->wait_flow) < 0)
            return true; /* keeps resending through send_response */
    }
    if (len != 0) {
        t->wait_buf = malloc(len);
        if (t->wait_buf == NULL)
            return false;
        memcpy(t->wait_buf, resend, len);
        t->wait_len = len;
    }
    t->is_compact = true;
    sipmsg_unref(t->req);
    t->req = NULL;
    if (t->resp != NULL)
        sipmsg_unref(t->resp);
    t->resp = NULL;
    if (t->ack != NULL)
        sipmsg_unref(t->ack);
    t->ack = NULL;
    return true;
}

static struct htab *table_of(struct txn_layer *l, enum txn_table tab)
{
    switch (tab) {
    case TXN_TAB_SERVER:
        return l->server;
    case TXN_TAB_SERVER2543:
        return l->server2543;
    case TXN_TAB_CLIENT:
        return l->client;
    default:
        return NULL;
    }
}

void txn_link(struct txn_layer *l, struct txn *t, enum txn_table tab, uint64_t hash)
{
    /* A failed grow still inserts (htab.h); the table just stays denser. */
    (void)htab_insert(table_of(l, tab), &t->node, hash);
    t->tab = tab;
    t->all_prev = NULL;
    t->all_next = l->all;
    if (l->all != NULL)
        l->all->all_prev = t;
    l->all = t;
    l->count++;
}

void txn_terminate(struct txn *t)
{
    struct txn_layer *l = t->layer;
    if (l == NULL)
        return;
    t->state = TXN_TERMINATED;
    tmr_stop(&t->t_retx);
    tmr_stop(&t->t_state);
    htab_remove(table_of(l, t->tab), &t->node);
    t->tab = TXN_TAB_NONE;
    if (t->all_prev != NULL)
        t->all_prev->all_next = t->all_next;
    else
        l->all = t->all_next;
    if (t->all_next != NULL)
        t->all_next->all_prev = t->all_prev;
    t->all_prev = t->all_next = NULL;
    l->count--;
    t->layer = NULL;
    txn_unref(t); /* the layer's ref */
}

struct txn *txn_ref(struct txn *t)
{
    t->refs++;
    return t;
}

void txn_unref(struct txn *t)
{
    if (t == NULL || --t->refs > 0)
        return;
    /* Only a terminated txn can lose its last ref: the layer holds one
     * while it is live, so its timers are already stopped here. */
    SW_ASSERT(t->layer == NULL && !tmr_is_armed(&t->t_retx) && !tmr_is_armed(&t->t_state));
    if (t->req != NULL)
        sipmsg_unref(t->req);
    if (t->resp != NULL)
        sipmsg_unref(t->resp);
    if (t->ack != NULL)
        sipmsg_unref(t->ack);
    free(t->wait_buf);
    free(t->cancel_extra);
    free(t);
}

void txn_detach(struct txn *t)
{
    t->resp_fn = NULL;
    t->end_fn = NULL;
    t->arg = NULL;
}

enum txn_state txn_state(const struct txn *t)
{
    return t->state;
}

bool txn_is_server(const struct txn *t)
{
    return t->is_server;
}

const struct sipmsg *txn_request(const struct txn *t)
{
    return t->req;
}

const struct tp_flow *txn_flow(const struct txn *t)
{
    return &t->flow;
}

void *txn_arg(const struct txn *t)
{
    return t->arg;
}

/* ---- helpers ---- */

uint64_t txn_rand(struct txn_layer *l)
{
    /* xorshift64*: cheap, and seeded from getrandom per layer. */
    uint64_t x = l->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    l->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

bool txn_has_cookie(struct slice branch)
{
    /* RFC 3261 §8.1.1.7: "z9hG4bK" marks a branch made by these rules;
     * compared exactly, as §17.2.3 requires. */
    return branch.len > TXN_COOKIE_LEN && memcmp(branch.p, TXN_COOKIE, TXN_COOKIE_LEN) == 0;
}

uint64_t txn_branch_hash(struct slice branch)
{
    return htab_hash(branch.p, branch.len);
}

int txn_branch_new(struct txn_layer *l, char *out, size_t cap)
{
    if (cap < TXN_BRANCH_CAP)
        return -EMSGSIZE;
    int n = snprintf(out, cap, TXN_COOKIE TXN_MARK "%02x%016llx", l->cfg.worker_id & 0xffu,
                     (unsigned long long)txn_rand(l));
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int txn_branch_worker(struct slice branch)
{
    size_t pre = TXN_COOKIE_LEN + TXN_MARK_LEN;
    if (branch.len != pre + 2 + 16 || memcmp(branch.p, TXN_COOKIE TXN_MARK, pre) != 0)
        return -1;
    int hi = hexval(branch.p[pre]), lo = hexval(branch.p[pre + 1]);
    if (hi < 0 || lo < 0)
        return -1;
    return hi * 16 + lo;
}

struct sipmsg *txn_msg_parse(const struct txn_layer *l, const void *data, size_t len)
{
    struct sipmsg *m = sipmsg_new(data, len, &l->cfg.limits);
    if (m == NULL)
        return NULL;
    struct sip_err err;
    if (sipmsg_parse(m, &err) != SIP_PARSE_OK) {
        sipmsg_unref(m);
        errno = EINVAL;
        return NULL;
    }
    return m;
}

struct sipmsg *txn_msg_reply(struct txn_layer *l, const struct sipmsg *req,
                             const struct tp_flow *flow, unsigned code, struct slice reason,
                             const struct sipmsg_reply_opts *o)
{
    struct sipmsg_reply_opts opts = {0};
    if (o != NULL)
        opts = *o;
    uint64_t r = txn_rand(l);
    if (opts.to_tag.len == 0 && opts.rand == NULL) {
        opts.rand = (const uint8_t *)&r;
        opts.rand_len = sizeof(r);
    }
    char ip[TP_ADDR_STRLEN];
    if (flow != NULL && opts.src_ip.len == 0 && flow->remote.len != 0) {
        opts.src_ip = slice_cstr(tp_addr_ip_str(&flow->remote, ip, sizeof(ip)));
        opts.src_port = tp_addr_port(&flow->remote);
    }
    buf_clear(&l->scratch);
    if (sipmsg_reply_build(&l->scratch, req, code, reason, &opts) != 0)
        return NULL;
    return txn_msg_parse(l, l->scratch.p, l->scratch.len);
}
