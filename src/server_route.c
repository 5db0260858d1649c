/* SPDX-License-Identifier: BSD-2-Clause */
/* The routing decision of the server glue: local answers, §16.3 checks, route table -> proxy. */
#include "server_int.h"

#include "core/log.h"
#include "sip/hdr.h"

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

/* Routing (RFC 3261 §16.5): the route table decides; when no route
 * matches and no default_route is configured, proxy.default_target is the
 * fallback, else 404. */
void srv_route(struct srv_worker *sw, struct action *a, const struct sipmsg *m,
               const struct tp_flow *flow)
{
    const struct srv_snap *snap = sw->snap;
    const struct route_action *ra = route_lookup(snap->tables[tp_worker_id(sw->w)], m, flow);
    if (ra->index == ROUTE_DEFAULT_INDEX && !snap->has_default_route) {
        if (snap->ntargets == 0) {
            act_reply(a, 404, "No route");
            return;
        }
        a->kind = ACT_FORWARD;
        a->d.targets = snap->targets;
        a->d.ntargets = snap->ntargets;
        a->d.stateless = a->d.stateless && snap->stateless;
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
        return;
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
        return;
    }
    case ROUTE_LOCATION:
        srv_edge_location(sw, a);
        return;
    case ROUTE_REPLY:
    default:
        act_reply(a, ra->reply_code, ra->reply_reason);
        return;
    }
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
