/* SPDX-License-Identifier: BSD-2-Clause */
/* The routing decision of the server glue: local answers, §16.3 checks, route table -> proxy. */
#include "server_int.h"

#include "core/log.h"
#include "sip/hdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "server"

/* ---- addressing ---- */

/* Is the Request-URI host one of ours: a listener's IP (with its port, or
 * no port when the listener is on the default 5060) or a configured
 * domain (any port)? A wildcard listener accepts any IP literal. */
bool srv_ruri_is_local(const struct server *srv, const struct srv_snap *snap, const struct uri *u)
{
    if (u->host_type == URI_HOST_NONE)
        return false;
    for (size_t i = 0; i < snap->ndomains; i++)
        if (slice_caseeq_cstr(u->host, snap->domains[i]))
            return true;
    if (u->host_type == URI_HOST_NAME)
        return false;
    uint16_t port = u->has_port ? u->port : (u->scheme == URI_SIPS ? 5061 : 5060);
    struct tp_addr a;
    if (tp_addr_from_ip(&a, u->host, port) != 0)
        return false;
    for (size_t i = 0; i < srv->nlisten; i++) {
        const struct tp_addr *l = &srv->listen[i].addr;
        if (tp_addr_port(l) != port || tp_addr_family(l) != tp_addr_family(&a))
            continue;
        if (tp_addr_is_any(l) || tp_addr_ip_eq(l, &a))
            return true;
    }
    return false;
}

static void act_reply(struct action *a, unsigned code, const char *reason)
{
    a->kind = ACT_REPLY;
    a->code = code;
    a->reason = reason;
}

/* "Unsupported: tag, tag" from a Require or Proxy-Require value list. */
static void unsupported_line(struct action *a, const struct sipmsg *m, enum hdr_id id,
                             struct slice only)
{
    size_t n = (size_t)snprintf(a->line, sizeof(a->line), "Unsupported: ");
    size_t base = n;
    for (const struct sip_hdr *h = sipmsg_hdr_first(m, id); h != NULL; h = sipmsg_hdr_next(m, h)) {
        struct slice rest = only.len ? only : h->value, item;
        while (hdr_list_next(&rest, &item)) {
            int k = snprintf(a->line + n, sizeof(a->line) - n, "%s" SLICE_FMT, n > base ? ", " : "",
                             SLICE_ARG(item));
            if (k < 0 || (size_t)k >= sizeof(a->line) - n)
                break;
            n += (size_t)k;
        }
        if (only.len)
            break;
    }
    a->extra[a->nextra++] = slice_make(a->line, n);
}

/* RFC 3261 §8.2.2.3: a Require naming an extension we do not support gets
 * 420 with Unsupported listing it, when the request is for us (a proxy
 * leaves Require alone, §16.3 note). We support no extension yet. */
static bool check_require(struct action *a, const struct sipmsg *m)
{
    if (sipmsg_hdr_first(m, HDR_REQUIRE) == NULL || m->method == SIP_ACK || m->method == SIP_CANCEL)
        return false;
    act_reply(a, 420, NULL);
    unsupported_line(a, m, HDR_REQUIRE, SLICE_NULL);
    return true;
}

static void act_caps(struct action *a)
{
    /* §11.2: what a UA should learn from an OPTIONS answer. */
    act_reply(a, 200, NULL);
    a->extra[0] = SLICE_LIT(SRV_ALLOW);
    a->extra[1] = SLICE_LIT("Accept: application/sdp");
    a->extra[2] = SLICE_LIT("Accept-Encoding: identity");
    a->extra[3] = SLICE_LIT("Accept-Language: en");
    a->extra[4] = SLICE_LIT("Supported: ");
    a->nextra = 5;
}

/* Per-destination counters and passive health of a dispatcher set from
 * the proxy's branch outcomes: a timeout, 503 or transport error counts
 * as a failed request (disp.h: health follows real traffic). */
static void disp_outcome(void *tag, unsigned code, void *arg)
{
    struct disp_dest *d = tag;
    struct disp_set *set = arg;
    if (code == 0) {
        disp_count_request(d);
        disp_inflight_inc(d);
        return;
    }
    disp_inflight_dec(d);
    disp_count_response(d, code);
    bool is_ok = code != 408 && code != 503;
    if (!is_ok)
        disp_count_failover(d);
    disp_probe_result(set, d, is_ok);
}

/* Active health checks of dispatcher destinations, run on worker 0. */
struct probe_ctx {
    struct disp_set *set;   /* borrowed: the server's disp outlives probes */
    struct disp_dest *dest; /* borrowed */
};

static void probe_done(unsigned code, void *arg)
{
    struct probe_ctx *pc = arg;
    /* disp.h: any answer is "up", a timeout or transport error is not;
     * a 503 says the peer is overloaded, so it counts as down too. */
    if (code != 0)
        disp_probe_result(pc->set, pc->dest, code != 408 && code != 503);
    free(pc);
}

void srv_probe_send(struct disp_set *s, struct disp_dest *d, const char *method, void *arg)
{
    struct srv_worker *sw = arg;
    struct probe_ctx *pc = malloc(sizeof(*pc));
    if (pc == NULL)
        return;
    pc->set = s;
    pc->dest = d;
    if (proxy_probe(sw->px, slice_cstr(disp_dest_uri_str(d)), method, probe_done, pc) != 0) {
        disp_probe_result(s, d, false);
        free(pc);
    }
}

static proxy_outcome_fn route_outcome;
static struct srv_route_stats *route_stats(struct srv_worker *sw, uint32_t index);

/* Per-route counters: a reply is counted at once; a forward counts its
 * branches' finals through route_outcome (which also keeps a dispatcher
 * destination's counters and health, disp_outcome). */
static void route_finish(struct action *a, struct srv_route_stats *rs)
{
    if (rs == NULL)
        return;
    if (a->kind == ACT_REPLY && a->code >= 100 && a->code < 700)
        metric_inc(rs->resp[a->code / 100]);
    else if (a->kind == ACT_FORWARD && !a->d.stateless &&
             (a->d.outcome == NULL || a->d.outcome == disp_outcome) &&
             a->d.ntargets <= ACT_MAX_TARGETS) {
        /* the proxy reports tagged targets only: untagged ones get rs */
        if (a->d.targets != a->tg)
            memcpy(a->tg, a->d.targets, a->d.ntargets * sizeof(a->tg[0]));
        a->d.targets = a->tg;
        for (unsigned i = 0; i < a->d.ntargets; i++)
            if (a->tg[i].tag == NULL)
                a->tg[i].tag = rs;
        a->d.outcome = route_outcome;
        a->d.outcome_arg = rs;
    }
}

/* Routing (RFC 3261 §16.5): the route table decides; when no route
 * matches and no default_route is configured, proxy.default_target is the
 * fallback, else 404. */
void srv_route(struct srv_worker *sw, struct action *a, const struct sipmsg *m,
               const struct tp_flow *flow)
{
    const struct srv_snap *snap = sw->snap;
    const struct route_action *ra = route_lookup(snap->tables[tp_worker_id(sw->w)], m, flow);
    struct srv_route_stats *rs = route_stats(sw, ra->index);
    if (rs != NULL)
        metric_inc(rs->requests);
    if (ra->index == ROUTE_DEFAULT_INDEX && !snap->has_default_route) {
        if (snap->ntargets == 0) {
            act_reply(a, 404, "No route");
        } else {
            a->kind = ACT_FORWARD;
            a->d.targets = snap->targets;
            a->d.ntargets = snap->ntargets;
            a->d.stateless = a->d.stateless && snap->stateless;
        }
        route_finish(a, rs);
        return;
    }
    a->d.stateless = a->d.stateless && (ra->is_stateless || snap->stateless);
    a->d.record_route = ra->do_record_route;
    switch (ra->kind) {
    case ROUTE_FORWARD:
        /* to: sip:... is a next hop; the Request-URI is kept */
        a->tg[0] = (struct proxy_target){.dst = slice_cstr(ra->target), .q = 1000};
        a->d.targets = a->tg;
        a->d.ntargets = 1;
        a->kind = ACT_FORWARD;
        break;
    case ROUTE_DISPATCH: {
        /* The set's failover list, one q-group each, so the proxy tries
         * them in turn on 408, 503 and transport errors. */
        struct disp_dest *dd[ACT_MAX_TARGETS];
        size_t n = disp_select(ra->set, m, dd, ACT_MAX_TARGETS);
        for (size_t i = 0; i < n; i++)
            a->tg[i] = (struct proxy_target){.dst = slice_cstr(disp_dest_uri_str(dd[i])),
                                             .q = (uint16_t)(1000 - i),
                                             .tag = dd[i]};
        a->d.outcome = disp_outcome;
        a->d.outcome_arg = ra->set;
        a->d.targets = a->tg;
        a->d.ntargets = (unsigned)n;
        a->d.next = PROXY_NEXT_ON_UNAVAILABLE;
        if (n == 0)
            act_reply(a, 503, "No destination");
        else
            a->kind = ACT_FORWARD;
        break;
    }
    case ROUTE_LOCATION:
        srv_edge_location(sw, a);
        break;
    case ROUTE_REPLY:
    default:
        act_reply(a, ra->reply_code, ra->reply_reason);
        break;
    }
    route_finish(a, rs);
}

/*
 * The decision for a request (not ACK): local answers (OPTIONS to us,
 * 404/416/420/481/501), §16.3 rejections, or forwarding: in-dialog and
 * Route-carrying requests by loose routing (§16.4, §16.12), initial ones
 * by routing. is_sl: the caller forwards statelessly, so a CANCEL follows
 * its INVITE's route instead of getting 481.
 */
void srv_decide(struct srv_worker *sw, struct action *a, const struct sipmsg *m,
                const struct tp_flow *flow, bool is_sl)
{
    memset(a, 0, offsetof(struct action, line));
    a->d.record_route = sw->snap->record_route;
    a->d.stateless = is_sl;
    a->d.next = sw->snap->next;
    /* §8.2.2.1: schemes we cannot route. */
    if (m->ruri.scheme == URI_OTHER) {
        act_reply(a, 416, NULL);
        return;
    }
    struct slice unsup = SLICE_NULL;
    unsigned code = proxy_prepare(sw->px, &a->prep, &unsup, m, flow);
    if (code == 483 && m->method == SIP_OPTIONS && srv_ruri_is_local(sw->srv, sw->snap, &m->ruri)) {
        act_caps(a); /* §16.3 step 3: a proxy may answer an OPTIONS itself */
        return;
    }
    if (code == 420) {
        act_reply(a, 420, "Bad Extension");
        unsupported_line(a, m, HDR_PROXY_REQUIRE, unsup);
        return;
    }
    if (code != 0) {
        act_reply(a, code, NULL);
        return;
    }
    bool is_local =
        !a->prep.has_route && srv_ruri_is_local(sw->srv, sw->snap, &a->prep.ruri_parsed);
    if (!is_local) {
        /* §16.4 / §16.12: a Route left or a foreign Request-URI on an
         * in-dialog request: loose routing. Initial requests for foreign
         * domains with no Route need a route: no open relay. */
        if (a->prep.has_route || m->to.tag.len != 0 || m->method == SIP_CANCEL) {
            /* which route a dialog took is not known here: only a wholly
             * stateless proxy forwards these without a transaction */
            a->kind = ACT_FORWARD;
            a->d.stateless = is_sl && sw->snap->stateless;
            return;
        }
        srv_route(sw, a, m, flow);
        return;
    }
    if (check_require(a, m))
        return;
    if (m->method == SIP_CANCEL && !is_sl) {
        act_reply(a, 481, NULL); /* §9.2: no transaction matched */
        return;
    }
    if (m->method == SIP_METHOD_OTHER || m->method == SIP_PUBLISH) {
        act_reply(a, 501, NULL);
        a->extra[a->nextra++] = SLICE_LIT(SRV_ALLOW);
        return;
    }
    if (m->method == SIP_OPTIONS) {
        act_caps(a);
        return;
    }
    /* In-dialog requests for us: we hold no dialogs (§12.2.2). */
    if (m->to.tag.len != 0 && m->method != SIP_CANCEL) {
        act_reply(a, 481, NULL);
        return;
    }
    srv_route(sw, a, m, flow);
}

/* ---- per-route counters ---- */

/* metric_register keeps the name pointer for the life of the process and
 * gives one id per name: a name is copied once, and found again by a
 * second server (tests) through metric_find. */
static metric_id route_metric(const char *name, const char *help)
{
    metric_id id = metric_find(name);
    if (id != 0)
        return id;
    char *copy = strdup(name);
    return copy != NULL ? metric_register(copy, help) : 0;
}

void srv_route_metrics(struct server *srv, size_t nroutes)
{
    for (size_t i = 0; i <= SRV_ROUTE_METRICS; i++) {
        struct srv_route_stats *rs = &srv->rstats[i];
        char label[16], name[96];
        if (i < SRV_ROUTE_METRICS && i >= nroutes)
            continue;
        if (i == SRV_ROUTE_METRICS)
            snprintf(label, sizeof(label), "default");
        else
            snprintf(label, sizeof(label), "%zu", i);
        snprintf(name, sizeof(name), "sip_route_requests_total{route=\"%s\"}", label);
        rs->requests = route_metric(name, "requests a route decided");
        for (int c = 1; c < 7; c++) {
            snprintf(name, sizeof(name), "sip_route_responses_total{route=\"%s\",class=\"%dxx\"}",
                     label, c);
            rs->resp[c] = route_metric(name, "final responses of a route's branches or replies");
        }
        snprintf(name, sizeof(name), "sip_route_failovers_total{route=\"%s\"}", label);
        rs->failovers = route_metric(name, "branches of a route that ended 408/503 (failover)");
    }
}

static struct srv_route_stats *route_stats(struct srv_worker *sw, uint32_t index)
{
    if (index == ROUTE_DEFAULT_INDEX)
        return &sw->srv->rstats[SRV_ROUTE_METRICS];
    return index < SRV_ROUTE_METRICS ? &sw->srv->rstats[index] : NULL;
}

/* proxy_outcome_fn of routed requests: the route's counters, then the
 * dispatcher destination's (tag), whose set it names. */
static void route_outcome(void *tag, unsigned code, void *arg)
{
    struct srv_route_stats *rs = arg;
    if (code != 0 && code < 700) {
        metric_inc(rs->resp[code / 100]);
        if (code == 408 || code == 503)
            metric_inc(rs->failovers);
    }
    if (tag != rs) /* else a dispatcher destination */
        disp_outcome(tag, code, disp_dest_set(tag));
}

/* ---- RFC 3263 next hops ---- */

/*
 * A forward target whose next hop has a host name is resolved before the
 * proxy sees it (RFC 3263 §4: NAPTR, SRV, A/AAAA, in dns.c); the proxy
 * then gets one target per resolved address, each its own q-group in the
 * resolver's order, so a 408, 503 or transport error fails over to the
 * next address (§4.3). IP literals are never looked up. The request and
 * its server transaction wait in a struct srv_pending (the INVITE's 100
 * Trying is already out, sent by the transaction layer).
 */
#define DNS_PER_TARGET 8 /* addresses kept per resolved target */
#define DST_LEN (TP_ADDR_STRLEN + 24)

struct srv_lookup {
    struct srv_pending *pd; /* back-pointer */
    struct dns_req *req;    /* in progress, else NULL */
    bool is_needed;         /* the hop has a host name */
    int err;                /* 0, or the resolution's error */
    unsigned n;             /* resolved addresses in dst */
    char (*dst)[DST_LEN];   /* owned: "sip:IP:PORT;transport=X" each */
};

/* Owner: its worker's list (sw->pending); lives until forwarded, answered,
 * its server transaction ends, or the worker stops. */
struct srv_pending {
    struct srv_pending *prev, *next;
    struct srv_worker *sw; /* borrowed */
    struct txn *st;        /* ref */
    struct sipmsg *req;    /* ref: prep's slices point into it */
    struct tp_flow flow;
    struct proxy_prep prep;
    struct proxy_decision d; /* targets: in[] until resolved */
    unsigned nin, outstanding;
    struct proxy_target in[ACT_MAX_TARGETS]; /* slices into strs */
    struct srv_lookup look[ACT_MAX_TARGETS];
    struct proxy_target out[ACT_MAX_TARGETS];
    char *strs; /* owned copy of the targets' strings */
};

/* The next hop of target t as proxy_build_request picks it (§16.6 steps
 * 6-7): the explicit destination, else the top Route left, else the new
 * or the received Request-URI. */
static struct slice target_hop(const struct proxy_target *t, const struct proxy_prep *prep,
                               const struct sipmsg *m)
{
    struct slice ruri = t->ruri.len != 0 ? t->ruri : (prep->strict_route ? prep->ruri : SLICE_NULL);
    return t->dst.len != 0   ? t->dst
           : prep->has_route ? prep->next_route
           : ruri.len != 0   ? ruri
                             : m->ruri_s;
}

/* Fills q when hop is a sip: URI whose host (or maddr) is a name. */
static bool hop_needs_dns(struct slice hop, struct dns_query *q)
{
    struct uri u;
    struct sip_err err;
    struct tp_addr a;
    if (uri_parse(&u, hop, &err) != SIP_PARSE_OK || u.scheme != URI_SIP ||
        dns_query_from_uri(q, &u) != 0)
        return false; /* the proxy reports what it cannot use */
    if (u.maddr.len != 0)
        return tp_addr_from_ip(&a, u.maddr, 5060) != 0;
    return u.host_type == URI_HOST_NAME;
}

static void pending_free(struct srv_pending *pd)
{
    struct srv_worker *sw = pd->sw;
    for (unsigned i = 0; i < pd->nin; i++) {
        if (pd->look[i].req != NULL)
            dns_cancel(pd->look[i].req);
        free(pd->look[i].dst);
    }
    if (pd->prev != NULL)
        pd->prev->next = pd->next;
    else
        sw->pending = pd->next;
    if (pd->next != NULL)
        pd->next->prev = pd->prev;
    if (txn_arg(pd->st) == pd)
        txn_detach(pd->st);
    txn_unref(pd->st);
    sipmsg_unref(pd->req);
    free(pd->strs);
    free(pd);
}

/* Is there a listener for this address's protocol and family? The proxy
 * could not send to it otherwise (no TLS yet; IPv6 needs an IPv6 listener). */
static bool target_usable(const struct server *srv, const struct dns_target *t)
{
    if (t->is_tls)
        return false;
    for (size_t i = 0; i < srv->nlisten; i++)
        if (srv->listen[i].proto == t->proto &&
            tp_addr_family(&srv->listen[i].addr) == tp_addr_family(&t->addr))
            return true;
    return false;
}

static void pending_done(struct srv_pending *pd);

static void on_resolved(const struct dns_target *targets, size_t count, int err, void *arg)
{
    struct srv_lookup *lk = arg;
    struct srv_pending *pd = lk->pd;
    lk->req = NULL;
    lk->err = err;
    lk->dst = count != 0 ? calloc(SW_MIN(count, (size_t)DNS_PER_TARGET), DST_LEN) : NULL;
    for (size_t i = 0; lk->dst != NULL && i < count && lk->n < DNS_PER_TARGET; i++) {
        char a[TP_ADDR_STRLEN];
        if (!target_usable(pd->sw->srv, &targets[i]))
            continue;
        snprintf(lk->dst[lk->n++], DST_LEN, "sip:%s;transport=%s",
                 tp_addr_str(&targets[i].addr, a, sizeof(a)), tp_proto_name(targets[i].proto));
    }
    if (err == 0 && lk->n == 0)
        lk->err = count != 0 && lk->dst == NULL ? -ENOMEM : -EHOSTUNREACH;
    if (--pd->outstanding == 0)
        pending_done(pd);
}

/* All lookups are in: the targets in order (groups of equal q in
 * descending q, as the proxy sorts them; inside a group, the first
 * address of every target in parallel, then the second ones, ...), each
 * round of addresses its own q-group, so the proxy fails over address by
 * address (RFC 3263 §4.3). */
static void pending_done(struct srv_pending *pd)
{
    struct srv_worker *sw = pd->sw;
    unsigned order[ACT_MAX_TARGETS], nout = 0, ntrans = 0, nfail = 0;
    for (unsigned i = 0; i < pd->nin; i++) {
        unsigned j = i;
        while (j > 0 && pd->in[order[j - 1]].q < pd->in[i].q) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    uint16_t q = 1000;
    for (unsigned g = 0; g < pd->nin && nout < ACT_MAX_TARGETS;) {
        unsigned ge = g;
        while (ge < pd->nin && pd->in[order[ge]].q == pd->in[order[g]].q)
            ge++;
        for (unsigned k = 0; k < DNS_PER_TARGET && nout < ACT_MAX_TARGETS; k++) {
            bool any = false;
            for (unsigned x = g; x < ge && nout < ACT_MAX_TARGETS; x++) {
                const struct proxy_target *t = &pd->in[order[x]];
                const struct srv_lookup *lk = &pd->look[order[x]];
                if (!lk->is_needed && k != 0)
                    continue;
                if (lk->is_needed && k >= lk->n)
                    continue;
                pd->out[nout] = *t;
                pd->out[nout].q = q;
                if (lk->is_needed)
                    pd->out[nout].dst = slice_cstr(lk->dst[k]);
                nout++;
                any = true;
            }
            if (!any)
                break;
            if (q > 0)
                q--;
        }
        g = ge;
    }
    for (unsigned i = 0; i < pd->nin; i++) {
        if (!pd->look[i].is_needed || pd->look[i].n != 0)
            continue;
        nfail++;
        ntrans += pd->look[i].err != -ENOENT;
        LOG_RL(LOG_LVL_INFO, MOD, "cannot resolve " SLICE_FMT ": %s",
               SLICE_ARG(target_hop(&pd->in[i], &pd->prep, pd->req)), strerror(-pd->look[i].err));
    }
    txn_detach(pd->st);
    if (nout > 0) {
        pd->d.targets = pd->out;
        pd->d.ntargets = nout;
        proxy_forward(sw->px, pd->st, pd->req, &pd->flow, &pd->prep, &pd->d);
    } else {
        /* Nothing to send to. A name that does not exist (NXDOMAIN, or
         * no SRV/A/AAAA records) is a definitive answer: 404, which RFC
         * 3261 §21.4.5 also gives for a domain that is not served, so
         * the caller does not retry the same request elsewhere (a 503
         * would make an RFC 3263 §4.3 client try our next address, with
         * the same result). A timeout, a server failure or too many
         * lookups is transient: 503 (§21.5.4), with no Retry-After. */
        bool is_gone = nfail > 0 && ntrans == 0;
        unsigned code = is_gone ? 404 : 503;
        struct sipmsg_reply_opts o = {.server = slice_cstr(sw->snap->name)};
        if (txn_server_reply(pd->st, code, slice_cstr(is_gone ? "Unresolvable" : "DNS failure"),
                             &o) != 0)
            LOG_RL(LOG_LVL_WARN, MOD, "cannot send %u reply", code);
        if (pd->d.outcome == route_outcome)
            metric_inc(((struct srv_route_stats *)pd->d.outcome_arg)->resp[code / 100]);
    }
    pending_free(pd);
}

/* The server transaction ended while its lookups ran (a transport error
 * on its TCP connection): nothing is left to answer. */
static void on_pending_end(struct txn *t, int reason, void *arg)
{
    (void)t;
    (void)reason;
    pending_free(arg);
}

void srv_forward(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                 const struct tp_flow *flow, struct action *a)
{
    static const struct proxy_target loose = {.q = 1000};
    const struct proxy_target *ts = a->d.ntargets != 0 ? a->d.targets : &loose;
    unsigned nt = a->d.ntargets != 0 ? SW_MIN(a->d.ntargets, (unsigned)ACT_MAX_TARGETS) : 1;
    struct dns_query qs[ACT_MAX_TARGETS];
    bool need[ACT_MAX_TARGETS], any = false;
    size_t strl = 0;
    for (unsigned i = 0; i < nt; i++) {
        need[i] = hop_needs_dns(target_hop(&ts[i], &a->prep, m), &qs[i]);
        any |= need[i];
        strl += ts[i].ruri.len + ts[i].dst.len;
    }
    if (!any) {
        proxy_forward(sw->px, st, m, flow, &a->prep, &a->d);
        return;
    }
    struct srv_pending *pd = calloc(1, sizeof(*pd));
    char *s = pd != NULL ? malloc(strl + 1) : NULL;
    if (s == NULL) {
        free(pd);
        if (txn_server_reply(st, 500, SLICE_LIT("Out of memory"), NULL) != 0)
            LOG_RL(LOG_LVL_WARN, MOD, "cannot send 500 reply");
        return;
    }
    pd->sw = sw;
    pd->st = txn_ref(st);
    pd->req = sipmsg_ref((struct sipmsg *)m);
    pd->flow = *flow;
    pd->prep = a->prep;
    pd->d = a->d;
    pd->strs = s;
    pd->nin = nt;
    /* Copies, so that a reload (a new snapshot) or the action's storage
     * going away does not matter while the lookups run. */
    for (unsigned i = 0; i < nt; i++) {
        pd->in[i] = ts[i];
        memcpy(s, ts[i].ruri.p ? ts[i].ruri.p : "", ts[i].ruri.len);
        pd->in[i].ruri = slice_make(s, ts[i].ruri.len);
        s += ts[i].ruri.len;
        memcpy(s, ts[i].dst.p ? ts[i].dst.p : "", ts[i].dst.len);
        pd->in[i].dst = slice_make(s, ts[i].dst.len);
        s += ts[i].dst.len;
        pd->look[i].pd = pd;
        pd->look[i].is_needed = need[i];
    }
    pd->next = sw->pending;
    if (sw->pending != NULL)
        sw->pending->prev = pd;
    sw->pending = pd;
    txn_server_bind(st, on_pending_end, pd);
    /* Every lookup starts before any can complete (results come from
     * the loop, never from inside dns_resolve_sip). */
    for (unsigned i = 0; i < nt; i++) {
        if (!need[i])
            continue;
        struct srv_lookup *lk = &pd->look[i];
        int rc =
            sw->dns != NULL ? dns_resolve_sip(sw->dns, &qs[i], on_resolved, lk, &lk->req) : -EAGAIN;
        if (rc != 0) {
            lk->req = NULL;
            lk->err = rc;
            continue;
        }
        pd->outstanding++;
    }
    if (pd->outstanding == 0)
        pending_done(pd);
}

bool srv_dns_cancel(struct srv_worker *sw, struct txn *cancel_st, const struct sipmsg *m)
{
    if (sw->pending == NULL)
        return false;
    struct txn *ist = txn_server_find_cancelled(sw->l, m);
    struct srv_pending *pd = sw->pending;
    while (pd != NULL && (ist == NULL || pd->st != ist))
        pd = pd->next;
    if (pd == NULL)
        return false;
    /* §16.10: 200 to the CANCEL; nothing was forwarded yet, so the
     * INVITE gets its 487 from us (§9.2). */
    if (txn_server_reply(cancel_st, 200, SLICE_NULL, NULL) != 0 ||
        txn_server_reply(pd->st, 487, SLICE_NULL, NULL) != 0)
        LOG_RL(LOG_LVL_WARN, MOD, "cannot answer a CANCEL");
    pending_free(pd);
    return true;
}

void srv_dns_worker_init(struct srv_worker *sw)
{
    char err[256];
    sw->dns = dns_resolver_new(tp_worker_loop(sw->w), &sw->srv->dns, err, sizeof(err));
    if (sw->dns == NULL)
        LOG_WARN(MOD, "worker %u: next hops with host names cannot be resolved: %s",
                 tp_worker_id(sw->w), err);
}

void srv_dns_worker_fini(struct srv_worker *sw)
{
    while (sw->pending != NULL)
        pending_free(sw->pending);
    dns_resolver_free(sw->dns);
    sw->dns = NULL;
}
