/* SPDX-License-Identifier: BSD-2-Clause */
/* The first transaction user: OPTIONS to ourselves, well-formed rejections. */
#include "server.h"

#include "core/ev.h"
#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"
#include "sip/build.h"
#include "sip/sipmsg.h"
#include "transport/tp.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MOD "server"

/* Methods the parser knows and that later issues route (proxy, registrar,
 * B2BUA). A request for one of them that nothing serves yet gets 404: the
 * method is understood, there is just no route for it. Other methods get
 * 501 with this Allow (RFC 3261 §8.2.1). */
static const char ALLOW[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, PRACK, UPDATE, SUBSCRIBE, "
    "NOTIFY, REFER, MESSAGE";

/*
 * Reloadable settings, immutable once built. Owner: refcount; each worker
 * holds one ref on the snapshot it uses, swapped on the worker's own
 * thread by a posted job, so no lock and no hazard on the message path.
 */
struct srv_snap {
    _Atomic unsigned refs;
    char *name;     /* owned */
    char **domains; /* owned array of owned strings */
    size_t ndomains;
};

/* Per-worker state. Owner: struct server; touched only by its worker. */
struct srv_worker {
    struct server *srv;    /* borrowed back-pointer */
    struct srv_snap *snap; /* ref */
    uint64_t rng;          /* xorshift state for To tags */
    struct buf out;        /* reply scratch, reused */
};

/* A snapshot on its way to one worker. Owner: the job until it runs. */
struct snap_job {
    struct ev_job job;
    struct srv_worker *sw;  /* borrowed */
    struct srv_snap *snap;  /* ref, handed to the worker */
};

/* Owner: main (server_new/server_free); read-only after start. */
struct server {
    struct tp *tp;              /* owned */
    struct srv_worker *workers; /* owned array, nworkers */
    unsigned nworkers;
    struct tp_listen *listen; /* owned copy of the bound listeners */
    size_t nlisten;
};

static metric_id m_req, m_resp_stray, m_resp_own, m_400, m_reply_fail, m_by_class[7];

static void metrics_register(void)
{
    m_req = metric_register("sip_server_requests_total", "requests handled by the server TU");
    m_resp_stray = metric_register("sip_server_responses_dropped_total{reason=\"stray\"}",
                                   "responses whose top Via is not ours");
    m_resp_own = metric_register("sip_server_responses_dropped_total{reason=\"no_txn\"}",
                                 "responses to our own Via without a transaction");
    m_400 = metric_register("sip_server_bad_requests_total", "malformed requests answered with 400");
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
    free(s->domains);
    free(s->name);
    free(s);
}

static struct srv_snap *snap_new(const struct conf *c)
{
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

/* ---- addressing ---- */

/* Is the Request-URI host one of ours: a listener's IP (with its port, or
 * no port when the listener is on the default 5060) or a configured
 * domain (any port)? A wildcard listener accepts any IP literal. */
static bool ruri_is_local(const struct server *srv, const struct srv_snap *snap,
                          const struct uri *u)
{
    if (u->host_type == URI_HOST_NONE)
        return false;
    for (size_t i = 0; i < snap->ndomains; i++)
        if (slice_caseeq_cstr(u->host, snap->domains[i]))
            return true;
    if (u->host_type == URI_HOST_NAME)
        return false;
    uint16_t port = u->has_port ? u->port : (u->scheme == URI_SIPS ? 5061 : 5060);
    struct tp_addr a;
    if (tp_addr_from_ip(&a, u->host, port) != 0)
        return false;
    for (size_t i = 0; i < srv->nlisten; i++) {
        const struct tp_addr *l = &srv->listen[i].addr;
        if (tp_addr_port(l) != port || tp_addr_family(l) != tp_addr_family(&a))
            continue;
        if (tp_addr_is_any(l) || tp_addr_ip_eq(l, &a))
            return true;
    }
    return false;
}

/* ---- replies ---- */

static void send_reply(struct tp_worker *w, struct srv_worker *sw, const struct sipmsg *req,
                       const struct tp_flow *flow, unsigned code, const char *reason,
                       const struct slice *extra, unsigned nextra)
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
        rc = tp_send_response(w, req, flow, sw->out.p, sw->out.len);
    if (rc != 0) {
        metric_inc(m_reply_fail);
        LOG_RL(LOG_LVL_WARN, MOD, "cannot send %u reply: %s", code, strerror(-rc));
        return;
    }
    metric_inc(m_by_class[code / 100]);
}

/* RFC 3261 §8.2.2.3: a Require naming an extension we do not support gets
 * 420 with Unsupported listing it. We support no extension yet, so every
 * option tag is unsupported. Returns true when a 420 was sent. */
static bool check_require(struct tp_worker *w, struct srv_worker *sw, const struct sipmsg *m,
                          const struct tp_flow *flow)
{
    const struct sip_hdr *h = sipmsg_hdr_first(m, HDR_REQUIRE);
    if (h == NULL || m->method == SIP_ACK || m->method == SIP_CANCEL)
        return false;
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof(line), "Unsupported: ");
    for (; h != NULL; h = sipmsg_hdr_next(m, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            int k = snprintf(line + n, sizeof(line) - n, "%s" SLICE_FMT,
                             n > strlen("Unsupported: ") ? ", " : "", SLICE_ARG(item));
            if (k < 0 || (size_t)k >= sizeof(line) - n)
                break;
            n += (size_t)k;
        }
    }
    struct slice extra = slice_make(line, n);
    send_reply(w, sw, m, flow, 420, NULL, &extra, 1);
    return true;
}

static void handle_request(struct tp_worker *w, struct srv_worker *sw, const struct sipmsg *m,
                           const struct tp_flow *flow)
{
    metric_inc(m_req);
    /* RFC 3261 §17.2.1 / §13.2.2.4: an ACK is never answered. */
    if (m->method == SIP_ACK)
        return;
    /* §8.2.2.1: schemes we cannot route. */
    if (m->ruri.scheme == URI_OTHER) {
        send_reply(w, sw, m, flow, 416, NULL, NULL, 0);
        return;
    }
    if (check_require(w, sw, m, flow))
        return;
    if (m->method == SIP_CANCEL) {
        /* §9.2: no transaction can match yet. */
        send_reply(w, sw, m, flow, 481, NULL, NULL, 0);
        return;
    }
    if (m->method == SIP_METHOD_OTHER || m->method == SIP_PUBLISH) {
        struct slice allow = SLICE_LIT(ALLOW);
        send_reply(w, sw, m, flow, 501, NULL, &allow, 1);
        return;
    }
    if (m->method == SIP_OPTIONS && ruri_is_local(sw->srv, sw->snap, &m->ruri)) {
        /* §11.2: what a UA should learn from an OPTIONS answer. */
        static const struct slice caps[] = {
            SLICE_LIT(ALLOW),
            SLICE_LIT("Accept: application/sdp"),
            SLICE_LIT("Accept-Encoding: identity"),
            SLICE_LIT("Accept-Language: en"),
            SLICE_LIT("Supported: "),
        };
        send_reply(w, sw, m, flow, 200, NULL, caps, SW_ARRAY_LEN(caps));
        return;
    }
    /* In-dialog requests cannot match a dialog yet (§12.2.2). */
    if (m->to.tag.len != 0) {
        send_reply(w, sw, m, flow, 481, NULL, NULL, 0);
        return;
    }
    send_reply(w, sw, m, flow, 404, "No route", NULL, 0);
}

/* ---- transport callbacks ---- */

static void on_recv(struct tp_worker *w, struct sipmsg *m, int parse_rc, const struct sip_err *err,
                    const struct tp_flow *flow, void *arg)
{
    (void)arg;
    struct srv_worker *sw = tp_worker_udata(w);
    if (!m->is_request) {
        /* No client transactions exist yet, so every response is either
         * stray (not our Via) or late; both are dropped (§18.1.2). */
        metric_inc(m_resp_stray);
        return;
    }
    if (parse_rc != SIP_PARSE_OK) {
        /* A malformed request that can still be addressed: 400 whose
         * reason phrase names the problem (DESIGN.md input rules). ACK
         * never gets a response. */
        if (m->method == SIP_ACK)
            return;
        metric_inc(m_400);
        send_reply(w, sw, m, flow, 400, err && err->reason ? err->reason : "Bad Request", NULL, 0);
        return;
    }
    handle_request(w, sw, m, flow);
}

/* docs/architecture.md "Cross-worker hand-off": every message of a call
 * carries the same Call-ID, so H(Call-ID) names one owner for all of its
 * transactions and dialogs without any shared table. */
static unsigned on_owner(const struct sipmsg *m, const struct tp_flow *flow, unsigned nworkers,
                         void *arg)
{
    (void)flow;
    (void)arg;
    if (nworkers <= 1 || m->call_id.len == 0)
        return UINT32_MAX;
    return (unsigned)(htab_hash(m->call_id.p, m->call_id.len) % nworkers);
}

static int on_worker_init(struct tp_worker *w, void *arg)
{
    struct server *srv = arg;
    struct srv_worker *sw = &srv->workers[tp_worker_id(w)];
    sw->srv = srv;
    buf_init(&sw->out, 65535);
    if (getrandom(&sw->rng, sizeof(sw->rng), 0) != sizeof(sw->rng) || sw->rng == 0)
        sw->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)tp_worker_id(w);
    tp_worker_set_udata(w, sw);
    return 0;
}

static void on_worker_fini(struct tp_worker *w, void *arg)
{
    (void)arg;
    struct srv_worker *sw = tp_worker_udata(w);
    if (sw != NULL)
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
        metrics_done = true;
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
    srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
    struct srv_snap *snap = snap_new(conf);
    if (srv->workers == NULL || snap == NULL) {
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
        tp_free(s->tp);
    for (unsigned i = 0; s->workers != NULL && i < s->nworkers; i++)
        snap_unref(s->workers[i].snap);
    free(s->workers);
    free(s->listen);
    free(s);
}

int server_reload(struct server *s, const struct conf *next)
{
    struct srv_snap *snap = snap_new(next);
    if (snap == NULL)
        return -ENOMEM;
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
