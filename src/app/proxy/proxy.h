/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SIP proxy core (RFC 3261 §16): request validation (§16.3), Route
 * pre-processing (§16.4), forwarding through the edit list (§16.6: Request-
 * URI, Max-Forwards, Record-Route, Via, loose routing), stateful response
 * handling with forking, CANCEL, best-response selection and Timer C
 * (§16.7, §16.8, §16.10), and stateless forwarding (§16.11).
 *
 * The proxy does not decide where a request goes: the caller (server.c,
 * gluing the routing layer to the proxy) hands it a struct proxy_decision
 * (targets with q-values, stateless and record-route flags). The proxy does
 * the rest. A decision with no targets means "loose routing": the next hop
 * is the top Route left after pre-processing, else the Request-URI; that is
 * how ACKs for 2xx and in-dialog requests are forwarded.
 *
 * Threading: one struct proxy per worker, created and used on that worker
 * only (every message of a call reaches one worker, docs/architecture.md),
 * so nothing is locked.
 *
 * Ownership: struct proxy is owned by the worker state that created it;
 * its contexts (one per stateful request) are owned by the proxy and hold
 * refs on their server and client transactions; every argument is
 * borrowed for the call only.
 */
#ifndef SW_APP_PROXY_PROXY_H
#define SW_APP_PROXY_PROXY_H

#include "core/util.h"
#include "sip/sipmsg.h"
#include "transport/tp.h"
#include "txn/txn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proxy;

/* Is this URI us (a listener address or a configured domain)? Used for
 * Route pre-processing (§16.4) and strict-router detection. */
typedef bool proxy_is_local_fn(const struct uri *u, void *arg);

struct proxy_config {
    uint32_t timer_c_ms;   /* §16.8: > 3 minutes; default 180000 */
    unsigned max_branches; /* client transactions per request, 1..64; default 16 */
    /* Our listeners (borrowed, must outlive the proxy): Via sent-by,
     * Record-Route and outbound listener selection. */
    const struct tp_listen *listeners;
    size_t nlisteners;
    proxy_is_local_fn *is_local; /* required */
    void *is_local_arg;
};
void proxy_config_defaults(struct proxy_config *cfg);

/* Creates the proxy of one worker. l and w are borrowed and must outlive
 * it (free the proxy before the layer). NULL on ENOMEM or a bad cfg. */
struct proxy *proxy_new(const struct proxy_config *cfg, struct txn_layer *l, struct tp_worker *w);
/* Drops every live context (its transactions detached and unref'd,
 * without sending anything) and frees the proxy. */
void proxy_free(struct proxy *p);
/* Registers the proxy counters (main thread, before workers start). */
void proxy_init(void);

/* ---- §16.3 / §16.4: what the proxy learns before any routing ---- */

/*
 * The request after validation and Route pre-processing. Filled by
 * proxy_prepare; slices point into the request, which must outlive it.
 */
struct proxy_prep {
    unsigned routes_popped;  /* leading Route values that named us (§16.4) */
    bool strict_route;       /* R-URI was ours, replaced by the last Route */
    struct slice ruri;       /* the Request-URI routing should look at */
    struct uri ruri_parsed;  /* parsed ruri */
    bool has_route;          /* a Route value is left after pre-processing */
    struct slice next_route; /* its URI when has_route */
};

/*
 * Validates req (§16.3 steps 3-5) and pre-processes its Route (§16.4).
 * Returns 0, or the status code the request must be answered with:
 * 483 (Max-Forwards is 0; the caller answers an OPTIONS to us itself),
 * 482 (a loop: our own Via with this request's loop hash, §16.3 step 4),
 * 420 (Proxy-Require names an extension; fills *unsupported with the
 * option tags, which the caller sends in Unsupported), 400 (a Route or
 * strict-routed Request-URI that does not parse).
 */
unsigned proxy_prepare(struct proxy *p, struct proxy_prep *out, struct slice *unsupported,
                       const struct sipmsg *req, const struct tp_flow *flow);

/* ---- the routing decision, input of forwarding ---- */

/* One place to try. Slices are borrowed for the call (copied when the
 * proxy needs them later, e.g. for serial forking). */
struct proxy_target {
    struct slice ruri; /* new Request-URI (§16.5 target); empty: keep it */
    /* Next hop that overrides Route and Request-URI (an outbound proxy or
     * a dispatcher peer, like Kamailio's $du); empty: Route, else R-URI
     * (§16.6 steps 6-7). Only IP-literal hosts are resolved for now. */
    struct slice dst;
    uint16_t q; /* 0..1000 (q=1.0 is 1000); same q = one parallel group */
    void *tag;  /* borrowed: handed to proxy_decision.outcome; may be NULL */
};

/* Stateful forwarding reports each branch of a target with a tag: code 0
 * when it was sent, then its final status (408 and 503 included when the
 * transaction layer synthesized them for a timeout or a transport error).
 * For per-destination counters and passive health (dispatcher sets). */
typedef void proxy_outcome_fn(void *tag, unsigned code, void *arg);

/* When the next q-group is tried (serial forking, §16.6 step 2 of §16.5). */
enum proxy_next {
    /* a group that ends with 408, 503 or a transport error (synthesized
     * 503) fails over to the next group: dispatcher-style failover */
    PROXY_NEXT_ON_UNAVAILABLE = 0,
    /* any non-2xx, non-6xx final of the group tries the next one */
    PROXY_NEXT_ON_FAILURE,
};

struct proxy_decision {
    const struct proxy_target *targets; /* borrowed; NULL/0: loose routing */
    unsigned ntargets;
    enum proxy_next next;
    bool stateless;            /* §16.11: no transactions for this request */
    bool record_route;         /* add Record-Route to dialog-creating requests */
    proxy_outcome_fn *outcome; /* optional */
    void *outcome_arg;         /* borrowed; must outlive the request */
};

/* ---- entry points, called by the transaction user glue ---- */

/*
 * Forwards a request statefully (§16.6 for each target, forking by q):
 * st is its server transaction (the proxy takes a ref and binds it), req
 * and flow as received. Responses flow back through st; a request that
 * cannot be forwarded at all is answered (503 / 500) through st. prep is
 * what proxy_prepare gave.
 */
void proxy_forward(struct proxy *p, struct txn *st, const struct sipmsg *req,
                   const struct tp_flow *flow, const struct proxy_prep *prep,
                   const struct proxy_decision *d);

/*
 * Forwards a request statelessly (§16.11): one target (the first of d),
 * a branch derived from the received one so retransmissions and the
 * CANCEL/ACK of an INVITE get the same branch, no transaction. Used for
 * stateless routes and for ACKs of 2xx (§13.2.2.4 / RFC 6026).
 * Returns 0 or a negative errno (nothing sent).
 */
int proxy_forward_stateless(struct proxy *p, const struct sipmsg *req, const struct tp_flow *flow,
                            const struct proxy_prep *prep,
                            const struct proxy_decision *d) warn_unused_result;

/*
 * A CANCEL server transaction (§16.10): answers it 200 if it matches an
 * INVITE we proxy statefully (and cancels every pending branch; the 487s
 * then flow back as the INVITE's final) or 481 otherwise.
 */
void proxy_cancel(struct proxy *p, struct txn *cancel_st, const struct sipmsg *cancel);

/*
 * A response that matched no client transaction (txn_tu.stray_response):
 * with our Via on top, a stateless branch is relayed whatever its code
 * (§16.11), a stateful branch only when 2xx (RFC 6026 §7); everything
 * else is dropped and counted (§16.7 step 3 / §18.1.2).
 */
void proxy_stray_response(struct proxy *p, const struct sipmsg *resp, const struct tp_flow *flow);

/* ---- probes (dispatcher health, RFC 3261 §11 OPTIONS) ---- */

/* Outcome of a probe: the final status (408/503 when the transaction
 * layer synthesized them for a timeout or transport error), or 0 when the
 * probe was dropped unanswered at proxy_free. */
typedef void proxy_probe_fn(unsigned code, void *arg);

/*
 * Sends an out-of-dialog request of method (e.g. "OPTIONS") to uri on a
 * client transaction of this worker (its Call-ID hashes to this worker, so
 * the answer comes back here), and calls done exactly once, later. arg is
 * borrowed until then. 0, or a negative errno (nothing sent, done not
 * called): -EINVAL / -EHOSTUNREACH (uri), -ENOMEM, a send error.
 */
int proxy_probe(struct proxy *p, struct slice uri, const char *method, proxy_probe_fn *done,
                void *arg) warn_unused_result;

/* Live stateful contexts of this proxy. */
size_t proxy_count(const struct proxy *p);

/* ---- pure helpers, exposed for unit tests ---- */

/* Writes "<sip:HOST:PORT;transport=udp;lr>" for listener l into out[0..cap);
 * returns the length or -EMSGSIZE. */
int proxy_rr_value(char *out, size_t cap, const struct tp_listen *l) warn_unused_result;
/* Rank of a final response for best-response selection (§16.7 step 6):
 * lower is better; 6xx beat all, then the lowest class, and within 4xx
 * 401/407/415/420/484 beat other codes; 503 ranks last (it becomes 500). */
unsigned proxy_response_rank(unsigned code);
/* The loop-detection hash (§16.6 step 8, §16.3 step 4) of a request as
 * received: keyed hash over the Request-URI, From tag, To tag, Call-ID,
 * CSeq number, Proxy-Require and Proxy-Authorization. The top Via is
 * left out on purpose: on a loop it is our own Via, so including it (as
 * the RFC text suggests) would never match. */
uint64_t proxy_loop_hash(const struct sipmsg *req);

#endif
