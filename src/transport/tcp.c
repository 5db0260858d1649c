/* SPDX-License-Identifier: BSD-2-Clause */
/* TCP: SO_REUSEPORT listening socket per worker, connection limits,
 * stream framing (RFC 3261 §18.3), keep-alives (RFC 5626 §3.5.1), bounded
 * output queues, outbound connection reuse and cross-worker sends. */
#include "transport/tp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "transport/tp_int.h"

/*
 * One TCP connection. Owner: its worker, through conns_by_id (the entry
 * in conns_by_addr is the same object, borrowed). Thread: the owning
 * worker only; other workers reach it by conn_id through a job.
 * Closing (conn_close) releases the fd, timers, table entries and limits
 * at once but keeps the struct on the worker's dead list until the
 * before-sleep hook, so a callback that closes the connection under a
 * caller higher up the stack (recv_fn -> tp_send -> write error) leaves
 * that caller a valid struct whose fd is -1.
 */
struct tp_conn {
    struct htab_node id_node;
    struct htab_node addr_node;
    struct tp_worker *w;       /* borrowed */
    struct tp_conn *next_dead; /* dead list link */
    int fd;                    /* owned; -1 once closed */
    bool connecting;
    bool src_counted; /* holds a per-source slot (inbound) */
    uint32_t events;  /* current epoll mask */
    struct tp_flow flow;
    struct buf in;    /* owned; bounded by max_msg_size + TP_TCP_SLACK */
    struct buf out;   /* owned; bounded by tcp_max_outq */
    struct tmr timer; /* connect timeout, then idle timeout */
    uint64_t last_ms; /* last read or write progress */
};

/* A send for a connection owned by another worker. Owner: the job (data
 * copied in), freed on the target after the send, or at shutdown. */
struct tp_send_job {
    struct ev_job job;
    struct tp_worker *target; /* borrowed */
    struct tp_flow flow;
    bool has_fallback;
    struct tp_addr fallback;
    size_t len;
    char data[];
};

static void conn_io_cb(int fd, uint32_t events, void *arg);
static void conn_timer_cb(struct tmr *t, void *arg);

/* ---- limits ---- */

static bool open_acquire(struct tp *tp)
{
    unsigned prev = atomic_fetch_add(&tp->tcp_open, 1);
    if (prev >= tp->cfg.tcp_max_conns) {
        atomic_fetch_sub(&tp->tcp_open, 1);
        return false;
    }
    return true;
}

static void open_release(struct tp *tp)
{
    atomic_fetch_sub(&tp->tcp_open, 1);
}

static bool src_eq(const struct htab_node *node, const void *key)
{
    const struct tp_src_ent *e = SW_CONTAINER_OF(node, struct tp_src_ent, node);
    return tp_addr_ip_eq(&e->ip, key);
}

/* The per-source table is shared by all workers, so it has a mutex; it is
 * taken on accept and close only, never per message. */
static bool src_acquire(struct tp *tp, const struct tp_addr *remote)
{
    struct tp_addr ip = *remote;
    struct htab_node *n;
    struct tp_src_ent *e;
    bool ok = false;
    uint64_t h;

    tp_addr_set_port(&ip, 0);
    h = tp_addr_hash(&ip);
    pthread_mutex_lock(&tp->src_lock);
    n = htab_find(tp->src_table, h, src_eq, &ip);
    if (n != NULL) {
        e = SW_CONTAINER_OF(n, struct tp_src_ent, node);
    } else {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            goto out;
        e->ip = ip;
        (void)htab_insert(tp->src_table, &e->node, h); /* inserted even if a grow failed */
    }
    if (e->count < tp->cfg.tcp_max_per_source) {
        e->count++;
        ok = true;
    } else if (e->count == 0) {
        htab_remove(tp->src_table, &e->node);
        free(e);
    }
out:
    pthread_mutex_unlock(&tp->src_lock);
    return ok;
}

static void src_release(struct tp *tp, const struct tp_addr *remote)
{
    struct tp_addr ip = *remote;
    struct htab_node *n;

    tp_addr_set_port(&ip, 0);
    pthread_mutex_lock(&tp->src_lock);
    n = htab_find(tp->src_table, tp_addr_hash(&ip), src_eq, &ip);
    if (n != NULL) {
        struct tp_src_ent *e = SW_CONTAINER_OF(n, struct tp_src_ent, node);
        if (--e->count == 0) {
            htab_remove(tp->src_table, &e->node);
            free(e);
        }
    }
    pthread_mutex_unlock(&tp->src_lock);
}

/* ---- connection tables ---- */

static bool id_eq(const struct htab_node *node, const void *key)
{
    const struct tp_conn *c = SW_CONTAINER_OF(node, struct tp_conn, id_node);
    return c->flow.conn_id == *(const uint64_t *)key;
}

static bool addr_eq(const struct htab_node *node, const void *key)
{
    const struct tp_conn *c = SW_CONTAINER_OF(node, struct tp_conn, addr_node);
    return tp_addr_eq(&c->flow.remote, key);
}

static uint64_t id_hash(uint64_t id)
{
    return htab_hash(&id, sizeof(id));
}

static struct tp_conn *conn_find_id(struct tp_worker *w, uint64_t id)
{
    struct htab_node *n = htab_find(w->conns_by_id, id_hash(id), id_eq, &id);
    return n ? SW_CONTAINER_OF(n, struct tp_conn, id_node) : NULL;
}

static struct tp_conn *conn_find_addr(struct tp_worker *w, const struct tp_addr *a)
{
    struct htab_node *n = htab_find(w->conns_by_addr, tp_addr_hash(a), addr_eq, a);
    return n ? SW_CONTAINER_OF(n, struct tp_conn, addr_node) : NULL;
}

/* ---- life cycle ---- */

static void conn_set_events(struct tp_conn *c)
{
    uint32_t want = c->connecting ? EPOLLOUT : EPOLLIN | (c->out.len ? EPOLLOUT : 0);

    if (want != c->events && ev_io_mod(c->w->loop, c->fd, want) == 0)
        c->events = want;
}

/* Takes over fd. On failure fd is closed and the limits the caller took
 * are released by the caller. */
static struct tp_conn *conn_new(struct tp_worker *w, int fd, unsigned listener,
                                const struct tp_addr *remote, bool connecting)
{
    struct tp *tp = w->tp;
    struct tp_conn *c = calloc(1, sizeof(*c));
    socklen_t llen;
    int one = 1;

    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->w = w;
    c->fd = fd;
    c->connecting = connecting;
    tp_flow_init(&c->flow, tp, TP_TCP, listener);
    c->flow.remote = *remote;
    c->flow.conn_id = ((uint64_t)w->id << TP_CONN_WORKER_SHIFT) |
                      (++w->next_conn_seq & ((UINT64_C(1) << TP_CONN_WORKER_SHIFT) - 1));
    llen = sizeof(c->flow.local.u);
    if (!connecting && getsockname(fd, &c->flow.local.u.sa, &llen) == 0)
        c->flow.local.len = llen;
    /* Whole messages are written at once; Nagle would only delay them. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    buf_init(&c->in, tp->cfg.limits.max_msg_size + TP_TCP_SLACK);
    buf_init(&c->out, tp->cfg.tcp_max_outq);
    c->events = connecting ? EPOLLOUT : EPOLLIN;
    if (ev_io_add(w->loop, fd, c->events, conn_io_cb, c) < 0) {
        close(fd);
        free(c);
        return NULL;
    }
    (void)htab_insert(w->conns_by_id, &c->id_node, id_hash(c->flow.conn_id));
    (void)htab_insert(w->conns_by_addr, &c->addr_node, tp_addr_hash(remote));
    c->last_ms = ev_now_ms(w->loop);
    tmr_init(&c->timer, conn_timer_cb, c);
    if (connecting)
        tmr_start(ev_timers(w->loop), &c->timer, tp->cfg.tcp_connect_timeout_ms);
    else if (tp->cfg.tcp_idle_timeout_ms)
        tmr_start(ev_timers(w->loop), &c->timer, tp->cfg.tcp_idle_timeout_ms);
    return c;
}

/* err < 0 with report: the upper layer learns that queued data was lost. */
static void conn_close(struct tp_conn *c, int err, bool report)
{
    struct tp_worker *w = c->w;
    struct tp *tp = w->tp;
    bool lost = c->out.len > 0;
    struct tp_flow flow = c->flow;

    if (c->fd < 0)
        return;
    ev_io_del(w->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    tmr_stop(&c->timer);
    htab_remove(w->conns_by_id, &c->id_node);
    htab_remove(w->conns_by_addr, &c->addr_node);
    if (c->src_counted)
        src_release(tp, &c->flow.remote);
    open_release(tp);
    buf_fini(&c->in);
    buf_fini(&c->out);
    c->next_dead = w->dead;
    w->dead = c;
    metric_inc(tp->m.tcp_closed);
    if (report && lost && !w->stopping && tp->h.error != NULL)
        tp->h.error(w, &flow, err, tp->arg);
}

void tcp_reap(struct tp_worker *w)
{
    while (w->dead != NULL) {
        struct tp_conn *c = w->dead;
        w->dead = c->next_dead;
        free(c);
    }
}

/* ---- writing ---- */

/* Writes what the socket takes now. 0, or -errno on a hard error (the
 * caller closes). */
static int conn_flush(struct tp_conn *c)
{
    size_t done = 0;

    while (done < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + done, c->out.len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return n < 0 ? -errno : -EPIPE;
    }
    if (done > 0) {
        buf_consume(&c->out, done);
        c->last_ms = ev_now_ms(c->w->loop);
    }
    conn_set_events(c);
    return 0;
}

static int conn_send(struct tp_conn *c, const void *data, size_t len)
{
    struct tp *tp = c->w->tp;
    bool was_empty = c->out.len == 0;
    int rc;

    if (buf_append(&c->out, data, len) < 0) {
        metric_inc(tp->m.drop_outq);
        return -ENOBUFS;
    }
    metric_inc(tp->m.tx_msgs[TP_TCP]);
    metric_add(tp->m.tx_bytes[TP_TCP], len);
    if (c->connecting || !was_empty)
        return 0; /* EPOLLOUT is already armed */
    rc = conn_flush(c);
    if (rc < 0) {
        /* Only this message was queued: report it here, not via error(). */
        metric_inc(tp->m.drop_send_error);
        buf_clear(&c->out);
        conn_close(c, rc, false);
    }
    return rc;
}

static void conn_connected(struct tp_conn *c)
{
    struct tp *tp = c->w->tp;
    int soerr = 0;
    socklen_t slen = sizeof(soerr);
    char as[TP_ADDR_STRLEN];

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
        soerr = errno;
    if (soerr != 0) {
        metric_inc(tp->m.tcp_connect_failed);
        LOG_RL(LOG_LVL_NOTICE, TP_MOD, "tcp: connect to %s failed: %s",
               tp_addr_str(&c->flow.remote, as, sizeof(as)), strerror(soerr));
        conn_close(c, -soerr, true);
        return;
    }
    slen = sizeof(c->flow.local.u);
    if (getsockname(c->fd, &c->flow.local.u.sa, &slen) == 0)
        c->flow.local.len = slen;
    c->connecting = false;
    metric_inc(tp->m.tcp_connected);
    c->last_ms = ev_now_ms(c->w->loop);
    tmr_stop(&c->timer);
    if (tp->cfg.tcp_idle_timeout_ms)
        tmr_start(ev_timers(c->w->loop), &c->timer, tp->cfg.tcp_idle_timeout_ms);
    int rc = conn_flush(c);
    if (rc < 0)
        conn_close(c, rc, true);
}

static int conn_connect(struct tp_worker *w, unsigned listener, const struct tp_addr *dst,
                        struct tp_conn **out)
{
    struct tp *tp = w->tp;
    int fam = tp_addr_family(dst);
    struct tp_conn *c;
    int fd, rc;

    if (fam != AF_INET && fam != AF_INET6)
        return -EAFNOSUPPORT;
    if (listener >= tp->nlisteners || tp->listeners[listener].proto != TP_TCP ||
        tp_addr_family(&tp->listeners[listener].addr) != fam) {
        int l = tp_listener_find(tp, TP_TCP, fam);
        listener = l >= 0 ? (unsigned)l : listener;
    }
    if (!open_acquire(tp)) {
        metric_inc(tp->m.tcp_refused_max);
        return -EMFILE;
    }
    fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        open_release(tp);
        return rc;
    }
    rc = connect(fd, &dst->u.sa, dst->len);
    if (rc < 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        open_release(tp);
        metric_inc(tp->m.tcp_connect_failed);
        return rc;
    }
    c = conn_new(w, fd, listener, dst, rc < 0);
    if (c == NULL) {
        open_release(tp);
        metric_inc(tp->m.drop_nomem);
        return -ENOMEM;
    }
    if (rc == 0)
        metric_inc(tp->m.tcp_connected);
    *out = c;
    return 0;
}

/* ---- reading ---- */

static bool is_crlf(char ch)
{
    return ch == '\r' || ch == '\n';
}

/* Leading CR/LF: RFC 5626 §3.5.1 "\r\n\r\n" ping gets a "\r\n" pong; a
 * single CRLF is a keep-alive. Returns bytes consumed; stops early when
 * what is left might still become a ping. */
static size_t conn_keepalives(struct tp_conn *c)
{
    struct tp *tp = c->w->tp;
    const char *p = c->in.p;
    size_t len = c->in.len, i = 0;

    while (i < len && is_crlf(p[i])) {
        size_t rest = len - i;
        if (rest >= 4 && memcmp(p + i, "\r\n\r\n", 4) == 0) {
            metric_inc(tp->m.tcp_pings);
            i += 4;
            if (buf_append(&c->out, "\r\n", 2) == 0 && c->out.len == 2 && !c->connecting &&
                conn_flush(c) < 0) {
                conn_close(c, -EPIPE, true);
                return i;
            }
            continue;
        }
        if (rest < 4 && (rest < 2 || is_crlf(p[i + 1])) && (rest < 3 || is_crlf(p[i + 2])))
            break; /* maybe the start of a ping */
        if (rest >= 2 && p[i] == '\r' && p[i + 1] == '\n') {
            metric_inc(tp->m.keepalives[TP_TCP]);
            i += 2;
        } else {
            i++; /* stray CR or LF between messages */
        }
    }
    return i;
}

/* Frames and delivers every complete message in c->in. -1 if c closed. */
static int conn_process(struct tp_conn *c)
{
    struct tp_worker *w = c->w;
    struct tp *tp = w->tp;
    char as[TP_ADDR_STRLEN];

    for (;;) {
        size_t skip = 0, mlen = 0;
        struct sip_err err = {NULL, 0};
        struct sipmsg *msg;
        struct tp_flow flow;
        int rc;

        size_t ka = conn_keepalives(c);
        if (c->fd < 0)
            return -1;
        buf_consume(&c->in, ka);
        if (c->in.len == 0 || is_crlf(c->in.p[0]))
            return 0;
        rc = sip_frame(c->in.p, c->in.len, tp->cfg.limits.max_msg_size, &skip, &mlen, &err);
        if (rc == SIP_PARSE_INCOMPLETE) {
            if (c->in.len < c->in.max)
                return 0;
            err.reason = "Message Too Large";
            rc = SIP_PARSE_BAD;
        }
        if (rc != SIP_PARSE_OK || skip + mlen > c->in.len) {
            metric_inc(tp->m.tcp_frame_error);
            LOG_RL(LOG_LVL_NOTICE, TP_MOD, "tcp: framing error from %s: %s; closing",
                   tp_addr_str(&c->flow.remote, as, sizeof(as)), err.reason ? err.reason : "?");
            conn_close(c, -EPROTO, true);
            return -1;
        }
        msg = sipmsg_new(c->in.p + skip, mlen, &tp->cfg.limits);
        buf_consume(&c->in, skip + mlen);
        if (msg == NULL) {
            metric_inc(errno == EMSGSIZE ? tp->m.drop_oversize[TP_TCP] : tp->m.drop_nomem);
            continue;
        }
        rc = sipmsg_parse(msg, &err);
        if (rc != SIP_PARSE_OK && !sipmsg_can_reply(msg)) {
            metric_inc(tp->m.drop_bad[TP_TCP]);
            LOG_RL(LOG_LVL_NOTICE, TP_MOD, "tcp: dropped bad message from %s: %s at %zu",
                   tp_addr_str(&c->flow.remote, as, sizeof(as)), err.reason ? err.reason : "?",
                   err.offset);
            sipmsg_unref(msg);
            continue;
        }
        metric_inc(tp->m.rx_msgs[TP_TCP]);
        flow = c->flow;
        tp_deliver(w, msg, rc, &err, &flow);
        if (c->fd < 0)
            return -1;
    }
}

static void conn_read(struct tp_conn *c)
{
    struct tp *tp = c->w->tp;

    for (int r = 0; r < TP_TCP_READ_BUDGET; r++) {
        size_t want = SW_MIN((size_t)TP_TCP_READ_CHUNK, c->in.max - c->in.len);
        ssize_t n;

        if (want == 0 || buf_reserve(&c->in, want) < 0) {
            conn_close(c, -ENOMEM, true);
            return;
        }
        n = recv(c->fd, c->in.p + c->in.len, want, MSG_DONTWAIT);
        if (n == 0) {
            conn_close(c, -ECONNRESET, true);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_close(c, -errno, true);
            return;
        }
        c->in.len += (size_t)n;
        c->last_ms = ev_now_ms(c->w->loop);
        metric_add(tp->m.rx_bytes[TP_TCP], (uint64_t)n);
        if (conn_process(c) < 0)
            return;
        if ((size_t)n < want)
            return;
    }
}

static void conn_io_cb(int fd, uint32_t events, void *arg)
{
    struct tp_conn *c = arg;

    (void)fd;
    if (c->connecting) {
        conn_connected(c);
        return;
    }
    if (events & EPOLLOUT) {
        int rc = conn_flush(c);
        if (rc < 0) {
            conn_close(c, rc, true);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(c);
}

/* Lazy idle timer: reads and writes only stamp last_ms; the timer checks
 * it on expiry and re-arms for the remainder (no re-arm per read). */
static void conn_timer_cb(struct tmr *t, void *arg)
{
    struct tp_conn *c = arg;
    struct tp *tp = c->w->tp;
    uint64_t now = ev_now_ms(c->w->loop);
    uint64_t idle = tp->cfg.tcp_idle_timeout_ms;
    char as[TP_ADDR_STRLEN];

    if (c->connecting) {
        metric_inc(tp->m.tcp_connect_failed);
        LOG_RL(LOG_LVL_NOTICE, TP_MOD, "tcp: connect to %s timed out",
               tp_addr_str(&c->flow.remote, as, sizeof(as)));
        conn_close(c, -ETIMEDOUT, true);
        return;
    }
    if (now - c->last_ms >= idle) {
        metric_inc(tp->m.tcp_idle_closed);
        conn_close(c, -ETIMEDOUT, true);
        return;
    }
    tmr_start(ev_timers(c->w->loop), t, idle - (now - c->last_ms));
}

/* ---- accepting ---- */

int tcp_listen_open(struct tp *tp, const struct tp_addr *addr, struct tp_addr *bound, char *err,
                    size_t errlen)
{
    (void)tp;
    return tp_socket_bind(SOCK_STREAM, addr, bound, 0, 0, err, errlen);
}

void tcp_accept_cb(int fd, uint32_t events, void *arg)
{
    struct tp_sock *s = arg;
    struct tp_worker *w = s->w;
    struct tp *tp = w->tp;
    char as[TP_ADDR_STRLEN];

    (void)events;
    for (int i = 0; i < TP_TCP_ACCEPT_BUDGET; i++) {
        struct tp_addr ra;
        socklen_t alen = sizeof(ra.u);
        struct tp_conn *c;
        int cfd;

        memset(&ra, 0, sizeof(ra));
        cfd = accept4(fd, &ra.u.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && w->spare_fd >= 0) {
                /* Out of descriptors: the pending connection would keep the
                 * level-triggered listener firing. Give up the spare fd to
                 * accept and close it, then take the spare back. */
                close(w->spare_fd);
                cfd = accept(fd, NULL, NULL);
                if (cfd >= 0)
                    close(cfd);
                w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                metric_inc(tp->m.tcp_refused_max);
                LOG_RL(LOG_LVL_WARN, TP_MOD, "tcp: out of file descriptors, refused a connection");
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                LOG_RL(LOG_LVL_WARN, TP_MOD, "tcp: accept: %s", strerror(errno));
            return;
        }
        ra.len = alen;
        if (!open_acquire(tp)) {
            close(cfd);
            metric_inc(tp->m.tcp_refused_max);
            LOG_RL(LOG_LVL_WARN, TP_MOD, "tcp: tcp_max_conns (%u) reached, refused %s",
                   tp->cfg.tcp_max_conns, tp_addr_str(&ra, as, sizeof(as)));
            continue;
        }
        if (!src_acquire(tp, &ra)) {
            close(cfd);
            open_release(tp);
            metric_inc(tp->m.tcp_refused_source);
            LOG_RL(LOG_LVL_WARN, TP_MOD, "tcp: tcp_max_per_source (%u) reached, refused %s",
                   tp->cfg.tcp_max_per_source, tp_addr_str(&ra, as, sizeof(as)));
            continue;
        }
        c = conn_new(w, cfd, s->listener, &ra, false);
        if (c == NULL) {
            src_release(tp, &ra);
            open_release(tp);
            metric_inc(tp->m.drop_nomem);
            continue;
        }
        c->src_counted = true;
        metric_inc(tp->m.tcp_accepted);
    }
}

int tcp_worker_init(struct tp_worker *w)
{
    struct tp *tp = w->tp;

    w->conns_by_id = htab_new(64);
    w->conns_by_addr = htab_new(64);
    if (w->conns_by_id == NULL || w->conns_by_addr == NULL)
        return -ENOMEM;
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (size_t l = 0; l < tp->nlisteners; l++) {
        struct tp_sock *s = &w->socks[l];
        int rc;
        if (tp->listeners[l].proto != TP_TCP)
            continue;
        rc = ev_io_add(w->loop, s->fd, EPOLLIN, tcp_accept_cb, s);
        if (rc < 0)
            return rc;
        s->registered = true;
    }
    return 0;
}

static void close_one(struct htab_node *node, void *arg)
{
    (void)arg;
    conn_close(SW_CONTAINER_OF(node, struct tp_conn, id_node), -ESHUTDOWN, false);
}

void tcp_worker_fini(struct tp_worker *w)
{
    if (w->conns_by_id != NULL)
        htab_foreach(w->conns_by_id, close_one, NULL);
    tcp_reap(w);
    if (w->conns_by_id != NULL)
        htab_free(w->conns_by_id);
    if (w->conns_by_addr != NULL)
        htab_free(w->conns_by_addr);
    w->conns_by_id = NULL;
    w->conns_by_addr = NULL;
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    w->spare_fd = -1;
}

/* ---- sending ---- */

static void send_job_run(struct ev_job *j)
{
    struct tp_send_job *sj = SW_CONTAINER_OF(j, struct tp_send_job, job);
    struct tp_worker *w = sj->target;
    struct tp *tp = w->tp;

    if (!w->stopping) {
        int rc = tcp_send(w, &sj->flow, sj->has_fallback ? &sj->fallback : NULL, sj->data, sj->len);
        if (rc < 0 && tp->h.error != NULL)
            tp->h.error(w, &sj->flow, rc, tp->arg);
    } else {
        w->jobs_discarded++;
    }
    free(sj);
}

static int send_handoff(struct tp_worker *w, unsigned owner, const struct tp_flow *flow,
                        const struct tp_addr *fallback, const void *data, size_t len)
{
    struct tp *tp = w->tp;
    struct tp_send_job *sj = malloc(sizeof(*sj) + len);

    if (sj == NULL) {
        metric_inc(tp->m.drop_nomem);
        return -ENOMEM;
    }
    sj->job.fn = send_job_run;
    sj->target = &tp->workers[owner];
    sj->flow = *flow;
    sj->has_fallback = fallback != NULL;
    if (fallback != NULL)
        sj->fallback = *fallback;
    sj->len = len;
    memcpy(sj->data, data, len);
    metric_inc(tp->m.send_handoffs);
    ev_post(sj->target->loop, &sj->job);
    return 0;
}

int tcp_send(struct tp_worker *w, const struct tp_flow *flow, const struct tp_addr *fallback,
             const void *data, size_t len)
{
    struct tp *tp = w->tp;
    const struct tp_addr *dst = &flow->remote;
    struct tp_conn *c;
    int rc;

    if (len > tp->cfg.tcp_max_outq) {
        metric_inc(tp->m.drop_send_error);
        return -EMSGSIZE;
    }
    if (w->conns_by_id == NULL)
        return -EINVAL; /* not a running worker */
    if (flow->conn_id != 0) {
        unsigned owner = tp_conn_worker(flow->conn_id);
        if (owner >= tp->cfg.nworkers)
            return -EINVAL;
        if (owner != w->id)
            return send_handoff(w, owner, flow, fallback, data, len);
        c = conn_find_id(w, flow->conn_id);
        if (c != NULL)
            return conn_send(c, data, len);
        if (fallback == NULL) {
            metric_inc(tp->m.drop_no_conn);
            return -ENOTCONN;
        }
        dst = fallback; /* RFC 3261 §18.2.2: the connection is gone */
    }
    c = conn_find_addr(w, dst);
    if (c == NULL) {
        rc = conn_connect(w, flow->listener, dst, &c);
        if (rc < 0) {
            metric_inc(tp->m.drop_send_error);
            return rc;
        }
    }
    return conn_send(c, data, len);
}
