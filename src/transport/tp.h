/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SIP transport: UDP and TCP listeners served by N worker threads, each
 * with its own event loop and its own socket on every listener
 * (SO_REUSEPORT), batched recvmmsg/sendmmsg, TCP stream framing, TCP
 * connection reuse and the RFC 3261 §18.2.2 response destination rules.
 *
 * Ownership across workers (the one pattern every upper layer relies on):
 * a received message is parsed on the worker whose socket got it; the
 * owner_fn hook names the worker that owns its transaction or dialog. When
 * that is another worker, the message ref and the flow are moved into a
 * job and ev_post()ed (lock-free MPSC queue + eventfd) to the owner, where
 * recv_fn runs. The job owns its sipmsg ref until recv_fn returns; jobs
 * still queued at shutdown are freed (ref dropped) without calling recv_fn.
 * Sends on a TCP connection owned by another worker are copied into a job
 * posted to that worker the same way.
 */
#ifndef SW_TRANSPORT_TP_H
#define SW_TRANSPORT_TP_H

#include "core/util.h"
#include "sip/sip_err.h"
#include "sip/sipmsg.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;

/* ---- addresses (addr.c) ---- */

/* An IPv4 or IPv6 socket address. A plain value; copy freely. */
struct tp_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
    } u;
    socklen_t len; /* 0 = unset */
};

/* "[ffff:...:ffff]:65535" plus NUL, rounded up. */
#define TP_ADDR_STRLEN 64

/* Parses a numeric "1.2.3.4", "1.2.3.4:5060", "::1", "[::1]" or
 * "[::1]:5060" (no names: resolution is not this function's job). A
 * missing port becomes default_port. -EINVAL on anything else. */
int tp_addr_parse(struct tp_addr *out, struct slice s, uint16_t default_port) warn_unused_result;
/* Builds an address from a numeric IP ("1.2.3.4", "::1" or "[::1]") and a
 * port. -EINVAL if ip is not numeric. */
int tp_addr_from_ip(struct tp_addr *out, struct slice ip, uint16_t port) warn_unused_result;
/* Writes "1.2.3.4:5060" or "[::1]:5060" (always NUL-terminated, truncated
 * to len); returns buf so it can be used in a printf argument list. */
const char *tp_addr_str(const struct tp_addr *a, char *buf, size_t len);
/* Writes the IP only, IPv6 without brackets ("::1"), as in received=. */
const char *tp_addr_ip_str(const struct tp_addr *a, char *buf, size_t len);
uint16_t tp_addr_port(const struct tp_addr *a);
void tp_addr_set_port(struct tp_addr *a, uint16_t port);
int tp_addr_family(const struct tp_addr *a);
/* Same family, IP and port. */
bool tp_addr_eq(const struct tp_addr *a, const struct tp_addr *b);
/* Same family and IP; the port is ignored. */
bool tp_addr_ip_eq(const struct tp_addr *a, const struct tp_addr *b);
/* True for 0.0.0.0 and :: . */
bool tp_addr_is_any(const struct tp_addr *a);
/* Keyed hash (htab_hash) of family, IP and port: safe for tables keyed by
 * peer addresses. */
uint64_t tp_addr_hash(const struct tp_addr *a);

/* ---- configuration ---- */

enum tp_proto { TP_UDP = 0, TP_TCP = 1 };
#define TP_PROTO_COUNT 2
const char *tp_proto_name(enum tp_proto p); /* "udp", "tcp" */

struct tp_listen {
    enum tp_proto proto;
    struct tp_addr addr; /* port 0 = ephemeral, chosen at tp_new() */
};

struct tp_config {
    const struct tp_listen *listeners; /* borrowed; copied by tp_new() */
    size_t nlisteners;
    unsigned nworkers; /* 1..TP_MAX_WORKERS */
    struct sip_limits limits;
    unsigned udp_batch;          /* datagrams per recvmmsg/sendmmsg */
    int udp_rcvbuf, udp_sndbuf;  /* SO_RCVBUF/SO_SNDBUF, 0 = kernel default */
    unsigned tcp_max_conns;      /* whole process, in and out */
    unsigned tcp_max_per_source; /* inbound connections per source IP */
    uint32_t tcp_idle_timeout_ms;
    uint32_t tcp_connect_timeout_ms;
    /* Bytes queued per connection before sends fail; raised to
     * max_msg_size if smaller. */
    size_t tcp_max_outq;
};
#define TP_MAX_WORKERS 64 /* bounded by METRIC_MAX_WORKERS */

/* Safe defaults; listeners/nlisteners left empty. */
void tp_config_defaults(struct tp_config *cfg);

/* ---- flows ---- */

/* How a message arrived, or where to send one. A plain value. */
struct tp_flow {
    enum tp_proto proto;
    unsigned listener;    /* index into the config's listeners */
    struct tp_addr local; /* listener's bound address (UDP: may be a wildcard) */
    struct tp_addr remote;
    uint64_t conn_id; /* TCP connection, 0 = none; see TP_CONN_WORKER */
};

/* A connection id carries its owning worker in the top 8 bits so any
 * worker can route a send to the owner. */
#define TP_CONN_WORKER_SHIFT 56
static inline unsigned tp_conn_worker(uint64_t conn_id)
{
    return (unsigned)(conn_id >> TP_CONN_WORKER_SHIFT);
}

/* ---- callbacks (all run on a worker thread) ---- */

struct tp;
struct tp_worker; /* one per worker thread; owner: struct tp */

/* A message for the upper layer, on the worker that owns it. msg is
 * borrowed: take sipmsg_ref() to keep it. parse_rc is SIP_PARSE_OK, or
 * SIP_PARSE_BAD with err filled when sipmsg_can_reply() says a 400 can be
 * addressed (unanswerable garbage never gets here). flow is borrowed. */
typedef void tp_recv_fn(struct tp_worker *w, struct sipmsg *msg, int parse_rc,
                        const struct sip_err *err, const struct tp_flow *flow, void *arg);
/* Names the worker (0..nworkers-1) that owns msg; called on the receiving
 * worker right after parsing. Out-of-range answers mean "this worker". */
typedef unsigned tp_owner_fn(const struct sipmsg *msg, const struct tp_flow *flow,
                             unsigned nworkers, void *arg);
/* Per-worker set-up and tear-down, on the worker's thread: init before the
 * loop starts (a failure makes tp_start() fail), fini after every loop
 * has stopped. */
typedef int tp_worker_init_fn(struct tp_worker *w, void *arg);
typedef void tp_worker_fini_fn(struct tp_worker *w, void *arg);
/* A TCP connection failed with data still queued (connect refused or timed
 * out, reset, write error): what was sent to flow->remote was lost. Runs
 * on the worker owning the connection, never from inside tp_send(); the
 * transaction layer maps it to a 503 (RFC 3261 §8.1.3.1). Synchronous
 * failures are returned by tp_send() instead. err is a negative errno. */
typedef void tp_error_fn(struct tp_worker *w, const struct tp_flow *flow, int err, void *arg);

struct tp_handlers {
    tp_recv_fn *recv;               /* required */
    tp_owner_fn *owner;             /* NULL: the receiving worker owns all */
    tp_worker_init_fn *worker_init; /* optional */
    tp_worker_fini_fn *worker_fini; /* optional */
    tp_error_fn *error;             /* optional */
};

/* ---- lifecycle (main thread) ---- */

/* Creates the transport and opens and binds every socket now, on the
 * calling thread, so bind errors surface at start-up: per UDP and per TCP
 * listener one SO_REUSEPORT socket per worker. NULL on failure with a
 * message in err. cfg and h are copied. */
struct tp *tp_new(const struct tp_config *cfg, const struct tp_handlers *h, void *arg, char *err,
                  size_t errlen);
/* Spawns the worker threads; returns once every worker_init has run.
 * -errno (nothing left running) on failure. */
int tp_start(struct tp *tp) warn_unused_result;
/* Stops every loop and joins the workers. Thread-safe, idempotent; call
 * from the main thread (e.g. after a signal), never from a worker. */
void tp_stop(struct tp *tp);
/* Stops if needed, then closes every socket and frees everything. */
void tp_free(struct tp *tp);

size_t tp_listener_count(const struct tp *tp);
/* Listener i with its actual bound address (ephemeral port resolved). */
const struct tp_listen *tp_listener(const struct tp *tp, unsigned i);
/* First listener of proto whose address family is family (AF_INET,
 * AF_INET6); -ENOENT if none. For outbound sends. */
int tp_listener_find(const struct tp *tp, enum tp_proto proto, int family) warn_unused_result;
unsigned tp_nworkers(const struct tp *tp);
/* Open TCP connections, whole process (approximate while running). */
unsigned tp_tcp_open_count(const struct tp *tp);

/* ---- workers ---- */

/* Thread-safe (immutable after tp_new()). */
struct tp_worker *tp_worker_get(struct tp *tp, unsigned i);
unsigned tp_worker_id(const struct tp_worker *w);
struct tp *tp_worker_tp(struct tp_worker *w);
/* The worker's loop: for its timers (ev_timers) or for ev_post from other
 * threads. */
struct ev_loop *tp_worker_loop(struct tp_worker *w);
/* One pointer of upper-layer state per worker (set in worker_init). */
void tp_worker_set_udata(struct tp_worker *w, void *udata);
void *tp_worker_udata(const struct tp_worker *w);

/* ---- sending (worker thread only; w is the calling worker) ---- */

/*
 * Sends one message (data is copied before return).
 * UDP: queued into the worker's sendmmsg batch on this worker's socket of
 * flow->listener, flushed when the batch fills and before the loop sleeps;
 * a full socket buffer drops the datagram (counted), never blocks.
 * TCP: flow->conn_id != 0 sends on that connection (on its owning worker,
 * through a job if that is another one); -ENOTCONN if it is known to be
 * gone. conn_id == 0 reuses this worker's connection to flow->remote or
 * opens one (non-blocking connect, data queued meanwhile).
 * Returns 0 (sent or queued), -EMSGSIZE, -ENOBUFS (output queue full),
 * -ENOTCONN, -EINVAL (bad listener), -EMFILE (connection limit), or another
 * -errno from the socket. Later failures go to tp_handlers.error.
 */
int tp_send(struct tp_worker *w, const struct tp_flow *flow, const void *data,
            size_t len) warn_unused_result;

/*
 * Sends a response to the request req that arrived on flow, choosing the
 * destination by RFC 3261 §18.2.2 and RFC 3581 §4:
 * TCP: the connection the request came on if still open, else a new one to
 * the source IP and the top Via's sent-by port (5060 by default).
 * UDP: Via maddr (numeric only for now) at the sent-by port or 5060; else
 * the source IP and, when the top Via has rport, the source port, else the
 * sent-by port or 5060. Returns as tp_send(), or -EHOSTUNREACH for a maddr
 * that is a host name.
 */
int tp_send_response(struct tp_worker *w, const struct sipmsg *req, const struct tp_flow *flow,
                     const void *data, size_t len) warn_unused_result;

/* Computes the response destination of tp_send_response() without
 * sending: *out is flow with remote (and conn_id) set. */
int tp_response_flow(struct tp_flow *out, const struct sipmsg *req,
                     const struct tp_flow *flow) warn_unused_result;

/* What the top Via of a received request needs before a response is built
 * from it (RFC 3261 §18.2.1, RFC 3581 §4). */
struct tp_via_fix {
    bool add_received;             /* sent-by host is not the source IP, or rport asked */
    bool add_rport;                /* request had a bare ";rport": fill in the port */
    uint16_t rport;                /* source port */
    char received[TP_ADDR_STRLEN]; /* source IP, IPv6 without brackets */
};
void tp_via_fix(struct tp_via_fix *out, const struct sipmsg *req, const struct tp_flow *flow);

#endif
