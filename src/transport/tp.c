/* SPDX-License-Identifier: BSD-2-Clause */
/* Transport lifecycle, worker threads, cross-worker hand-off and the
 * response destination rules. */
#include "transport/tp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "transport/tp_int.h"

/*
 * Cross-worker hand-off (see also tp.h).
 *
 * The receiving worker parses a message and asks owner_fn which worker owns
 * it. For another worker, a struct tp_rx_job takes over the receiver's
 * sipmsg ref and a copy of the flow, and is ev_post()ed to the owner's
 * loop: a lock-free MPSC push plus an eventfd wake-up, no lock on the
 * message path. The sipmsg is immutable after parsing, so passing the ref
 * is all the synchronisation needed; from then on only the owner touches
 * it. rx_job_run() on the owner calls recv_fn, then drops the job's ref and
 * frees the job.
 *
 * Shutdown: every worker leaves its loop, waits for the others (phase 0),
 * marks itself stopping and runs worker_fini, waits again (phase 1: after
 * it nobody posts), closes its sockets and connections, then runs its loop
 * once more to drain the mailbox. Jobs found then see 'stopping' and only
 * free what they own (msg ref, copied data): nothing leaks, no callback
 * runs after worker_fini.
 */

struct tp_rx_job {
    struct ev_job job;
    struct tp_worker *target; /* borrowed */
    struct sipmsg *msg;       /* ref, owned by the job */
    int rc;
    struct sip_err err;
    struct tp_flow flow;
};

static void rx_job_run(struct ev_job *j)
{
    struct tp_rx_job *rj = SW_CONTAINER_OF(j, struct tp_rx_job, job);
    struct tp_worker *w = rj->target;

    if (!w->stopping)
        w->tp->h.recv(w, rj->msg, rj->rc, &rj->err, &rj->flow, w->tp->arg);
    else {
        w->jobs_discarded++;
        metric_inc(w->tp->m.handoffs_discarded);
    }
    sipmsg_unref(rj->msg);
    free(rj);
}

/* Takes over the caller's ref on msg. */
void tp_deliver(struct tp_worker *w, struct sipmsg *msg, int rc, const struct sip_err *err,
                const struct tp_flow *flow)
{
    struct tp *tp = w->tp;
    unsigned owner = w->id;
    struct tp_rx_job *rj;
    struct sip_err none = {NULL, 0};

    if (err == NULL)
        err = &none;
    if (tp->h.owner != NULL && tp->cfg.nworkers > 1) {
        owner = tp->h.owner(msg, flow, tp->cfg.nworkers, tp->arg);
        if (owner >= tp->cfg.nworkers)
            owner = w->id;
    }
    if (owner == w->id) {
        tp->h.recv(w, msg, rc, err, flow, tp->arg);
        sipmsg_unref(msg);
        return;
    }
    rj = malloc(sizeof(*rj));
    if (rj == NULL) {
        metric_inc(tp->m.drop_nomem);
        sipmsg_unref(msg);
        return;
    }
    rj->job.fn = rx_job_run;
    rj->target = &tp->workers[owner];
    rj->msg = msg;
    rj->rc = rc;
    rj->err = *err;
    rj->flow = *flow;
    metric_inc(tp->m.handoffs);
    ev_post(rj->target->loop, &rj->job);
}

void tp_flow_init(struct tp_flow *f, const struct tp *tp, enum tp_proto proto, unsigned listener)
{
    memset(f, 0, sizeof(*f));
    f->proto = proto;
    f->listener = listener;
    if (listener < tp->nlisteners)
        f->local = tp->listeners[listener].addr;
}

/* ---- metrics ---- */

#define M2(field, base, help)                                                                      \
    do {                                                                                           \
        m->field[TP_UDP] = metric_register(base "{transport=\"udp\"}", help);                      \
        m->field[TP_TCP] = metric_register(base "{transport=\"tcp\"}", help);                      \
    } while (0)

static void metrics_register(struct tp_metrics *m)
{
    M2(rx_msgs, "sip_rx_messages_total", "SIP messages received");
    M2(rx_bytes, "sip_rx_bytes_total", "SIP bytes received");
    M2(tx_msgs, "sip_tx_messages_total", "SIP messages sent");
    M2(tx_bytes, "sip_tx_bytes_total", "SIP bytes sent");
    M2(keepalives, "sip_rx_keepalives_total", "CRLF keep-alives received");
    M2(drop_oversize, "sip_rx_dropped_oversize_total", "messages over max_msg_size dropped");
    M2(drop_bad, "sip_rx_dropped_bad_total", "unparseable messages without a reply dropped");
    m->drop_nomem = metric_register("sip_dropped_nomem_total", "messages dropped: out of memory");
    m->drop_send_again =
        metric_register("sip_tx_dropped_again_total", "UDP sends dropped: socket buffer full");
    m->drop_send_error = metric_register("sip_tx_dropped_error_total", "sends failed");
    m->drop_no_conn =
        metric_register("sip_tx_dropped_no_conn_total", "TCP sends to a closed connection");
    m->drop_outq = metric_register("sip_tx_dropped_outq_total", "TCP sends over the queue limit");
    m->handoffs = metric_register("sip_handoffs_total", "messages handed to another worker");
    m->handoffs_discarded = metric_register("sip_handoffs_discarded_total",
                                            "hand-offs still queued at shutdown, freed unrun");
    m->send_handoffs =
        metric_register("sip_send_handoffs_total", "TCP sends handed to the owning worker");
    m->tcp_accepted = metric_register("tcp_accepted_total", "TCP connections accepted");
    m->tcp_connected = metric_register("tcp_connected_total", "outbound TCP connections made");
    m->tcp_connect_failed =
        metric_register("tcp_connect_failed_total", "outbound TCP connections failed");
    m->tcp_closed = metric_register("tcp_closed_total", "TCP connections closed");
    m->tcp_refused_max =
        metric_register("tcp_refused_max_total", "TCP connections refused: tcp_max_conns");
    m->tcp_refused_source =
        metric_register("tcp_refused_source_total", "TCP connections refused: tcp_max_per_source");
    m->tcp_frame_error =
        metric_register("tcp_frame_errors_total", "TCP connections closed on framing errors");
    m->tcp_idle_closed = metric_register("tcp_idle_closed_total", "TCP connections idle-closed");
    m->tcp_pings = metric_register("tcp_pings_total", "RFC 5626 CRLFCRLF pings answered");
}

/* ---- configuration ---- */

void tp_config_defaults(struct tp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nworkers = 1;
    cfg->limits = SIP_LIMITS_DEFAULT;
    cfg->udp_batch = 32;
    cfg->tcp_max_conns = 4096;
    cfg->tcp_max_per_source = 64;
    cfg->tcp_idle_timeout_ms = 120000;
    cfg->tcp_connect_timeout_ms = 5000;
    cfg->tcp_max_outq = 1u << 20;
}

static int config_check(const struct tp_config *c, char *err, size_t errlen)
{
    if (c->nworkers == 0 || c->nworkers > TP_MAX_WORKERS)
        snprintf(err, errlen, "nworkers must be 1..%d", TP_MAX_WORKERS);
    else if (c->limits.max_msg_size < 64 || c->limits.max_msg_size > (64u << 20))
        snprintf(err, errlen, "max_msg_size must be 64..%u", 64u << 20);
    else if (c->udp_batch == 0 || c->udp_batch > 1024)
        snprintf(err, errlen, "udp_batch must be 1..1024");
    else if (c->tcp_max_conns == 0 || c->tcp_max_per_source == 0)
        snprintf(err, errlen, "tcp_max_conns and tcp_max_per_source must be > 0");
    else if (c->nlisteners > 0 && c->listeners == NULL)
        snprintf(err, errlen, "listeners missing");
    else
        return 0;
    return -EINVAL;
}

/* ---- lifecycle ---- */

/* Runs on the worker's own loop, so the stop cannot be lost even when
 * tp_stop() races with the worker entering ev_loop_run(). */
static void stop_job_run(struct ev_job *j)
{
    struct tp_worker *w = SW_CONTAINER_OF(j, struct tp_worker, stop_job);

    if (w->stopping)
        w->jobs_discarded++;
    else
        ev_loop_stop(w->loop);
}

int tp_socket_bind(int type, const struct tp_addr *addr, struct tp_addr *bound, int rcvbuf,
                   int sndbuf, char *err, size_t errlen)
{
    char as[TP_ADDR_STRLEN];
    int fam = tp_addr_family(addr);
    int one = 1;
    int fd, rc;
    struct tp_addr b;
    socklen_t blen = sizeof(b.u);

    fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "socket(%s): %s", tp_addr_str(addr, as, sizeof(as)), strerror(errno));
        return rc;
    }
    /* SO_REUSEPORT: one socket per worker on the same address, the kernel
     * spreads datagrams and connections by flow hash. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
        (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "setsockopt(%s): %s", tp_addr_str(addr, as, sizeof(as)),
                 strerror(errno));
        goto fail;
    }
    if (bind(fd, &addr->u.sa, addr->len) < 0) {
        rc = -errno;
        snprintf(err, errlen, "bind(%s): %s", tp_addr_str(addr, as, sizeof(as)), strerror(errno));
        goto fail;
    }
    if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        snprintf(err, errlen, "listen(%s): %s", tp_addr_str(addr, as, sizeof(as)), strerror(errno));
        goto fail;
    }
    memset(&b, 0, sizeof(b));
    if (getsockname(fd, &b.u.sa, &blen) < 0) {
        rc = -errno;
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        goto fail;
    }
    b.len = blen;
    *bound = b;
    return fd;
fail:
    close(fd);
    return rc;
}

/*
 * SO_REUSEPORT lets every socket of the same user bind the same address,
 * including the sockets of a second sipwarden started by mistake: both
 * would then silently share the traffic. Binding once without
 * SO_REUSEPORT first makes that case fail with EADDRINUSE, as an operator
 * expects. TCP keeps SO_REUSEADDR so a restart is not refused by
 * connections of the previous run in TIME_WAIT (a listening socket still
 * conflicts).
 */
static int probe_free(const struct tp_listen *ls, char *err, size_t errlen)
{
    char as[TP_ADDR_STRLEN];
    int one = 1;
    int type = ls->proto == TP_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int fd = socket(tp_addr_family(&ls->addr), type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* the real bind reports it */
    if (type == SOCK_STREAM)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (tp_addr_family(&ls->addr) == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    int rc = bind(fd, &ls->addr.u.sa, ls->addr.len) < 0 ? -errno : 0;
    close(fd);
    if (rc == -EADDRINUSE)
        snprintf(err, errlen, "bind(%s:%s): address already in use (another sipwarden?)",
                 tp_proto_name(ls->proto), tp_addr_str(&ls->addr, as, sizeof(as)));
    return rc == -EADDRINUSE ? rc : 0;
}

struct tp *tp_new(const struct tp_config *cfg, const struct tp_handlers *h, void *arg, char *err,
                  size_t errlen)
{
    struct tp *tp;
    char as[TP_ADDR_STRLEN];

    if (errlen)
        err[0] = '\0';
    if (config_check(cfg, err, errlen) < 0)
        return NULL;
    if (h == NULL || h->recv == NULL) {
        snprintf(err, errlen, "recv handler missing");
        return NULL;
    }
    tp = calloc(1, sizeof(*tp));
    if (tp == NULL)
        goto nomem;
    tp->cfg = *cfg;
    tp->cfg.listeners = NULL;
    /* A connection must be able to queue at least one whole message. */
    if (tp->cfg.tcp_max_outq < tp->cfg.limits.max_msg_size)
        tp->cfg.tcp_max_outq = tp->cfg.limits.max_msg_size;
    tp->h = *h;
    tp->arg = arg;
    tp->nthreads = UINT32_MAX;
    pthread_mutex_init(&tp->src_lock, NULL);
    pthread_mutex_init(&tp->sync, NULL);
    pthread_cond_init(&tp->cond, NULL);
    atomic_init(&tp->tcp_open, 0);
    atomic_init(&tp->started, false);
    atomic_init(&tp->stopped, false);
    metrics_register(&tp->m);

    tp->nlisteners = cfg->nlisteners;
    if (cfg->nlisteners) {
        tp->listeners = calloc(cfg->nlisteners, sizeof(*tp->listeners));
        if (tp->listeners == NULL)
            goto nomem;
        memcpy(tp->listeners, cfg->listeners, cfg->nlisteners * sizeof(*tp->listeners));
    }
    tp->src_table = htab_new(64);
    tp->workers = calloc(cfg->nworkers, sizeof(*tp->workers));
    if (tp->src_table == NULL || tp->workers == NULL)
        goto nomem;
    for (unsigned i = 0; i < cfg->nworkers; i++) {
        struct tp_worker *w = &tp->workers[i];
        w->tp = tp;
        w->id = i;
        w->tx_fd = -1;
        w->spare_fd = -1;
        w->loop = ev_loop_new();
        w->socks = calloc(tp->nlisteners ? tp->nlisteners : 1, sizeof(*w->socks));
        if (w->loop == NULL || w->socks == NULL)
            goto nomem;
        for (size_t l = 0; l < tp->nlisteners; l++) {
            w->socks[l].w = w;
            w->socks[l].listener = (unsigned)l;
            w->socks[l].fd = -1;
        }
    }

    /* Worker 0's socket binds the configured address; a port 0 is read
     * back and the other workers' sockets bind the same port. */
    for (size_t l = 0; l < tp->nlisteners; l++) {
        struct tp_listen *ls = &tp->listeners[l];
        if (tp_addr_family(&ls->addr) != AF_INET && tp_addr_family(&ls->addr) != AF_INET6) {
            snprintf(err, errlen, "listener %zu: no IPv4/IPv6 address", l);
            goto fail;
        }
        if (tp_addr_port(&ls->addr) != 0 && probe_free(ls, err, errlen) < 0)
            goto fail;
        for (unsigned i = 0; i < cfg->nworkers; i++) {
            struct tp_addr bound;
            int fd = ls->proto == TP_TCP ? tcp_listen_open(tp, &ls->addr, &bound, err, errlen)
                                         : udp_socket_open(tp, &ls->addr, &bound, err, errlen);
            if (fd < 0)
                goto fail;
            tp->workers[i].socks[l].fd = fd;
            ls->addr = bound;
        }
        LOG_INFO(TP_MOD, "listening on %s:%s with %u sockets", tp_proto_name(ls->proto),
                 tp_addr_str(&ls->addr, as, sizeof(as)), cfg->nworkers);
    }
    return tp;

nomem:
    snprintf(err, errlen, "out of memory");
fail:
    tp_free(tp);
    return NULL;
}

static void before_sleep(void *arg)
{
    struct tp_worker *w = arg;

    udp_flush(w);
    tcp_reap(w);
}

/* Runs on the worker thread before its loop starts. */
static int worker_setup(struct tp_worker *w)
{
    int rc = udp_worker_init(w);
    if (rc == 0)
        rc = tcp_worker_init(w);
    if (rc == 0)
        rc = ev_before_sleep_add(w->loop, before_sleep, w);
    return rc;
}

/* Runs on the worker thread after phase 1: nothing posts to w any more. */
static void worker_teardown(struct tp_worker *w)
{
    for (size_t l = 0; l < w->tp->nlisteners; l++) {
        if (w->socks[l].registered) {
            ev_io_del(w->loop, w->socks[l].fd);
            w->socks[l].registered = false;
        }
    }
    tcp_worker_fini(w);
    udp_flush(w);
    /* Drains the mailbox: queued jobs see w->stopping and free themselves.
     * The loop runs a bounded number of jobs per iteration, so iterate
     * until one runs no transport job (no producer is left after phase 1,
     * so that means empty, unless the upper layer queued more than a
     * whole iteration's budget of its own jobs: worker_fini should not).
     * Upper-layer timers may fire here too: worker_fini must stop them. */
    for (unsigned i = 0; i < 1u << 20; i++) {
        uint64_t before = w->jobs_discarded;
        (void)ev_loop_run_once(w->loop, 0);
        if (w->jobs_discarded == before)
            break;
    }
    tcp_reap(w);
    udp_worker_fini(w);
}

/* Every started thread calls this; returns when all have. */
static void phase_wait(struct tp *tp, int phase)
{
    pthread_mutex_lock(&tp->sync);
    tp->phase[phase]++;
    pthread_cond_broadcast(&tp->cond);
    while (tp->phase[phase] < tp->nthreads)
        pthread_cond_wait(&tp->cond, &tp->sync);
    pthread_mutex_unlock(&tp->sync);
}

static void *worker_main(void *p)
{
    struct tp_worker *w = p;
    struct tp *tp = w->tp;
    bool run;
    int rc;

    ev_thread_set_worker(w->id);
    rc = worker_setup(w);
    if (rc < 0)
        LOG_ERROR(TP_MOD, "worker %u: set-up failed: %s", w->id, strerror(-rc));
    bool inited = false;
    if (rc == 0 && tp->h.worker_init != NULL) {
        rc = tp->h.worker_init(w, tp->arg);
        inited = rc == 0;
    } else if (rc == 0) {
        inited = true;
    }

    pthread_mutex_lock(&tp->sync);
    tp->init_done++;
    if (rc != 0)
        tp->init_failed++;
    pthread_cond_broadcast(&tp->cond);
    while (!tp->go && !tp->abort)
        pthread_cond_wait(&tp->cond, &tp->sync);
    run = tp->go;
    pthread_mutex_unlock(&tp->sync);

    if (run) {
        rc = ev_loop_run(w->loop);
        if (rc < 0)
            LOG_ERROR(TP_MOD, "worker %u: event loop failed: %s", w->id, strerror(-rc));
    }
    phase_wait(tp, 0);
    w->stopping = true;
    if (inited && tp->h.worker_fini != NULL)
        tp->h.worker_fini(w, tp->arg);
    phase_wait(tp, 1);
    worker_teardown(w);
    return NULL;
}

int tp_start(struct tp *tp)
{
    unsigned created = 0;
    int rc = 0;

    if (atomic_exchange(&tp->started, true))
        return -EALREADY;
    for (; created < tp->cfg.nworkers; created++) {
        struct tp_worker *w = &tp->workers[created];
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e != 0) {
            rc = -e;
            break;
        }
        w->has_thread = true;
    }
    pthread_mutex_lock(&tp->sync);
    tp->nthreads = created;
    pthread_cond_broadcast(&tp->cond);
    while (rc == 0 && tp->init_done < created)
        pthread_cond_wait(&tp->cond, &tp->sync);
    if (rc == 0 && tp->init_failed > 0)
        rc = -ECANCELED;
    if (rc == 0)
        tp->go = true;
    else
        tp->abort = true;
    pthread_cond_broadcast(&tp->cond);
    pthread_mutex_unlock(&tp->sync);

    if (rc < 0) {
        LOG_ERROR(TP_MOD, "start failed: %s", strerror(-rc));
        tp_stop(tp);
    }
    return rc;
}

void tp_stop(struct tp *tp)
{
    if (!atomic_load(&tp->started) || atomic_exchange(&tp->stopped, true))
        return;
    for (unsigned i = 0; i < tp->cfg.nworkers; i++) {
        struct tp_worker *w = &tp->workers[i];
        w->stop_job.fn = stop_job_run;
        ev_post(w->loop, &w->stop_job);
        ev_loop_stop(w->loop);
    }
    for (unsigned i = 0; i < tp->cfg.nworkers; i++) {
        struct tp_worker *w = &tp->workers[i];
        if (w->has_thread) {
            pthread_join(w->thread, NULL);
            w->has_thread = false;
        }
    }
}

void tp_free(struct tp *tp)
{
    if (tp == NULL)
        return;
    tp_stop(tp);
    if (tp->workers != NULL) {
        for (unsigned i = 0; i < tp->cfg.nworkers; i++) {
            struct tp_worker *w = &tp->workers[i];
            if (w->socks != NULL)
                for (size_t l = 0; l < tp->nlisteners; l++)
                    if (w->socks[l].fd >= 0)
                        close(w->socks[l].fd);
            free(w->socks);
            if (w->loop != NULL)
                ev_loop_free(w->loop);
        }
        free(tp->workers);
    }
    if (tp->src_table != NULL)
        htab_free(tp->src_table); /* empty: every connection was closed */
    free(tp->listeners);
    pthread_cond_destroy(&tp->cond);
    pthread_mutex_destroy(&tp->sync);
    pthread_mutex_destroy(&tp->src_lock);
    free(tp);
}

/* ---- accessors ---- */

size_t tp_listener_count(const struct tp *tp)
{
    return tp->nlisteners;
}

const struct tp_listen *tp_listener(const struct tp *tp, unsigned i)
{
    return i < tp->nlisteners ? &tp->listeners[i] : NULL;
}

int tp_listener_find(const struct tp *tp, enum tp_proto proto, int family)
{
    for (size_t l = 0; l < tp->nlisteners; l++)
        if (tp->listeners[l].proto == proto && tp_addr_family(&tp->listeners[l].addr) == family)
            return (int)l;
    return -ENOENT;
}

unsigned tp_nworkers(const struct tp *tp)
{
    return tp->cfg.nworkers;
}

unsigned tp_tcp_open_count(const struct tp *tp)
{
    return atomic_load_explicit(&((struct tp *)tp)->tcp_open, memory_order_relaxed);
}

struct tp_worker *tp_worker_get(struct tp *tp, unsigned i)
{
    return i < tp->cfg.nworkers ? &tp->workers[i] : NULL;
}

unsigned tp_worker_id(const struct tp_worker *w)
{
    return w->id;
}

struct tp *tp_worker_tp(struct tp_worker *w)
{
    return w->tp;
}

struct ev_loop *tp_worker_loop(struct tp_worker *w)
{
    return w->loop;
}

void tp_worker_set_udata(struct tp_worker *w, void *udata)
{
    w->udata = udata;
}

void *tp_worker_udata(const struct tp_worker *w)
{
    return w->udata;
}

/* ---- sending ---- */

int tp_send(struct tp_worker *w, const struct tp_flow *flow, const void *data, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (flow->proto == TP_TCP)
        return tcp_send(w, flow, NULL, data, len);
    return udp_send(w, flow, data, len);
}

/* RFC 3261 §18.2.2, RFC 3581 §4. *fallback: for a reliable transport,
 * where to connect if the request's connection is gone. */
static int response_dest(struct tp_flow *out, struct tp_addr *fallback, const struct sipmsg *req,
                         const struct tp_flow *flow)
{
    const struct sip_via *v = &req->via1;
    uint16_t sent_port = req->has_via && v->has_port ? v->port : 5060;

    *out = *flow;
    *fallback = flow->remote;
    tp_addr_set_port(fallback, sent_port);
    if (!req->has_via)
        return 0;
    if (flow->proto == TP_TCP)
        return 0;
    if (v->maddr.len > 0) {
        if (tp_addr_from_ip(&out->remote, v->maddr, sent_port) < 0)
            return -EHOSTUNREACH; /* names need the resolver (later) */
        return 0;
    }
    if (!v->has_rport)
        tp_addr_set_port(&out->remote, sent_port);
    return 0;
}

int tp_response_flow(struct tp_flow *out, const struct sipmsg *req, const struct tp_flow *flow)
{
    struct tp_addr fallback;
    struct tp_flow f;
    int rc = response_dest(&f, &fallback, req, flow);

    if (rc == 0)
        *out = f;
    return rc;
}

int tp_send_response(struct tp_worker *w, const struct sipmsg *req, const struct tp_flow *flow,
                     const void *data, size_t len)
{
    struct tp_addr fallback;
    struct tp_flow f;
    int rc;

    if (len == 0)
        return -EINVAL;
    rc = response_dest(&f, &fallback, req, flow);
    if (rc < 0) {
        metric_inc(w->tp->m.drop_send_error);
        return rc;
    }
    if (f.proto == TP_TCP)
        return tcp_send(w, &f, &fallback, data, len);
    return udp_send(w, &f, data, len);
}

void tp_via_fix(struct tp_via_fix *out, const struct sipmsg *req, const struct tp_flow *flow)
{
    const struct sip_via *v = &req->via1;
    struct tp_addr host;

    memset(out, 0, sizeof(*out));
    out->rport = tp_addr_port(&flow->remote);
    tp_addr_ip_str(&flow->remote, out->received, sizeof(out->received));
    if (!req->has_via)
        return;
    /* §18.2.1: a host name, or an IP other than the source. */
    if (tp_addr_from_ip(&host, v->host, 0) < 0 || !tp_addr_ip_eq(&host, &flow->remote))
        out->add_received = true;
    /* RFC 3581 §4: with rport, received is added even when equal. */
    if (v->has_rport) {
        out->add_received = true;
        out->add_rport = v->rport.len == 0;
    }
}
