/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SIP transactions (RFC 3261 §17, with the RFC 6026 Accepted state):
 * client and server transactions, their retransmission and timeout timers,
 * and the matching of incoming requests and responses to them.
 *
 * One struct txn_layer per worker thread (never shared): it owns the
 * worker's transaction tables and runs on that worker's timer wheel. The
 * transport hands it every well-parsed message of the worker
 * (txn_layer_recv); the layer answers retransmissions itself and calls
 * the transaction user (TU: proxy, B2BUA, registrar) through handlers:
 *
 *   new request (not ACK)      -> txn_tu.request   with a new server txn
 *   ACK not absorbed (2xx ACK) -> txn_tu.ack
 *   response for no client txn -> txn_tu.stray_response
 *   responses of a client txn  -> the txn's txn_resp_fn (given at creation),
 *                                 including synthesized 408 (Timer B/F) and
 *                                 503 (transport error)
 *   end of a server txn        -> the txn's txn_end_fn (txn_server_bind)
 *
 * Branches we generate (txn_branch_new) are "z9hG4bK" "sw" + two lowercase
 * hex digits of the worker id + 16 lowercase hex random digits, e.g.
 * "z9hG4bKsw03" "5f1c0e9a7b2d4c68". The marker lets anything holding only a
 * response tell which worker created its client transaction
 * (txn_branch_worker), independently of the Call-ID owner rule of
 * docs/architecture.md (B2BUA legs can use it to route responses).
 *
 * Objects and ownership:
 * - struct txn_layer: owner: whoever created it (the worker's per-worker
 *   state); thread: that worker only.
 * - struct txn: refcounted. The layer holds one ref while the transaction
 *   is live (not TXN_TERMINATED); whoever keeps a pointer beyond the
 *   callback it was given in takes its own with txn_ref(). A txn holds a
 *   ref on every sipmsg it keeps (its request, its last response).
 *   Calls on a terminated txn are harmless and return -ESRCH; txn_unref()
 *   may come after txn_layer_free(). Thread: the layer's worker only.
 * - Handler args (void *arg) are borrowed: the TU must call txn_detach()
 *   on a txn it still holds before freeing what arg points to, because a
 *   client txn in Accepted still reports 2xx retransmissions for 64*T1.
 * - Every message argument is borrowed for the call only (take
 *   sipmsg_ref() to keep one); byte buffers are copied.
 */
#ifndef SW_TXN_TXN_H
#define SW_TXN_TXN_H

#include "core/util.h"
#include "sip/build.h"
#include "sip/sipmsg.h"
#include "transport/tp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tmr_wheel;
struct txn;
struct txn_layer;

/* RFC 3261 §17 states plus Accepted (RFC 6026 §8.4 client, §8.7 server). */
enum txn_state {
    TXN_CALLING,    /* INVITE client: request sent, nothing back yet */
    TXN_TRYING,     /* non-INVITE client and server: no response yet */
    TXN_PROCEEDING, /* provisional response seen / sent */
    TXN_COMPLETED,  /* non-2xx final (INVITE) or any final (non-INVITE) */
    TXN_CONFIRMED,  /* INVITE server: ACK for the non-2xx received */
    TXN_ACCEPTED,   /* INVITE: 2xx sent / received (RFC 6026) */
    TXN_TERMINATED,
};
const char *txn_state_name(enum txn_state s);

/* ---- configuration ---- */

/* Upper bound of every timer setting (T1, T2, T4, Timer D): 10 minutes. */
#define TXN_T_MAX_MS 600000u

struct txn_config {
    uint32_t t1_ms;      /* RTT estimate, RFC 3261 §17.1.1.1; default 500 */
    uint32_t t2_ms;      /* cap of non-INVITE / Timer G retransmits; default 4000 */
    uint32_t t4_ms;      /* max message lifetime (Timers I, K); default 5000 */
    uint32_t timer_d_ms; /* Timer D on UDP, at least 32 s (§17.1.1.2); default 32000 */
    /* Live transactions (server + client) per worker. A new server txn
     * over the limit is answered 503 with Retry-After statelessly (or
     * dropped when it cannot be answered); txn_client_new fails with
     * -EBUSY. CANCELs we send are exempt (one per INVITE at most). */
    uint32_t max_txns;      /* default 65536 */
    uint32_t retry_after_s; /* Retry-After of that 503; default 5 */
    unsigned worker_id;     /* 0..255, written into our branches */
    /* Bounds for the messages the layer copies and parses itself (its own
     * requests, responses the TU hands it, synthesized responses). */
    struct sip_limits limits;
};
void txn_config_defaults(struct txn_config *cfg);

/* ---- I/O: how the layer sends (a vtable so tests capture sends) ---- */

/* Sends a request (client side: the request, its retransmissions, ACK for
 * a non-2xx, CANCEL) to flow. Returns 0 or a negative errno; a failure
 * is a transport error (RFC 3261 §17.1.4). */
typedef int txn_send_fn(void *io_arg, const struct tp_flow *flow, const void *data, size_t len);
/* Sends a response to req that arrived on flow (RFC 3261 §18.2.2). */
typedef int txn_send_response_fn(void *io_arg, const struct sipmsg *req, const struct tp_flow *flow,
                                 const void *data, size_t len);
/* Where responses to req from flow go (RFC 3261 §18.2.2), resolved once:
 * a UDP server txn that only absorbs retransmissions drops its request and
 * resends with send() to this flow (see txn_request). 0 or negative errno. */
typedef int txn_response_dest_fn(void *io_arg, const struct sipmsg *req, const struct tp_flow *flow,
                                 struct tp_flow *out);
struct txn_io {
    txn_send_fn *send;
    txn_send_response_fn *send_response;
    txn_response_dest_fn *response_dest; /* NULL: server txns keep their request */
};
/* Production vtable: tp_send / tp_send_response / tp_response_flow; io_arg
 * is the worker's struct tp_worker *. */
extern const struct txn_io txn_io_tp;

/* ---- TU handlers ---- */

/* A request that created a server transaction (any method but ACK; a
 * CANCEL gets its own txn, see txn_server_find_cancelled). Retransmissions
 * never get here. st is borrowed for the call (txn_ref to keep it); req
 * and flow are borrowed. The TU answers now or later with
 * txn_server_reply / txn_server_respond. */
typedef void txn_request_fn(struct txn *st, const struct sipmsg *req, const struct tp_flow *flow,
                            void *arg);
/* An ACK the layer does not absorb: the ACK for a 2xx (RFC 3261 §13.2.2.4,
 * §17.2.1 as changed by RFC 6026 §8.7). st is the INVITE server txn in
 * Accepted it matched (borrowed), or NULL when none matched (the usual
 * case: a 2xx ACK carries a new branch). */
typedef void txn_ack_fn(struct txn *st, const struct sipmsg *ack, const struct tp_flow *flow,
                        void *arg);
/* A response that matched no client transaction (RFC 3261 §17.1.3 / §18.1.2):
 * a stray, or a 2xx retransmission after Timer M. A proxy forwards 2xx
 * statelessly (RFC 6026's update of §16.7) and drops the rest. */
typedef void txn_stray_fn(const struct sipmsg *resp, const struct tp_flow *flow, void *arg);

struct txn_tu {
    txn_request_fn *request;      /* required */
    txn_ack_fn *ack;              /* optional: unmatched ACKs are dropped */
    txn_stray_fn *stray_response; /* optional: strays are dropped */
    /* Send 100 Trying as soon as an INVITE server txn is created (RFC
     * 3261 §16.2 for a stateful proxy; §17.2.1 lets a UAS skip it when it
     * answers within 200 ms). */
    bool invite_send_100;
};

/* Per-transaction handlers (arg borrowed; see txn_detach). */
/* Client: every response for the TU, in order: provisionals, the final,
 * 2xx retransmissions in Accepted (RFC 6026 §8.4), and the synthesized
 * 408 (Timer B/F, §17.1.1.2 / §17.1.2.2; also 64*T1 after a CANCEL that
 * drew no final, §9.1) or 503 (transport error, §8.1.3.1), built from our
 * request and parsed like a received one. t and resp are borrowed. */
typedef void txn_resp_fn(struct txn *t, const struct sipmsg *resp, void *arg);
/* Server: the transaction ended without the TU asking: -ETIMEDOUT (Timer
 * H: no ACK for a non-2xx final, §17.2.1) or a negative errno for a
 * response the transport lost later (§17.2.4). Not called for a normal
 * end, nor for a synchronous send failure (returned to the caller). */
typedef void txn_end_fn(struct txn *t, int reason, void *arg);

/* ---- layer ---- */

/* Creates a layer; cfg, io and tu are copied, wheel, io_arg and tu_arg
 * are borrowed and must outlive it. Registers the txn metrics (idempotent;
 * see txn_init). NULL on ENOMEM or an invalid cfg (T1 = 0, T2 < T1, a
 * timer above TXN_T_MAX_MS, worker_id > 255). */
struct txn_layer *txn_layer_new(const struct txn_config *cfg, struct tmr_wheel *wheel,
                                const struct txn_io *io, void *io_arg, const struct txn_tu *tu,
                                void *tu_arg);
/* Terminates every live txn without callbacks (timers stopped, the
 * layer's refs dropped) and frees the layer. */
void txn_layer_free(struct txn_layer *l);
/* Registers the counters; call from the main thread before workers start
 * (txn_layer_new also does, under pthread_once). */
void txn_init(void);

/* Hands the layer a received message (parse result SIP_PARSE_OK only: a
 * malformed request gets its 400 from the TU statelessly). msg and flow
 * are borrowed. Requests: retransmissions are absorbed (§17.2.1/§17.2.2),
 * ACKs matched (§17.2.3), anything else creates a server txn for the TU.
 * Responses: matched to a client txn by branch and CSeq method (§17.1.3). */
void txn_layer_recv(struct txn_layer *l, struct sipmsg *msg, const struct tp_flow *flow);

/* A transport error reported after the send (tp_error_fn): every client
 * txn whose flow has flow's protocol and remote address (or connection id)
 * and has no final response yet terminates with a 503 to its TU
 * (§17.1.4, §8.1.3.1); server txns on it end with txn_end_fn(err). */
void txn_layer_transport_error(struct txn_layer *l, const struct tp_flow *flow, int err);

/* Live (not terminated) transactions of this layer. */
size_t txn_layer_count(const struct txn_layer *l);

/* Writes a new branch ("z9hG4bKsw<ww><16 hex>", NUL-terminated) into
 * out[0..cap); returns its length, or -EMSGSIZE if cap < TXN_BRANCH_CAP. */
#define TXN_BRANCH_CAP 32
int txn_branch_new(struct txn_layer *l, char *out, size_t cap) warn_unused_result;
/* The worker id written in a branch made by txn_branch_new, or -1. */
int txn_branch_worker(struct slice branch);

/* ---- index of INVITE server transactions across workers ---- */

/* Which worker holds the INVITE server transaction a CANCEL, an ACK for a
 * non-2xx or a retransmitted INVITE arriving on another worker belongs to
 * (they share the INVITE's branch and sent-by, §9.2, §17.1.1.3, §17.2.3).
 * Shared by all workers without a lock; bounded and lossy: an entry may
 * be overwritten by a newer one, so a miss means "not known", never
 * "does not exist". Owner: its creator (the server). */
struct txn_index;
/* Room for about `entries` live INVITEs. NULL on ENOMEM. */
struct txn_index *txn_index_new(size_t entries);
void txn_index_free(struct txn_index *x);
/* Records that worker holds the server txn of invite for ttl_s seconds. */
void txn_index_put(struct txn_index *x, const struct sipmsg *invite, unsigned worker,
                   uint32_t ttl_s);
/* The worker recorded for m's branch and sent-by, -1 when none is known,
 * -2 when m has no magic-cookie branch (RFC 2543: not indexed). */
int txn_index_get(const struct txn_index *x, const struct sipmsg *m);

/* ---- transactions (common) ---- */

struct txn *txn_ref(struct txn *t);
void txn_unref(struct txn *t);
/* Drops the txn's TU handlers: nothing is called back any more (a client
 * txn in Accepted then hands 2xx retransmissions to stray_response). */
void txn_detach(struct txn *t);
enum txn_state txn_state(const struct txn *t);
bool txn_is_server(const struct txn *t);
/* The request: the one received (server) or sent (client). Borrowed,
 * valid while t is. NULL once a UDP txn has reached a state that only
 * absorbs retransmissions (server Completed/Confirmed/Accepted, client
 * Completed/Accepted): it then keeps its matching key and the bytes it
 * may have to resend, not the parsed messages (a proxied call would
 * otherwise hold ~20 KB for the 32 s of Timers J, L and M). */
const struct sipmsg *txn_request(const struct txn *t);
/* Server: the flow the request came on; client: where it is sent. */
const struct tp_flow *txn_flow(const struct txn *t);
/* The arg bound with txn_server_bind / txn_client_new (NULL if none). */
void *txn_arg(const struct txn *t);

/* ---- server transactions (§17.2) ---- */

/* Sets the end handler and arg of a server txn. */
void txn_server_bind(struct txn *st, txn_end_fn *end, void *arg);

/* Sends a response the TU built (a proxy: the downstream response with
 * its Via popped) through st: data is copied and parsed (status line
 * and the core headers). State changes per §17.2.1/§17.2.2 and RFC 6026:
 * 1xx keeps Proceeding; 2xx to INVITE -> Accepted (Timer L); further 2xx
 * in Accepted are passed through; other finals -> Completed (Timers G/H
 * for INVITE, J otherwise). Returns 0, -EINVAL (not a response, 1xx after
 * a final, non-2xx in Accepted), -EALREADY (a final after Completed,
 * discarded as §17.2.2 says), -ESRCH (terminated), -ENOMEM, or the send
 * error (the txn is then terminated, §17.2.4; no end callback). */
int txn_server_respond(struct txn *st, const void *data, size_t len) warn_unused_result;

/* Builds a response to st's request with sipmsg_reply_build (To tag from
 * the layer's random source unless o->to_tag is set; received/rport from
 * the request's flow) and sends it as txn_server_respond does. reason may
 * be empty (the §21 phrase); o may be NULL. Once the request is dropped
 * (see txn_request) it returns what txn_server_respond would for a final
 * (-EALREADY or, in Accepted, -EINVAL: pass 2xx retransmissions with
 * txn_server_respond). */
int txn_server_reply(struct txn *st, unsigned code, struct slice reason,
                     const struct sipmsg_reply_opts *o) warn_unused_result;

/* The INVITE server txn a CANCEL request cancels (§9.2: matched as in
 * §17.2.3 but with method INVITE), or NULL. Borrowed. */
struct txn *txn_server_find_cancelled(struct txn_layer *l, const struct sipmsg *cancel);

/* ---- client transactions (§17.1) ---- */

/* Starts a client transaction for the request data[0..len) (copied and
 * parsed) towards flow (copied; conn_id 0 lets the transport pick or open
 * a connection). The top Via must carry a branch from txn_branch_new.
 * INVITE runs §17.1.1 (+RFC 6026), any other method but ACK §17.1.2.
 * On success *out holds a ref for the caller (txn_unref when done) and
 * the request has been sent. Returns 0, -EINVAL (unparseable, ACK, no
 * magic-cookie branch), -EEXIST (branch and method already in use),
 * -EBUSY (max_txns), -ENOMEM, or the synchronous send error (§8.1.3.1:
 * the caller treats it as a 503; no txn is left and resp is not called). */
int txn_client_new(struct txn **out, struct txn_layer *l, const struct tp_flow *flow,
                   const void *data, size_t len, txn_resp_fn *resp, void *arg) warn_unused_result;

/* Cancels an INVITE client txn (§9.1): builds a CANCEL from its request
 * (same Request-URI, Call-ID, From, To, CSeq number, the single top Via
 * with the same branch, the Route headers) and runs it as its own
 * non-INVITE client txn whose responses the layer consumes. It is sent at
 * once in Proceeding; in Calling it waits for a provisional response and
 * is never sent if a final one comes first. If no final response arrives
 * 64*T1 after the CANCEL went out, the INVITE txn ends with a 408 to the
 * TU (§9.1). extra: header lines to add to the CANCEL (e.g. "Reason: ...",
 * each ending in CRLF), may be empty; copied.
 * Returns 0 (sent or pending), -EALREADY (already cancelled), -EINVAL (not
 * an INVITE client txn, or final response already received: nothing to
 * cancel), -ESRCH, -ENOMEM. */
int txn_client_cancel(struct txn *ct, struct slice extra) warn_unused_result;

#endif
