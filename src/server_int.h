/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by server.c and server_route.c only. */
#ifndef SW_SERVER_INT_H
#define SW_SERVER_INT_H

#include "server.h"

#include "app/proxy/proxy.h"
#include "app/routing/disp.h"
#include "app/routing/route.h"
#include "core/buf.h"
#include "core/metric.h"
#include "core/ev.h"
#include "core/tmr.h"
#include "sip/sipmsg.h"
#include "transport/dns.h"
#include "transport/tp.h"
#include "txn/txn.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Methods the parser knows and that later issues route (proxy, registrar,
 * B2BUA). A request for one of them that nothing serves yet gets 404: the
 * method is understood, there is just no route for it. Other methods get
 * 501 with this Allow (RFC 3261 §8.2.1). */
#define SRV_ALLOW                                                                                  \
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, PRACK, UPDATE, SUBSCRIBE, "         \
    "NOTIFY, REFER, MESSAGE"

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
    /* proxy: section; targets' slices point into target_strs */
    bool record_route;
    bool stateless;
    enum proxy_next next;
    struct proxy_target *targets; /* owned array */
    char **target_strs;           /* owned array of owned strings */
    unsigned ntargets;
    /* routes: one table per worker (route.h: regexec locks per pattern),
     * each used by its worker only; freed with the snapshot, when no
     * worker uses it any more */
    struct route_table **tables; /* owned array of owned tables, ntables */
    unsigned ntables;
    bool has_default_route; /* default_route: given; else default_target / 404 */
    bool any_stateless;     /* some request may be forwarded statelessly */
};

struct srv_pending; /* server_route.c */

/* Per-worker state. Owner: struct server; touched only by its worker. */
struct srv_worker {
    struct server *srv;          /* borrowed back-pointer */
    struct tp_worker *w;         /* borrowed */
    struct txn_layer *l;         /* owned */
    struct proxy *px;            /* owned; freed before l */
    struct srv_snap *snap;       /* ref */
    uint64_t rng;                /* xorshift state for To tags */
    struct buf out;              /* reply scratch, reused */
    struct tmr purge;            /* worker 0: expired registrations (server_edge.c) */
    struct dns_resolver *dns;    /* owned; NULL: names are not resolved (logged) */
    struct srv_pending *pending; /* owned list: requests waiting for RFC 3263 lookups */
};

/* A snapshot on its way to one worker. Owner: the job until it runs. */
struct snap_job {
    struct ev_job job;
    struct srv_worker *sw; /* borrowed */
    struct srv_snap *snap; /* ref, handed to the worker */
};

/* Counters of one route (sip_route_*_total{route="N"}); ids are 0 (the
 * dummy counter) for routes beyond SRV_ROUTE_METRICS. */
#define SRV_ROUTE_METRICS 16
struct srv_route_stats {
    metric_id requests;  /* requests the route decided */
    metric_id resp[7];   /* final responses of its branches (or its reply), by class */
    metric_id failovers; /* branches that ended 408/503/transport error */
};

/* Owner: main (server_new/server_free); read-only after start. */
struct server {
    struct tp *tp;              /* owned */
    struct srv_worker *workers; /* owned array, nworkers */
    unsigned nworkers;
    struct tp_listen *listen; /* owned copy of the bound listeners */
    size_t nlisten;
    struct disp *disp;         /* owned: dispatcher sets (built once; restart to change) */
    struct txn_config txn_cfg; /* worker_id set per worker */
    uint32_t timer_c_ms;
    unsigned max_branches;
    /* proxy.stateless: no request is forwarded statefully, so only our own
     * client transactions' responses need their worker (on_owner). Written
     * by start-up and reload (main thread), read by every receiving worker. */
    _Atomic bool is_all_stateless;
    /* INVITE server txns by branch + sent-by -> worker, for CANCEL and ACK
     * arriving on another worker (on_owner); NULL with one worker. */
    struct txn_index *txidx; /* owned */
    uint32_t txidx_ttl_s;
    /* server_edge.c: registrar, location store, authentication, bans.
     * Shared by all workers; each documents its own locking. */
    struct store *store;     /* owned */
    struct registrar *reg;   /* owned */
    struct auth *auth;       /* owned; NULL: nothing is challenged */
    char *default_realm;     /* owned */
    struct ban_table *ban;   /* owned */
    struct scanner *scanner; /* owned */
    struct acl *trusted;     /* owned: never challenged, never banned */
    struct dns_config dns;   /* owned copy of dns: (servers deep-copied) */
    /* per-route counters, registered at start-up for routes[0..SRV_ROUTE_METRICS)
     * and default_route (the last slot); a reload keeps the names */
    struct srv_route_stats rstats[SRV_ROUTE_METRICS + 1];
};

/* What to do with a request: the routing decision of this glue. */
#define ACT_MAX_TARGETS 16
enum act_kind { ACT_REPLY, ACT_FORWARD, ACT_DROP };
struct action {
    enum act_kind kind;
    unsigned code;
    const char *reason;
    struct slice extra[5]; /* header lines of the reply */
    unsigned nextra;
    struct proxy_prep prep;
    struct proxy_decision d;
    struct proxy_target tg[ACT_MAX_TARGETS]; /* dispatcher failover list */
    char line[512];    /* storage for one built line (Unsupported); not zeroed */
    char locbuf[4096]; /* storage for location targets' strings; not zeroed */
};

/* ---- server_route.c ---- */

/* Is the Request-URI host one of ours (a listener or a configured domain)? */
bool srv_ruri_is_local(const struct server *srv, const struct srv_snap *snap, const struct uri *u);
/* The decision for a request (not ACK); see server_route.c. */
/* Answers req statelessly (no transaction; RFC 3261 §8.2.7) with code,
 * reason (NULL: the §21 phrase) and extra header lines (may be NULL). */
void srv_reply_stateless(struct srv_worker *sw, const struct sipmsg *req,
                         const struct tp_flow *flow, unsigned code, const char *reason,
                         const struct slice *extra, size_t nextra);
void srv_decide(struct srv_worker *sw, struct action *a, const struct sipmsg *m,
                const struct tp_flow *flow, bool is_sl);
/* Routing of a request that is for us or needs a route (used for ACKs). */
void srv_route(struct srv_worker *sw, struct action *a, const struct sipmsg *m,
               const struct tp_flow *flow);
/* Forwards a request statefully (a->kind == ACT_FORWARD): next hops with a
 * host name are resolved first (RFC 3263) while st waits; see server_route.c. */
void srv_forward(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                 const struct tp_flow *flow, struct action *a);
/* A CANCEL for an INVITE still waiting for its lookup: answered (true). */
bool srv_dns_cancel(struct srv_worker *sw, struct txn *cancel_st, const struct sipmsg *m);
/* Worker start/end: the resolver on the worker's loop; fini drops every
 * pending request without answering (shutdown). */
void srv_dns_worker_init(struct srv_worker *sw);
void srv_dns_worker_fini(struct srv_worker *sw);
/* Registers the per-route counters (main thread, before workers). */
void srv_route_metrics(struct server *srv, size_t nroutes);

/* ---- server_edge.c ---- */

void srv_edge_metrics(void);
/* Opens the store and creates registrar, authenticator, ban table and
 * scanner list (main thread, before workers). -EINVAL with err set. */
int srv_edge_open(struct server *srv, const struct conf *c, char *err, size_t errlen);
void srv_edge_close(struct server *srv);
int srv_edge_reload(struct server *srv, const struct conf *next, char *err, size_t errlen);
void srv_edge_worker_init(struct srv_worker *sw);
void srv_edge_worker_fini(struct srv_worker *sw);
/* Per packet: true when it comes from a banned source or a scanner. */
bool srv_edge_drop(struct srv_worker *sw, const struct sipmsg *m, const struct tp_flow *flow);
/* REGISTER for a local domain: handled (true) by the registrar. */
bool srv_edge_register(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                       const struct tp_flow *flow);
/* Digest check before forwarding an initial request (in-dialog requests,
 * CANCEL, ACK and OPTIONS to the server itself pass): false when st was
 * answered (407 challenge, 400). */
bool srv_edge_authorize(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                        const struct tp_flow *flow);
/* A request that will be challenged because it carries no credentials
 * at all: answered 401/407 statelessly (RFC 3261 §8.2.7), so unauthenticated
 * traffic creates no transaction. true when answered. */
bool srv_edge_challenge(struct srv_worker *sw, const struct sipmsg *m, const struct tp_flow *flow);
/* Fills a with the registered contacts of the Request-URI (to: location). */
void srv_edge_location(struct srv_worker *sw, struct action *a);

/* disp_probe_fn of the dispatcher sets; arg is worker 0's srv_worker. */
void srv_probe_send(struct disp_set *s, struct disp_dest *d, const char *method, void *arg);

#endif
