/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by the files of src/txn/ only; no other module includes it. */
#ifndef SW_TXN_TXN_INT_H
#define SW_TXN_TXN_INT_H

#include "txn/txn.h"

#include "core/buf.h"
#include "core/htab.h"
#include "core/metric.h"
#include "core/tmr.h"

#include <stdbool.h>
#include <stdint.h>

#define TXN_MOD "txn"
#define TXN_COOKIE "z9hG4bK"
#define TXN_COOKIE_LEN 7
/* Our branch: cookie, "sw", 2 hex digits of worker id, 16 hex random. */
#define TXN_MARK "sw"
#define TXN_MARK_LEN 2

/* Which table a live txn sits in. */
enum txn_table { TXN_TAB_NONE, TXN_TAB_SERVER, TXN_TAB_SERVER2543, TXN_TAB_CLIENT };

/*
 * One transaction. Owner: refcount (see txn.h); the layer's ref is held
 * while state != TXN_TERMINATED. Thread: the layer's worker.
 */
struct txn {
    unsigned refs;
    struct txn_layer *layer; /* borrowed; NULL once terminated */
    struct htab_node node;   /* in the table named by tab while live */
    enum txn_table tab;
    struct txn *all_prev, *all_next; /* borrowed: the layer's list of live txns */
    struct txn *err_next;            /* borrowed: transport-error batch */

    bool is_server;
    bool is_invite;
    bool is_reliable; /* flow over TCP: no retransmissions, Timers I/J/K/D = 0 */
    enum txn_state state;
    enum sip_method method; /* of the request (INVITE for an INVITE txn) */

    /* The messages, while the txn can still need them. txn_compact drops
     * all three when a UDP txn only absorbs retransmissions; what it then
     * needs is in the key and wait_* fields. */
    struct sipmsg *req;  /* ref: received (server) or our own, parsed (client) */
    struct sipmsg *resp; /* ref: server: last response sent; NULL if none */
    struct sipmsg *ack;  /* ref: client INVITE: the ACK we built for a non-2xx */
    struct tp_flow flow;

    /* Matching key (§17.1.3, §17.2.3), copied from the request into key[]
     * at creation: slices into key[], valid for the txn's life. */
    struct slice k_branch;
    struct slice k_host; /* server: sent-by host of the top Via */
    uint16_t k_port;     /* server: sent-by port, default filled in */
    struct slice k_method_name;
    /* After txn_compact: the bytes to resend (server: the final response
     * in Completed; client: the ACK for a non-2xx) and where to. */
    bool is_compact;
    char *wait_buf; /* owned; NULL if nothing to resend */
    size_t wait_len;
    struct tp_flow wait_flow; /* server: the response destination */

    struct tmr t_retx;  /* Timer A, E or G */
    struct tmr t_state; /* Timer B, D, F, H, I, J, K, L, M, or the CANCEL wait */
    uint32_t retx_ms;   /* current retransmission interval */

    /* TU handlers; all NULL after txn_detach */
    txn_resp_fn *resp_fn;
    txn_end_fn *end_fn;
    void *arg; /* borrowed */

    /* client INVITE: CANCEL (§9.1) */
    bool is_cancel_wanted; /* TU asked; sent when a provisional arrives */
    bool is_cancel_sent;
    bool is_internal;   /* our own CANCEL: responses consumed by the layer */
    char *cancel_extra; /* owned: extra header lines for the CANCEL */
    size_t cancel_extra_len;

    char key[]; /* the key bytes (same block) */
};

/* Per-worker layer. Owner: its creator; thread: one worker. */
struct txn_layer {
    struct txn_config cfg;
    struct tmr_wheel *wheel; /* borrowed */
    struct txn_io io;
    void *io_arg; /* borrowed */
    struct txn_tu tu;
    void *tu_arg; /* borrowed */

    struct htab *server;     /* owned table of server txns keyed by branch + sent-by */
    struct htab *server2543; /* owned: server txns without the magic cookie, by Call-ID */
    struct htab *client;     /* owned: client txns keyed by branch */
    struct txn *all;         /* borrowed list head of every live txn */
    size_t count;            /* live txns */
    uint64_t rng;            /* xorshift64* state */
    struct buf scratch;      /* owned: message building, reused */
};

/* Counters (txn.c). */
extern metric_id txn_m_server, txn_m_client, txn_m_retrans, txn_m_timeouts, txn_m_absorbed,
    txn_m_limit, txn_m_stray;

/* txn.c */
struct txn *txn_alloc(struct txn_layer *l, bool is_server, struct sipmsg *req,
                      const struct tp_flow *flow);
/* Drops the parsed messages of a UDP txn that only absorbs
 * retransmissions now, keeping resend[0..len) (copied; may be empty) and,
 * for a server txn, the resolved response destination. A no-op for
 * reliable transports, RFC 2543 server txns (matched on the request's
 * fields) and when the io has no response_dest. Returns false only on
 * ENOMEM (the txn then keeps its messages). */
bool txn_compact(struct txn *t, const char *resend, size_t len);
/* Inserts t in its table and the live list, taking the layer's ref. */
void txn_link(struct txn_layer *l, struct txn *t, enum txn_table tab, uint64_t hash);
/* Moves t to Terminated: timers stopped, out of tables, layer's ref
 * dropped (t may be freed on return unless the caller holds a ref). */
void txn_terminate(struct txn *t);
uint64_t txn_rand(struct txn_layer *l);
/* The sent-by port with the RFC 3261 §18.2.1 / §19.1.2 default filled in,
 * so "host" and "host:5060" match as the same sent-by. */
uint16_t txn_via_port(const struct sip_via *v);
uint64_t txn_branch_hash(struct slice branch);
bool txn_has_cookie(struct slice branch);
/* Copies data into a new parsed sipmsg; NULL with errno ENOMEM,
 * EMSGSIZE or EINVAL (does not parse). */
struct sipmsg *txn_msg_parse(const struct txn_layer *l, const void *data, size_t len);
/* Builds a response to req (our request for synthesized ones) and parses it. */
struct sipmsg *txn_msg_reply(struct txn_layer *l, const struct sipmsg *req,
                             const struct tp_flow *flow, unsigned code, struct slice reason,
                             const struct sipmsg_reply_opts *o);
/* 64*T1 (Timers B, F, H, J, L, M). */
static inline uint64_t txn_64t1(const struct txn_layer *l)
{
    return 64ull * l->cfg.t1_ms;
}

/* server.c */
void txn_server_recv(struct txn_layer *l, struct sipmsg *m, const struct tp_flow *flow);
void txn_server_transport_error(struct txn *t, int err);

/* client.c */
void txn_client_recv(struct txn_layer *l, struct sipmsg *m, const struct tp_flow *flow);
void txn_client_transport_error(struct txn *t, int err);

#endif
