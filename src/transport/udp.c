/* SPDX-License-Identifier: BSD-2-Clause */
/* UDP: one SO_REUSEPORT socket per worker and listener, batched recvmmsg
 * on receive and a per-worker sendmmsg batch on send. */
#include "transport/tp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/log.h"
#include "transport/tp_int.h"

int udp_socket_open(struct tp *tp, const struct tp_addr *addr, struct tp_addr *bound, char *err,
                    size_t errlen)
{
    return tp_socket_bind(SOCK_DGRAM, addr, bound, tp->cfg.udp_rcvbuf, tp->cfg.udp_sndbuf, err,
                          errlen);
}

int udp_worker_init(struct tp_worker *w)
{
    struct tp *tp = w->tp;
    unsigned n = tp->cfg.udp_batch;
    int rc;

    /* One extra byte per slot so a datagram over max_msg_size shows as
     * longer than the limit (MSG_TRUNC flags the rest). */
    w->rx_slot = SW_MIN(tp->cfg.limits.max_msg_size + 1, (size_t)TP_UDP_MAX_PAYLOAD + 1);
    w->rx_msgs = calloc(n, sizeof(*w->rx_msgs));
    w->rx_iov = calloc(n, sizeof(*w->rx_iov));
    w->rx_addr = calloc(n, sizeof(*w->rx_addr));
    w->rx_buf = malloc(n * w->rx_slot);
    w->tx_msgs = calloc(n, sizeof(*w->tx_msgs));
    w->tx_iov = calloc(n, sizeof(*w->tx_iov));
    w->tx_addr = calloc(n, sizeof(*w->tx_addr));
    w->tx_cap = TP_UDP_TX_BYTES;
    w->tx_buf = malloc(w->tx_cap);
    if (!w->rx_msgs || !w->rx_iov || !w->rx_addr || !w->rx_buf || !w->tx_msgs || !w->tx_iov ||
        !w->tx_addr || !w->tx_buf)
        return -ENOMEM;
    for (size_t l = 0; l < tp->nlisteners; l++) {
        struct tp_sock *s = &w->socks[l];
        if (tp->listeners[l].proto != TP_UDP)
            continue;
        rc = ev_io_add(w->loop, s->fd, EPOLLIN, udp_read_cb, s);
        if (rc < 0)
            return rc;
        s->registered = true;
    }
    return 0;
}

void udp_worker_fini(struct tp_worker *w)
{
    free(w->rx_msgs);
    free(w->rx_iov);
    free(w->rx_addr);
    free(w->rx_buf);
    free(w->tx_msgs);
    free(w->tx_iov);
    free(w->tx_addr);
    free(w->tx_buf);
    w->rx_msgs = NULL;
    w->rx_iov = NULL;
    w->rx_addr = NULL;
    w->rx_buf = NULL;
    w->tx_msgs = NULL;
    w->tx_iov = NULL;
    w->tx_addr = NULL;
    w->tx_buf = NULL;
    w->tx_count = 0;
}

static bool is_keepalive(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static void udp_rx_one(struct tp_worker *w, const struct tp_sock *s, unsigned i)
{
    struct tp *tp = w->tp;
    const struct mmsghdr *mh = &w->rx_msgs[i];
    const char *data = w->rx_iov[i].iov_base;
    size_t len = mh->msg_len;
    struct tp_flow flow;
    struct sip_err err = {NULL, 0};
    struct sipmsg *msg;
    char as[TP_ADDR_STRLEN];
    int rc;

    tp_flow_init(&flow, tp, TP_UDP, s->listener);
    memcpy(&flow.remote.u, &w->rx_addr[i], SW_MIN(mh->msg_hdr.msg_namelen, sizeof(flow.remote.u)));
    flow.remote.len = mh->msg_hdr.msg_namelen;
    metric_add(tp->m.rx_bytes[TP_UDP], len);

    /* RFC 5626 §3.5.1 / common practice: CRLF keep-alives get no answer
     * over UDP (STUN keep-alives, §4.4.1, are not supported yet). */
    if (is_keepalive(data, len)) {
        metric_inc(tp->m.keepalives[TP_UDP]);
        return;
    }
    if ((mh->msg_hdr.msg_flags & MSG_TRUNC) || len > tp->cfg.limits.max_msg_size) {
        metric_inc(tp->m.drop_oversize[TP_UDP]);
        LOG_RL(LOG_LVL_WARN, TP_MOD, "udp: dropped oversized datagram (%zu bytes) from %s", len,
               tp_addr_str(&flow.remote, as, sizeof(as)));
        return;
    }
    msg = sipmsg_new(data, len, &tp->cfg.limits);
    if (msg == NULL) {
        metric_inc(errno == EMSGSIZE ? tp->m.drop_oversize[TP_UDP] : tp->m.drop_nomem);
        return;
    }
    rc = sipmsg_parse(msg, &err);
    if (rc != SIP_PARSE_OK && !sipmsg_can_reply(msg)) {
        metric_inc(tp->m.drop_bad[TP_UDP]);
        LOG_RL(LOG_LVL_NOTICE, TP_MOD, "udp: dropped bad message from %s: %s at %zu",
               tp_addr_str(&flow.remote, as, sizeof(as)), err.reason ? err.reason : "?",
               err.offset);
        sipmsg_unref(msg);
        return;
    }
    metric_inc(tp->m.rx_msgs[TP_UDP]);
    tp_deliver(w, msg, rc, &err, &flow);
}

/* EPOLLIN, level-triggered: at most TP_UDP_RX_ROUNDS batches per wake-up
 * so one busy socket cannot starve the others; the rest is read on the
 * next iteration. */
void udp_read_cb(int fd, uint32_t events, void *arg)
{
    struct tp_sock *s = arg;
    struct tp_worker *w = s->w;
    unsigned n = w->tp->cfg.udp_batch;

    (void)events;
    for (int round = 0; round < TP_UDP_RX_ROUNDS; round++) {
        int got;
        for (unsigned i = 0; i < n; i++) {
            w->rx_iov[i].iov_base = w->rx_buf + (size_t)i * w->rx_slot;
            w->rx_iov[i].iov_len = w->rx_slot;
            memset(&w->rx_msgs[i], 0, sizeof(w->rx_msgs[i]));
            w->rx_msgs[i].msg_hdr.msg_name = &w->rx_addr[i];
            w->rx_msgs[i].msg_hdr.msg_namelen = sizeof(w->rx_addr[i]);
            w->rx_msgs[i].msg_hdr.msg_iov = &w->rx_iov[i];
            w->rx_msgs[i].msg_hdr.msg_iovlen = 1;
        }
        got = recvmmsg(fd, w->rx_msgs, n, MSG_DONTWAIT, NULL);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                LOG_RL(LOG_LVL_WARN, TP_MOD, "udp: recvmmsg: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < got; i++)
            udp_rx_one(w, s, (unsigned)i);
        if ((unsigned)got < n)
            return;
    }
}

int udp_send(struct tp_worker *w, const struct tp_flow *flow, const void *data, size_t len)
{
    struct tp *tp = w->tp;
    unsigned l = flow->listener;
    int fd;

    if (l >= tp->nlisteners || tp->listeners[l].proto != TP_UDP || w->tx_buf == NULL) {
        metric_inc(tp->m.drop_send_error);
        return -EINVAL;
    }
    if (len > TP_UDP_MAX_PAYLOAD) {
        metric_inc(tp->m.drop_send_error);
        return -EMSGSIZE;
    }
    if (tp_addr_family(&flow->remote) != tp_addr_family(&tp->listeners[l].addr)) {
        metric_inc(tp->m.drop_send_error);
        return -EAFNOSUPPORT;
    }
    fd = w->socks[l].fd;
    if (w->tx_count > 0 && (w->tx_fd != fd || w->tx_used + len > w->tx_cap))
        udp_flush(w);

    unsigned i = w->tx_count;
    char *p = w->tx_buf + w->tx_used;
    memcpy(p, data, len);
    memcpy(&w->tx_addr[i], &flow->remote.u, flow->remote.len);
    w->tx_iov[i].iov_base = p;
    w->tx_iov[i].iov_len = len;
    memset(&w->tx_msgs[i], 0, sizeof(w->tx_msgs[i]));
    w->tx_msgs[i].msg_hdr.msg_name = &w->tx_addr[i];
    w->tx_msgs[i].msg_hdr.msg_namelen = flow->remote.len;
    w->tx_msgs[i].msg_hdr.msg_iov = &w->tx_iov[i];
    w->tx_msgs[i].msg_hdr.msg_iovlen = 1;
    w->tx_used += len;
    w->tx_count++;
    w->tx_fd = fd;
    if (w->tx_count == tp->cfg.udp_batch)
        udp_flush(w);
    return 0;
}

/* Called when the batch is full and from the before-sleep hook. Never
 * blocks: a full socket buffer drops the rest of the batch (counted), as
 * UDP would lose it in the network anyway and the transaction layer
 * retransmits. */
void udp_flush(struct tp_worker *w)
{
    struct tp *tp = w->tp;
    unsigned off = 0;

    while (off < w->tx_count) {
        int n = sendmmsg(w->tx_fd, w->tx_msgs + off, w->tx_count - off, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                metric_add(tp->m.drop_send_again, w->tx_count - off);
                LOG_RL(LOG_LVL_WARN, TP_MOD, "udp: socket buffer full, dropped %u datagrams",
                       w->tx_count - off);
                break;
            }
            /* One bad destination: drop it, keep the rest. */
            metric_inc(tp->m.drop_send_error);
            LOG_RL(LOG_LVL_NOTICE, TP_MOD, "udp: sendmmsg: %s", strerror(errno));
            off++;
            continue;
        }
        for (int i = 0; i < n; i++) {
            metric_inc(tp->m.tx_msgs[TP_UDP]);
            metric_add(tp->m.tx_bytes[TP_UDP], w->tx_iov[off + (unsigned)i].iov_len);
        }
        off += (unsigned)n;
    }
    w->tx_count = 0;
    w->tx_used = 0;
}
