/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by the files of src/app/proxy/ only. */
#ifndef SW_APP_PROXY_PROXY_INT_H
#define SW_APP_PROXY_PROXY_INT_H

#include "app/proxy/proxy.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/metric.h"
#include "core/tmr.h"
#include "sip/print.h"

#define PROXY_MOD "proxy"
/* Branch markers after the magic cookie (RFC 3261 §8.1.1.7): txn_branch_new
 * writes "sw" for our stateful client transactions; stateless forwarding
 * writes "sl" + a hash of the received branch (§16.11). */
#define PROXY_COOKIE "z9hG4bK"
#define PROXY_SL_PREFIX "z9hG4bKsl"
#define PROXY_SF_PREFIX "z9hG4bKsw"
/* Via parameter carrying the loop-detection hash (§16.6 step 8). It is
 * kept out of the branch so txn_branch_worker() still reads our stateful
 * branches. */
#define PROXY_LOOP_PARAM "swl"
#define PROXY_MAX_BRANCHES 64
/* Room for one forwarded message: the received one plus our edits. */
#define PROXY_OUT_CAP (65535 + 2048)

extern metric_id proxy_m_fwd, proxy_m_fwd_sl, proxy_m_resp[7], proxy_m_resp_sl, proxy_m_stray,
    proxy_m_failover, proxy_m_live, proxy_m_cancel, proxy_m_timer_c, proxy_m_ack, proxy_m_fwd_fail;

struct proxy_ctx;

/* A probe in flight. Owner: struct proxy (its list); ct is a ref. */
struct proxy_probe {
    struct proxy_probe *prev, *next; /* borrowed: p's list */
    struct proxy *p;                 /* borrowed */
    struct txn *ct;                  /* ref */
    proxy_probe_fn *done;
    void *arg; /* borrowed */
};

/*
 * One branch (client transaction) of a context. Plain struct inside the
 * context's array; ct is a ref; ctx is a borrowed back-pointer.
 */
struct proxy_branch {
    struct proxy_ctx *ctx; /* borrowed */
    struct txn *ct;        /* ref, NULL before start / after a sync failure */
    struct tmr timer_c;    /* §16.8, INVITE only */
    unsigned target;       /* index into ctx->targets */
    unsigned code;         /* final status, 0 while pending */
    bool has_prov;         /* a 101-199 arrived */
    bool is_cancelled;
};

/* A target copied into the context (serial forking needs it later).
 * Slices point into ctx->strs (owned by the context). */
struct proxy_ctarget {
    struct slice ruri, dst;
    uint16_t q;
    void *tag; /* borrowed */
};

/*
 * State of one statefully proxied request (§16: the "response context").
 * Owner: struct proxy (its live list); freed when every started branch has
 * a final response and the upstream final was sent, or at proxy_free.
 * Thread: the proxy's worker.
 */
struct proxy_ctx {
    uint32_t magic;                /* CTX_MAGIC: txn_arg() of a server txn is ours */
    struct proxy *p;               /* borrowed */
    struct proxy_ctx *prev, *next; /* borrowed: p's live list */
    struct txn *st;                /* ref: the server transaction */
    struct sipmsg *req;            /* ref: the request as received */
    struct tp_flow in_flow;        /* where it came from */
    struct proxy_prep prep;        /* slices into req */
    enum proxy_next next_mode;
    proxy_outcome_fn *outcome; /* may be NULL */
    void *outcome_arg;         /* borrowed */
    bool record_route;
    bool is_invite;
    bool final_sent;   /* a final went upstream (2xx: more may follow) */
    bool is_cancelled; /* CANCEL or 6xx: no new branches (§16.7 step 5/§16.10) */
    bool upstream_gone;
    bool group_unavailable;         /* every final of the current group is 408/503 */
    unsigned ntargets, next_target; /* targets[next_target..] not tried yet */
    unsigned nbranches, npending;
    struct sipmsg *best; /* ref: best final so far (§16.7 step 6) */
    unsigned best_rank;
    struct sipmsg **auth; /* refs: 401/407 responses to aggregate (§16.7 step 7) */
    unsigned nauth;
    struct proxy_ctarget *targets; /* owned (same block) */
    struct proxy_branch *br;       /* owned (same block), max_branches */
    char *strs;                    /* owned (same block): target strings */
};

/*
 * Per-worker proxy. Owner: the worker state (server.c); thread: that
 * worker only.
 */
struct proxy {
    struct proxy_config cfg; /* listeners borrowed */
    struct txn_layer *l;     /* borrowed */
    struct tp_worker *w;     /* borrowed */
    struct tmr_wheel *wheel; /* borrowed: the worker's */
    struct arena *a;         /* owned: edit texts, reset after each message */
    char *out;               /* owned: print buffer, PROXY_OUT_CAP */
    struct proxy_ctx *live;  /* owned list of contexts */
    size_t nlive;
    struct proxy_probe *probes; /* owned list of probes in flight */
};

/* ---- fwd.c: building and sending what the proxy forwards ---- */

/* Resolves a next-hop URI to a flow (IP literals only for now; RFC 3263
 * resolution comes with transport/dns.h). in_flow's listener is preferred
 * when it has the right protocol and family. 0 or -EHOSTUNREACH/-EINVAL. */
int proxy_uri_flow(struct proxy *p, struct tp_flow *out, struct slice uri,
                   const struct tp_flow *in_flow) warn_unused_result;

/* Builds the forwarded copy of req for one target into p->out: Route
 * values popped by prep, Request-URI, Max-Forwards, Record-Route, our Via
 * with branch (loop hash added), received/rport on the previous Via,
 * Content-Length for streams. *dst receives the next hop. Returns the
 * length or a negative errno. */
ssize_t proxy_build_request(struct proxy *p, struct tp_flow *dst, const struct sipmsg *req,
                            const struct tp_flow *in_flow, const struct proxy_prep *prep,
                            struct slice ruri, struct slice dst_uri, bool record_route,
                            struct slice branch) warn_unused_result;

/* Prints resp with its top Via removed into p->out, adding extra header
 * lines (auth aggregation) and Content-Length when the next hop is a
 * stream. Returns the length or a negative errno. */
ssize_t proxy_build_response(struct proxy *p, const struct sipmsg *resp,
                             const struct sipmsg *const *extra_from, unsigned nextra,
                             bool to_stream) warn_unused_result;

/* probe.c: drops every probe in flight (done(0)), for proxy_free. */
void proxy_probes_drop(struct proxy *p);

/* True when the top Via of a response is ours (sent-by one of our
 * listeners and a branch with one of our markers). */
bool proxy_via_is_ours(const struct proxy *p, const struct sip_via *v);

#endif
