/* SPDX-License-Identifier: BSD-2-Clause */
/* The transaction user glue: OPTIONS to ourselves, rejections, routing -> proxy. */
#include "server.h"

#include "server_int.h"

#include "app/proxy/proxy.h"
#include "app/routing/disp.h"
#include "app/routing/route.h"
#include "core/ev.h"
#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"
#include "sip/build.h"
#include "sip/sipmsg.h"
#include "transport/tp.h"
#include "txn/txn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MOD "server"

static metric_id m_req, m_resp_stray, m_resp_own, m_400, m_reply_fail, m_by_class[7];

static void metrics_register(void)
{
    m_req = metric_register("sip_server_requests_total", "requests handled by the server TU");
    m_resp_stray = metric_register("sip_server_responses_dropped_total{reason=\"stray\"}",
                                   "responses whose top Via is not ours");
    m_resp_own = metric_register("sip_server_responses_dropped_total{reason=\"no_txn\"}",
                                 "responses to our own Via without a transaction");
    m_400 =
        metric_register("sip_server_bad_requests_total", "malformed requests answered with 400");
    m_reply_fail = metric_register("sip_server_reply_failures_total",
                                   "replies that could not be built or sent");
    static const char *names[7] = {
        NULL,
        "sip_server_replies_total{class=\"1xx\"}",
        "sip_server_replies_total{class=\"2xx\"}",
        "sip_server_replies_total{class=\"3xx\"}",
        "sip_server_replies_total{class=\"4xx\"}",
        "sip_server_replies_total{class=\"5xx\"}",
        "sip_server_replies_total{class=\"6xx\"}",
    };
    for (int i = 1; i < 7; i++)
        m_by_class[i] = metric_register(names[i], "replies sent by the server TU");
}

/* ---- snapshots ---- */

static void snap_unref(struct srv_snap *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->ndomains; i++)
        free(s->domains[i]);
    for (unsigned i = 0; i < s->ntargets; i++)
        free(s->target_strs[i]);
    for (unsigned i = 0; i < s->ntables; i++)
        route_table_free(s->tables[i]);
    free(s->tables);
    free(s->target_strs);
    free(s->targets);
    free(s->domains);
    free(s->name);
    free(s);
}

/* "sip:IP:PORT;q=0.5;transport=tcp" -> the URI without ;q (a q-value is
 * ours, not the next hop's) and q in thousandths (RFC 3261 §20.10). */
static char *target_parse(const char *s, uint16_t *q)
{
    struct uri u;
    struct sip_err err;
    struct slice v;
    *q = 1000;
    char *out = strdup(s);
    if (out == NULL)
        return NULL;
    if (uri_parse(&u, slice_cstr(out), &err) != SIP_PARSE_OK || !uri_param_find(u.params, "q", &v))
        return out;
    unsigned val = 0, scale = 1000;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '.')
            continue;
        val = val * 10 + (unsigned)(v.p[i] - '0');
        if (i > 0)
            scale /= 10;
    }
    *q = (uint16_t)SW_MIN(val * scale, 1000u);
    /* drop ";q=VALUE" (conf.c checked its shape) */
    char *start = (char *)v.p - 3;
    size_t tail = strlen(v.p + v.len);
    memmove(start, v.p + v.len, tail + 1);
    return out;
}

static struct srv_snap *snap_new(const struct conf *c, struct disp *disp, unsigned nworkers,
                                 char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    struct srv_snap *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    atomic_init(&s->refs, 1);
    s->name = strdup(c->server.name ? c->server.name : "sipwarden");
    s->domains = calloc(c->server.domains.count + 1, sizeof(char *));
    if (s->name == NULL || s->domains == NULL)
        goto fail;
    for (size_t i = 0; i < c->server.domains.count; i++) {
        s->domains[i] = strdup(c->server.domains.items[i]);
        if (s->domains[i] == NULL)
            goto fail;
        s->ndomains++;
    }
    s->record_route = c->proxy.record_route;
    s->stateless = c->proxy.stateless;
    s->next =
        c->proxy.next == CONF_NEXT_FAILURE ? PROXY_NEXT_ON_FAILURE : PROXY_NEXT_ON_UNAVAILABLE;
    size_t nt = c->proxy.default_target.count;
    s->targets = calloc(nt + 1, sizeof(*s->targets));
    s->target_strs = calloc(nt + 1, sizeof(char *));
    if (s->targets == NULL || s->target_strs == NULL)
        goto fail;
    for (size_t i = 0; i < nt; i++) {
        uint16_t q;
        s->target_strs[i] = target_parse(c->proxy.default_target.items[i], &q);
        if (s->target_strs[i] == NULL)
            goto fail;
        s->targets[i].dst = slice_cstr(s->target_strs[i]);
        s->targets[i].q = q;
        s->ntargets++;
    }
    s->tables = calloc(nworkers, sizeof(*s->tables));
    if (s->tables == NULL)
        goto fail;
    for (unsigned i = 0; i < nworkers; i++) {
        s->tables[i] = route_table_new(&c->routes, &c->default_route, disp, err, errlen);
        if (s->tables[i] == NULL)
            goto fail;
        s->ntables++;
    }
    s->has_default_route = c->default_route.to.is_set || c->default_route.reply.code != 0;
    s->any_stateless = c->proxy.stateless || c->default_route.is_stateless;
    for (size_t i = 0; i < c->routes.count; i++)
        s->any_stateless |= ((const struct route_conf *)c->routes.items)[i].is_stateless;
    return s;
fail:
    snap_unref(s);
    return NULL;
}

static void snap_job_run(struct ev_job *job)
{
    struct snap_job *j = SW_CONTAINER_OF(job, struct snap_job, job);
    struct srv_snap *old = j->sw->snap;
    j->sw->snap = j->snap;
    snap_unref(old);
    free(j);
}

/* ---- replies ---- */

/* Stateless reply, only for malformed requests (no transaction can be
 * created for them). */
void srv_reply_stateless(struct srv_worker *sw, const struct sipmsg *req,
                         const struct tp_flow *flow, unsigned code, const char *reason,
                         const struct slice *extra, size_t nextra)
{
    char ip[TP_ADDR_STRLEN];
    uint64_t r = sw->rng;
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    sw->rng = r;
    struct sipmsg_reply_opts o = {
        .rand = (const uint8_t *)&r,
        .rand_len = sizeof(r),
        .src_ip = slice_cstr(tp_addr_ip_str(&flow->remote, ip, sizeof(ip))),
        .src_port = tp_addr_port(&flow->remote),
        .server = slice_cstr(sw->snap->name),
        .extra = extra,
        .extra_count = nextra,
    };
    buf_clear(&sw->out);
    int rc = sipmsg_reply_build(&sw->out, req, code, reason ? slice_cstr(reason) : SLICE_NULL, &o);
    if (rc == 0)
        rc = tp_send_response(sw->w, req, flow, sw->out.p, sw->out.len);
    if (rc != 0) {
        metric_inc(m_reply_fail);
        LOG_RL(LOG_LVL_WARN, MOD, "cannot send %u reply: %s", code, strerror(-rc));
        return;
    }
    metric_inc(m_by_class[code / 100]);
}

/* ---- transaction user (txn_tu) ---- */

static void reply_txn(struct srv_worker *sw, struct txn *st, const struct action *a)
{
    struct sipmsg_reply_opts o = {
        .server = slice_cstr(sw->snap->name),
        .extra = a->extra,
        .extra_count = a->nextra,
    };
    int rc = txn_server_reply(st, a->code, a->reason ? slice_cstr(a->reason) : SLICE_NULL, &o);
    if (rc != 0) {
        metric_inc(m_reply_fail);
        LOG_RL(LOG_LVL_WARN, MOD, "cannot send %u reply: %s", a->code, strerror(-rc));
        return;
    }
    metric_inc(m_by_class[a->code / 100]);
}

static void on_request(struct txn *st, const struct sipmsg *m, const struct tp_flow *flow,
                       void *arg)
{
    struct srv_worker *sw = arg;
    metric_inc(m_req);
    if (m->method == SIP_INVITE) /* where its CANCEL and ACK are sent (on_owner) */
        txn_index_put(sw->srv->txidx, m, tp_worker_id(sw->w), sw->srv->txidx_ttl_s);
    if (m->method == SIP_CANCEL) {
        /* §16.10: CANCEL is hop-by-hop; it matches an INVITE we proxy. */
        if (!srv_dns_cancel(sw, st, m))
            proxy_cancel(sw->px, st, m);
        return;
    }
    if (srv_edge_register(sw, st, m, flow))
        return;
    /* Authentication comes before routing, so that an unauthenticated
     * caller learns nothing (not even whether a user is registered). */
    if (!srv_edge_authorize(sw, st, m, flow))
        return;
    struct action a;
    srv_decide(sw, &a, m, flow, false);
    if (a.kind == ACT_REPLY)
        reply_txn(sw, st, &a);
    else if (a.kind == ACT_FORWARD)
        srv_forward(sw, st, m, flow, &a); /* RFC 3263 lookups first, if any */
}

/* ACKs the layer does not absorb: for a 2xx (§13.2.2.4) or after a
 * stateless forward. Never answered; forwarded statelessly by Route or
 * Request-URI, or by routing when they are addressed to us. */
static void on_ack(struct txn *st, const struct sipmsg *m, const struct tp_flow *flow, void *arg)
{
    (void)st;
    struct srv_worker *sw = arg;
    metric_inc(m_req);
    struct action a;
    memset(&a, 0, offsetof(struct action, line));
    a.d.record_route = sw->snap->record_route;
    a.d.stateless = true;
    struct slice unsup;
    if (m->ruri.scheme == URI_OTHER || proxy_prepare(sw->px, &a.prep, &unsup, m, flow) != 0)
        return;
    if (!a.prep.has_route && srv_ruri_is_local(sw->srv, sw->snap, &a.prep.ruri_parsed)) {
        srv_route(sw, &a, m, flow);
        if (a.kind != ACT_FORWARD)
            return;
    }
    if (proxy_forward_stateless(sw->px, m, flow, &a.prep, &a.d) != 0)
        LOG_RL(LOG_LVL_INFO, MOD, "cannot forward ACK");
}

static void on_stray(const struct sipmsg *m, const struct tp_flow *flow, void *arg)
{
    struct srv_worker *sw = arg;
    metric_inc(m_resp_stray);
    proxy_stray_response(sw->px, m, flow);
}

/* §16.11: a stateless configuration forwards before any transaction
 * exists. Returns true when the request was dealt with. A CANCEL whose
 * INVITE was proxied statefully (before a reload) stays stateful. */
static bool try_stateless(struct srv_worker *sw, const struct sipmsg *m, const struct tp_flow *flow)
{
    if (m->method == SIP_CANCEL && txn_server_find_cancelled(sw->l, m) != NULL)
        return false;
    struct action a;
    srv_decide(sw, &a, m, flow, true);
    if (a.kind != ACT_FORWARD || !a.d.stateless)
        return false; /* local answers and stateful routes get a transaction */
    metric_inc(m_req);
    if (proxy_forward_stateless(sw->px, m, flow, &a.prep, &a.d) != 0)
        LOG_RL(LOG_LVL_INFO, MOD, "cannot forward %s statelessly", sip_method_name(m->method));
    return true;
}

/* ---- transport callbacks ---- */

static void on_recv(struct tp_worker *w, struct sipmsg *m, int parse_rc, const struct sip_err *err,
                    const struct tp_flow *flow, void *arg)
{
    (void)arg;
    struct srv_worker *sw = tp_worker_udata(w);
    if (srv_edge_drop(sw, m, flow))
        return;
    if (parse_rc != SIP_PARSE_OK) {
        /* A malformed request that can still be addressed: 400 whose
         * reason phrase names the problem (DESIGN.md input rules). ACK
         * never gets a response; malformed responses are dropped. */
        if (!m->is_request || m->method == SIP_ACK)
            return;
        metric_inc(m_400);
        srv_reply_stateless(sw, m, flow, 400, err && err->reason ? err->reason : "Bad Request",
                            NULL, 0);
        return;
    }
    if (m->is_request && m->method != SIP_ACK && sw->snap->any_stateless &&
        try_stateless(sw, m, flow))
        return;
    if (m->is_request && srv_edge_challenge(sw, m, flow))
        return;
    txn_layer_recv(sw->l, m, flow);
}

static void on_tp_error(struct tp_worker *w, const struct tp_flow *flow, int err, void *arg)
{
    (void)arg;
    struct srv_worker *sw = tp_worker_udata(w);
    if (sw != NULL && sw->l != NULL)
        txn_layer_transport_error(sw->l, flow, err);
}

/* docs/architecture.md "Cross-worker hand-off". Only what has state on
 * another worker is handed off:
 * - a response goes to the worker of its client transaction, named in
 *   our branch (txn_branch_worker); other responses stay;
 * - a CANCEL, an ACK or an INVITE whose branch and sent-by are those of
 *   an INVITE server transaction on another worker (the process-wide
 *   txn_index, filled in on_request) goes there: a CANCEL or the ACK for
 *   a non-2xx from another source port or connection must still find it;
 *   RFC 2543 requests without the magic cookie go by H(Call-ID);
 * - anything else stays on the worker that received it: retransmissions
 *   come from the same source, so the kernel's SO_REUSEPORT hash (or the
 *   TCP connection) brings them back, and the location store is shared.
 *   Handing off by Call-ID instead cost a mailbox post, an eventfd write
 *   and a second wake-up for half of all messages with 2 workers
 *   (bench/README.md). */
static unsigned on_owner(const struct sipmsg *m, const struct tp_flow *flow, unsigned nworkers,
                         void *arg)
{
    (void)flow;
    const struct server *srv = arg;
    if (nworkers <= 1)
        return UINT32_MAX;
    if (!m->is_request) {
        int w = m->via_count != 0 ? txn_branch_worker(m->via1.branch) : -1;
        return w >= 0 && (unsigned)w < nworkers ? (unsigned)w : UINT32_MAX;
    }
    if (atomic_load_explicit(&srv->is_all_stateless, memory_order_relaxed) ||
        (m->method != SIP_INVITE && m->method != SIP_CANCEL && m->method != SIP_ACK))
        return UINT32_MAX; /* the receiving worker */
    int w = txn_index_get(srv->txidx, m);
    if (w >= 0)
        return (unsigned)w < nworkers ? (unsigned)w : UINT32_MAX;
    if (w == -1 || m->call_id.len == 0)
        return UINT32_MAX; /* no INVITE known elsewhere: a new one, or a 2xx ACK */
    return (unsigned)(htab_hash(m->call_id.p, m->call_id.len) % nworkers);
}

static bool is_local_cb(const struct uri *u, void *arg)
{
    struct srv_worker *sw = arg;
    return srv_ruri_is_local(sw->srv, sw->snap, u);
}

static int on_worker_init(struct tp_worker *w, void *arg)
{
    struct server *srv = arg;
    struct srv_worker *sw = &srv->workers[tp_worker_id(w)];
    sw->srv = srv;
    sw->w = w;
    buf_init(&sw->out, 65535);
    if (getrandom(&sw->rng, sizeof(sw->rng), 0) != sizeof(sw->rng) || sw->rng == 0)
        sw->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)tp_worker_id(w);
    struct txn_config tc = srv->txn_cfg;
    tc.worker_id = tp_worker_id(w);
    static const struct txn_tu tu = {
        .request = on_request,
        .ack = on_ack,
        .stray_response = on_stray,
        .invite_send_100 = true, /* §16.2: a stateful proxy sends 100 at once */
    };
    sw->l = txn_layer_new(&tc, ev_timers(tp_worker_loop(w)), &txn_io_tp, w, &tu, sw);
    struct proxy_config pc;
    proxy_config_defaults(&pc);
    pc.timer_c_ms = srv->timer_c_ms;
    pc.max_branches = srv->max_branches;
    pc.listeners = srv->listen;
    pc.nlisteners = srv->nlisten;
    pc.is_local = is_local_cb;
    pc.is_local_arg = sw;
    sw->px = sw->l != NULL ? proxy_new(&pc, sw->l, w) : NULL;
    tp_worker_set_udata(w, sw);
    srv_edge_worker_init(sw);
    srv_dns_worker_init(sw);
    if (sw->px != NULL && tp_worker_id(w) == 0 &&
        disp_probe_start(srv->disp, tp_worker_loop(w), srv_probe_send, sw) != 0)
        LOG_WARN(MOD, "dispatcher probes do not run");
    return sw->px != NULL ? 0 : -ENOMEM;
}

static void on_worker_fini(struct tp_worker *w, void *arg)
{
    (void)arg;
    struct srv_worker *sw = tp_worker_udata(w);
    if (sw == NULL)
        return;
    if (tp_worker_id(w) == 0)
        disp_probe_stop(sw->srv->disp);
    srv_edge_worker_fini(sw);
    srv_dns_worker_fini(sw);
    proxy_free(sw->px);
    sw->px = NULL;
    if (sw->l != NULL)
        txn_layer_free(sw->l);
    sw->l = NULL;
    buf_fini(&sw->out);
}

/* ---- lifecycle ---- */

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > TP_MAX_WORKERS ? TP_MAX_WORKERS : (unsigned)n);
}

struct server *server_new(const struct conf *conf, char *err, size_t errlen)
{
    static bool metrics_done;
    if (!metrics_done) {
        metrics_register();
        srv_edge_metrics();
        metrics_done = true;
    }
    txn_init();
    proxy_init();
    if (conf->txn.t2_ms < conf->txn.t1_ms) {
        snprintf(err, errlen, "txn.t2 (%llums) must not be below txn.t1 (%llums)",
                 (unsigned long long)conf->txn.t2_ms, (unsigned long long)conf->txn.t1_ms);
        return NULL;
    }
    struct server *srv = calloc(1, sizeof(*srv));
    struct tp_listen *ls = calloc(conf->listen.count ? conf->listen.count : 1, sizeof(*ls));
    if (srv == NULL || ls == NULL) {
        free(ls);
        free(srv);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < conf->listen.count; i++) {
        const struct conf_listen *cl = &conf->listen.items[i];
        ls[i].proto = cl->proto == CONF_PROTO_TCP ? TP_TCP : TP_UDP;
        memcpy(&ls[i].addr.u, &cl->addr, cl->addrlen);
        ls[i].addr.len = cl->addrlen;
    }
    srv->nworkers = conf->workers ? conf->workers : default_workers();
    srv_route_metrics(srv, conf->routes.count);
    /* dns: is copied whole: the workers' resolvers are created at start */
    srv->dns = conf->dns;
    srv->dns.servers.count = 0;
    srv->dns.servers.items = calloc(conf->dns.servers.count + 1, sizeof(char *));
    bool is_oom = srv->dns.servers.items == NULL;
    for (size_t i = 0; !is_oom && i < conf->dns.servers.count; i++) {
        srv->dns.servers.items[i] = strdup(conf->dns.servers.items[i]);
        is_oom = srv->dns.servers.items[i] == NULL;
        srv->dns.servers.count += !is_oom;
    }
    txn_config_defaults(&srv->txn_cfg);
    srv->txn_cfg.t1_ms = (uint32_t)conf->txn.t1_ms;
    srv->txn_cfg.t2_ms = (uint32_t)conf->txn.t2_ms;
    srv->txn_cfg.t4_ms = (uint32_t)conf->txn.t4_ms;
    srv->txn_cfg.max_txns = conf->txn.max_transactions;
    srv->txn_cfg.limits.max_msg_size = conf->limits.max_message_size;
    srv->txn_cfg.limits.max_headers = conf->limits.max_headers;
    srv->txn_cfg.limits.max_via = conf->limits.max_via;
    srv->timer_c_ms = (uint32_t)conf->proxy.timer_c_ms;
    /* an INVITE server txn lives at most Timer C (per fork round) plus
     * 64*T1 after its final response; entries are only a routing hint */
    srv->txidx_ttl_s = (srv->timer_c_ms + 64u * srv->txn_cfg.t1_ms) / 1000u + 5u;
    srv->max_branches = conf->proxy.max_branches;
    atomic_init(&srv->is_all_stateless, conf->proxy.stateless);
    /* about a quarter of all transactions are INVITE server ones */
    if (srv->nworkers > 1 &&
        (srv->txidx = txn_index_new((size_t)srv->txn_cfg.max_txns * srv->nworkers / 4)) == NULL)
        is_oom = true;
    srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
    srv->disp = disp_new(&conf->dispatchers, err, errlen);
    struct srv_snap *snap =
        srv->disp != NULL ? snap_new(conf, srv->disp, srv->nworkers, err, errlen) : NULL;
    if (srv->workers == NULL || snap == NULL || is_oom) {
        if (srv->workers == NULL || is_oom)
            snprintf(err, errlen, "out of memory");
        snap_unref(snap);
        free(ls);
        server_free(srv);
        return NULL;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        atomic_fetch_add(&snap->refs, 1);
        srv->workers[i].snap = snap;
    }
    snap_unref(snap);

    /* The store opens before any socket: a bad store path stops start-up. */
    if (srv_edge_open(srv, conf, err, errlen) != 0) {
        free(ls);
        server_free(srv);
        return NULL;
    }

    struct tp_config tc;
    tp_config_defaults(&tc);
    tc.listeners = ls;
    tc.nlisteners = conf->listen.count;
    tc.nworkers = srv->nworkers;
    tc.limits.max_msg_size = conf->limits.max_message_size;
    tc.limits.max_headers = conf->limits.max_headers;
    tc.limits.max_via = conf->limits.max_via;
    tc.udp_batch = conf->udp.batch;
    tc.udp_rcvbuf = (int)conf->udp.rcvbuf;
    tc.udp_sndbuf = (int)conf->udp.sndbuf;
    tc.tcp_max_conns = conf->tcp.max_connections;
    tc.tcp_max_per_source = conf->tcp.max_connections_per_source;
    tc.tcp_idle_timeout_ms = (uint32_t)conf->tcp.idle_timeout_ms;
    tc.tcp_connect_timeout_ms = (uint32_t)conf->tcp.connect_timeout_ms;
    static const struct tp_handlers h = {
        .recv = on_recv,
        .owner = on_owner,
        .worker_init = on_worker_init,
        .worker_fini = on_worker_fini,
        .error = on_tp_error,
    };
    srv->tp = tp_new(&tc, &h, srv, err, errlen);
    free(ls);
    if (srv->tp == NULL) {
        server_free(srv);
        return NULL;
    }
    srv->nlisten = tp_listener_count(srv->tp);
    srv->listen = calloc(srv->nlisten ? srv->nlisten : 1, sizeof(*srv->listen));
    if (srv->listen == NULL) {
        snprintf(err, errlen, "out of memory");
        server_free(srv);
        return NULL;
    }
    for (size_t i = 0; i < srv->nlisten; i++)
        srv->listen[i] = *tp_listener(srv->tp, (unsigned)i);
    return srv;
}

int server_start(struct server *s)
{
    return tp_start(s->tp);
}

void server_stop(struct server *s)
{
    if (s != NULL && s->tp != NULL)
        tp_stop(s->tp);
}

void server_free(struct server *s)
{
    if (s == NULL)
        return;
    if (s->tp != NULL)
        tp_stop(s->tp);
    srv_edge_close(s);
    if (s->tp != NULL)
        tp_free(s->tp);
    for (unsigned i = 0; s->workers != NULL && i < s->nworkers; i++)
        snap_unref(s->workers[i].snap);
    free(s->workers);
    free(s->listen);
    txn_index_free(s->txidx);
    for (size_t i = 0; s->dns.servers.items != NULL && i < s->dns.servers.count; i++)
        free(s->dns.servers.items[i]);
    free(s->dns.servers.items);
    disp_free(s->disp);
    free(s);
}

int server_reload(struct server *s, const struct conf *next)
{
    char err[256];
    struct srv_snap *snap = snap_new(next, s->disp, s->nworkers, err, sizeof(err));
    if (snap == NULL) {
        LOG_ERROR(MOD, "reload refused: %s", err);
        return -EINVAL;
    }
    if (srv_edge_reload(s, next, err, sizeof(err)) != 0)
        LOG_ERROR(MOD, "reload: users file not re-read: %s", err);
    atomic_store_explicit(&s->is_all_stateless, next->proxy.stateless, memory_order_relaxed);
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct snap_job *j = calloc(1, sizeof(*j));
        if (j == NULL)
            continue; /* that worker keeps the old snapshot */
        j->job.fn = snap_job_run;
        j->sw = &s->workers[i];
        atomic_fetch_add(&snap->refs, 1);
        j->snap = snap;
        ev_post(tp_worker_loop(tp_worker_get(s->tp, i)), &j->job);
    }
    snap_unref(snap);
    return 0;
}

size_t server_listener_count(const struct server *s)
{
    return s->nlisten;
}

const char *server_listener_str(struct server *s, unsigned i, char *buf, size_t len)
{
    char a[TP_ADDR_STRLEN];
    snprintf(buf, len, "%s://%s", tp_proto_name(s->listen[i].proto),
             tp_addr_str(&s->listen[i].addr, a, sizeof(a)));
    return buf;
}
