/* SPDX-License-Identifier: BSD-2-Clause */
/* Private to src/transport: structures shared by tp.c, udp.c and tcp.c. */
#ifndef SW_TRANSPORT_TP_INT_H
#define SW_TRANSPORT_TP_INT_H

#include "transport/tp.h"

#include "core/buf.h"
#include "core/ev.h"
#include "core/htab.h"
#include "core/metric.h"
#include "core/tmr.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define TP_MOD "transport"

/* Bytes of read buffer beyond max_msg_size, so a read can complete the
 * last message and the start of the next without a second syscall. */
#define TP_TCP_SLACK 4096
/* recvmmsg calls per wake-up per socket (fairness between sockets). */
#define TP_UDP_RX_ROUNDS 4
/* accept() calls per wake-up per listening socket. */
#define TP_TCP_ACCEPT_BUDGET 64
/* read() calls per wake-up per connection, and bytes per read. */
#define TP_TCP_READ_BUDGET 8
#define TP_TCP_READ_CHUNK 16384
/* Largest UDP payload (IPv4: 65535 - 8 - 20). */
#define TP_UDP_MAX_PAYLOAD 65507
/* Bytes of the per-worker UDP send batch buffer. */
#define TP_UDP_TX_BYTES (256u * 1024)

/* Counters; ids registered in tp_new() (start-up), bumped per worker. */
struct tp_metrics {
    metric_id rx_msgs[TP_PROTO_COUNT];
    metric_id rx_bytes[TP_PROTO_COUNT];
    metric_id tx_msgs[TP_PROTO_COUNT];
    metric_id tx_bytes[TP_PROTO_COUNT];
    metric_id keepalives[TP_PROTO_COUNT];
    metric_id drop_oversize[TP_PROTO_COUNT];
    metric_id drop_bad[TP_PROTO_COUNT];
    metric_id drop_nomem;
    metric_id drop_send_again; /* UDP socket buffer full */
    metric_id drop_send_error;
    metric_id drop_no_conn;       /* TCP send to a connection that is gone */
    metric_id drop_outq;          /* TCP output queue full */
    metric_id handoffs;           /* messages posted to another worker */
    metric_id handoffs_discarded; /* still queued at shutdown: freed unrun */
    metric_id send_handoffs;
    metric_id tcp_accepted;
    metric_id tcp_connected; /* outbound connect() completed */
    metric_id tcp_connect_failed;
    metric_id tcp_closed;
    metric_id tcp_refused_max;    /* over tcp_max_conns */
    metric_id tcp_refused_source; /* over tcp_max_per_source */
    metric_id tcp_frame_error;
    metric_id tcp_idle_closed;
    metric_id tcp_pings; /* RFC 5626 double-CRLF answered */
};

/* One socket of one listener on one worker. Owner: its worker (array). */
struct tp_sock {
    struct tp_worker *w; /* borrowed back-pointer */
    unsigned listener;
    int fd; /* owned; -1 when closed */
    bool registered;
};

struct tp_conn;

/*
 * One worker. Owner: struct tp (array); thread: its own worker thread,
 * except the fields marked otherwise. Loops are created by tp_new() so
 * other workers can ev_post() to them from the start.
 */
struct tp_worker {
    struct tp *tp; /* borrowed back-pointer */
    unsigned id;
    struct ev_loop *loop;    /* owned */
    pthread_t thread;        /* main thread only */
    bool has_thread;         /* main thread only */
    bool stopping;           /* set after the loop exits: jobs are discarded */
    uint64_t jobs_discarded; /* transport jobs freed unrun (teardown drain) */
    struct ev_job stop_job;  /* posted once by tp_stop() */
    void *udata;             /* borrowed (upper layer) */
    struct tp_sock *socks;   /* owned, [nlisteners] */

    /* UDP receive: udp_batch slots of rx_slot bytes (owned). */
    struct mmsghdr *rx_msgs;
    struct iovec *rx_iov;
    struct sockaddr_in6 *rx_addr;
    char *rx_buf;
    size_t rx_slot;

    /* UDP send batch (owned): one socket at a time; data copied into
     * tx_buf, flushed when full and before sleep. */
    struct mmsghdr *tx_msgs;
    struct iovec *tx_iov;
    struct sockaddr_in6 *tx_addr;
    char *tx_buf;
    size_t tx_cap, tx_used;
    unsigned tx_count;
    int tx_fd;

    /* TCP connections of this worker (owned through both tables; a
     * connection is in both or in neither). */
    struct htab *conns_by_id;
    struct htab *conns_by_addr;
    struct tp_conn *dead; /* closed, freed before sleep (owned list) */
    int spare_fd;         /* owned; /dev/null, given up to shed a connection on EMFILE */
    uint64_t next_conn_seq;
};

/* Per-source-IP count of inbound TCP connections, shared by all workers,
 * guarded by tp.src_lock; taken only on accept and close. */
struct tp_src_ent {
    struct htab_node node;
    struct tp_addr ip; /* port 0 */
    unsigned count;
};

/* Owner: main thread (tp_new/tp_free); immutable while workers run except
 * the fields marked. */
struct tp {
    struct tp_config cfg;
    struct tp_listen *listeners; /* owned copy, bound addresses */
    size_t nlisteners;
    struct tp_handlers h;
    void *arg;                 /* borrowed */
    struct tp_worker *workers; /* owned, [cfg.nworkers] */
    struct tp_metrics m;

    atomic_uint tcp_open; /* all workers */
    pthread_mutex_t src_lock;
    struct htab *src_table; /* guarded by src_lock; owns its entries */

    /* start/stop hand-shakes, guarded by sync */
    pthread_mutex_t sync;
    pthread_cond_t cond;
    unsigned nthreads; /* threads created; UINT32_MAX until known */
    unsigned init_done, init_failed;
    bool go, abort;
    unsigned phase[2];
    atomic_bool started, stopped;
};

/* tp.c */
/* Opens a non-blocking socket of type bound to addr (SO_REUSEPORT, v6-only
 * for IPv6); *bound is the address read back. fd or -errno (err filled). */
int tp_socket_bind(int type, const struct tp_addr *addr, struct tp_addr *bound, int rcvbuf,
                   int sndbuf, char *err, size_t errlen);
void tp_deliver(struct tp_worker *w, struct sipmsg *msg, int rc, const struct sip_err *err,
                const struct tp_flow *flow);
void tp_flow_init(struct tp_flow *f, const struct tp *tp, enum tp_proto proto, unsigned listener);

/* udp.c */
int udp_socket_open(struct tp *tp, const struct tp_addr *addr, struct tp_addr *bound, char *err,
                    size_t errlen);
int udp_worker_init(struct tp_worker *w);
void udp_worker_fini(struct tp_worker *w);
void udp_read_cb(int fd, uint32_t events, void *arg);
int udp_send(struct tp_worker *w, const struct tp_flow *flow, const void *data, size_t len);
void udp_flush(struct tp_worker *w);

/* tcp.c */
int tcp_listen_open(struct tp *tp, const struct tp_addr *addr, struct tp_addr *bound, char *err,
                    size_t errlen);
int tcp_worker_init(struct tp_worker *w);
void tcp_worker_fini(struct tp_worker *w);
void tcp_accept_cb(int fd, uint32_t events, void *arg);
int tcp_send(struct tp_worker *w, const struct tp_flow *flow, const struct tp_addr *fallback,
             const void *data, size_t len);
void tcp_reap(struct tp_worker *w);

#endif
