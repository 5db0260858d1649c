/* SPDX-License-Identifier: BSD-2-Clause */
/* Proxy message editing: validation, Route pre-processing, forwarded copies, stateless relay. */
#include "app/proxy/proxy_int.h"

#include "core/htab.h"
#include "core/log.h"
#include "sip/hdr.h"
#include "sip/print.h"
#include "sip/uri.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- pure helpers ---- */

int proxy_rr_value(char *out, size_t cap, const struct tp_listen *l)
{
    char a[TP_ADDR_STRLEN];
    /* RFC 3261 §16.6 step 4: a URI that resolves to us, with lr (§19.1.1)
     * so the dialog's peers loose-route through us; transport= keeps the
     * in-dialog requests on the transport the peer used. */
    int n = snprintf(out, cap, "<sip:%s;transport=%s;lr>", tp_addr_str(&l->addr, a, sizeof(a)),
                     tp_proto_name(l->proto));
    if (n < 0 || (size_t)n >= cap)
        return -EMSGSIZE;
    return n;
}

unsigned proxy_response_rank(unsigned code)
{
    /* §16.7 step 6: 6xx win (a 6xx also stops the forking), then the lowest
     * class; inside 4xx the codes the UAC can act on (401/407 with
     * credentials, 415/420/484 by fixing the request) come first; a 503 is
     * never forwarded as such (§16.7 step 6 turns it into 500), so it loses
     * to any other 5xx. 408 (our own timeout) loses to other 4xx. */
    if (code >= 600 && code < 700)
        return 0;
    if (code < 300 || code >= 700)
        return 1000 + code; /* not a final failure: never "best" */
    unsigned base = (code / 100) * 100;
    unsigned sub = 50;
    if (code == 401 || code == 407 || code == 415 || code == 420 || code == 484)
        sub = 10;
    else if (code == 408)
        sub = 80;
    else if (code == 503)
        sub = 90;
    return base + sub;
}

static void hash_part(uint8_t *buf, size_t *n, size_t cap, struct slice s)
{
    size_t k = SW_MIN(s.len, cap - *n);
    if (k != 0)
        memcpy(buf + *n, s.p, k);
    *n += k;
    if (*n < cap)
        buf[(*n)++] = 0; /* separator: "ab"+"c" differs from "a"+"bc" */
}

uint64_t proxy_loop_hash(const struct sipmsg *req)
{
    uint8_t buf[2048];
    size_t n = 0;
    char num[16];
    hash_part(buf, &n, sizeof(buf), req->ruri_s);
    hash_part(buf, &n, sizeof(buf), req->from.tag);
    hash_part(buf, &n, sizeof(buf), req->to.tag);
    hash_part(buf, &n, sizeof(buf), req->call_id);
    snprintf(num, sizeof(num), "%" PRIu32, req->cseq.num);
    hash_part(buf, &n, sizeof(buf), slice_cstr(num));
    const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_PROXY_REQUIRE);
    if (h != NULL)
        hash_part(buf, &n, sizeof(buf), h->value);
    h = sipmsg_hdr_first(req, HDR_PROXY_AUTHORIZATION);
    if (h != NULL)
        hash_part(buf, &n, sizeof(buf), h->value);
    return htab_hash(buf, n);
}

/* ---- §16.3 / §16.4 ---- */

/* Has any Via of req our loop parameter with this hash (§16.3 step 4)?
 * The hash is keyed with a per-start secret, so no other element can
 * produce it: finding it means this request already went through us
 * unchanged, a loop rather than a spiral. */
static bool has_loop(const struct sipmsg *req, uint64_t hash)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, hash);
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_VIA); h != NULL;
         h = sipmsg_hdr_next(req, h)) {
        if (memmem(h->value.p, h->value.len, PROXY_LOOP_PARAM "=", 4) == NULL)
            continue;
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            struct sip_via v;
            struct sip_err err;
            struct slice val;
            if (hdr_parse_via(&v, item, &err) == SIP_PARSE_OK &&
                hdr_param_find(v.params, PROXY_LOOP_PARAM, &val) && slice_caseeq_cstr(val, hex))
                return true;
        }
    }
    return false;
}

/* Counts Route values and finds which leading ones are ours. */
static int scan_routes(struct proxy *p, const struct sipmsg *req, unsigned *total,
                       unsigned *leading_ours, struct sip_nameaddr *last)
{
    bool leading = true;
    *total = 0;
    *leading_ours = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_ROUTE); h != NULL;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            struct sip_nameaddr na;
            struct sip_err err;
            if (hdr_parse_nameaddr(&na, item, &err) != SIP_PARSE_OK)
                return -EINVAL;
            if (leading && na.uri.scheme != URI_OTHER &&
                p->cfg.is_local(&na.uri, p->cfg.is_local_arg))
                (*leading_ours)++;
            else
                leading = false;
            *last = na;
            (*total)++;
        }
    }
    return 0;
}

/* The Route value at index idx (0-based over all fields). */
static bool route_at(const struct sipmsg *req, unsigned idx, struct sip_nameaddr *out)
{
    unsigned i = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_ROUTE); h != NULL;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            struct sip_err err;
            if (i++ == idx)
                return hdr_parse_nameaddr(out, item, &err) == SIP_PARSE_OK;
        }
    }
    return false;
}

unsigned proxy_prepare(struct proxy *p, struct proxy_prep *out, struct slice *unsupported,
                       const struct sipmsg *req, const struct tp_flow *flow)
{
    (void)flow;
    memset(out, 0, sizeof(*out));
    out->ruri = req->ruri_s;
    out->ruri_parsed = req->ruri;
    /* §16.3 step 3: a request that may not travel further. */
    if (req->max_forwards == 0)
        return 483;
    /* §16.3 step 5: we support no proxy extension yet, so every
     * Proxy-Require option tag is unsupported (420 with Unsupported). */
    const struct sip_hdr *pr = sipmsg_hdr_first(req, HDR_PROXY_REQUIRE);
    if (pr != NULL && req->method != SIP_ACK && req->method != SIP_CANCEL) {
        *unsupported = pr->value;
        return 420;
    }
    /* §16.3 step 4: loop detection. */
    if (has_loop(req, proxy_loop_hash(req)))
        return 482;

    unsigned total, ours;
    struct sip_nameaddr last;
    if (scan_routes(p, req, &total, &ours, &last) != 0)
        return 400;
    out->routes_popped = ours;
    /* §16.4: a strict router put the URI we record-routed into the
     * Request-URI and our next hop in the last Route: restore it. Our
     * Record-Route URIs have no user part and carry lr. */
    if (total > ours && req->ruri.scheme != URI_OTHER && !req->ruri.has_user && req->ruri.has_lr &&
        p->cfg.is_local(&req->ruri, p->cfg.is_local_arg)) {
        out->strict_route = true;
        out->ruri = last.uri_s;
        out->ruri_parsed = last.uri;
        total--;
    }
    if (total > ours) {
        struct sip_nameaddr next;
        if (!route_at(req, ours, &next))
            return 400;
        out->has_route = true;
        out->next_route = next.uri_s;
    }
    return 0;
}

/* ---- resolution ---- */

int proxy_uri_flow(struct proxy *p, struct tp_flow *out, struct slice s,
                   const struct tp_flow *in_flow)
{
    struct uri u;
    struct sip_err err;
    if (uri_parse(&u, s, &err) != SIP_PARSE_OK || u.scheme != URI_SIP)
        return -EINVAL; /* sips needs TLS, which does not exist yet */
    enum tp_proto proto = TP_UDP;
    if (u.transport.len != 0) {
        if (slice_caseeq_cstr(u.transport, "tcp"))
            proto = TP_TCP;
        else if (!slice_caseeq_cstr(u.transport, "udp"))
            return -EPROTONOSUPPORT;
    }
    struct slice host = u.maddr.len != 0 ? u.maddr : u.host;
    memset(out, 0, sizeof(*out));
    /* RFC 3263 §4 (SRV/NAPTR for names) waits for transport/dns.h. */
    if (tp_addr_from_ip(&out->remote, host, u.has_port ? u.port : 5060) != 0)
        return -EHOSTUNREACH;
    int fam = tp_addr_family(&out->remote);
    int li = -1;
    if (in_flow != NULL && in_flow->listener < p->cfg.nlisteners &&
        p->cfg.listeners[in_flow->listener].proto == proto &&
        tp_addr_family(&p->cfg.listeners[in_flow->listener].addr) == fam)
        li = (int)in_flow->listener;
    for (size_t i = 0; li < 0 && i < p->cfg.nlisteners; i++)
        if (p->cfg.listeners[i].proto == proto && tp_addr_family(&p->cfg.listeners[i].addr) == fam)
            li = (int)i;
    if (li < 0)
        return -EHOSTUNREACH;
    out->proto = proto;
    out->listener = (unsigned)li;
    out->local = p->cfg.listeners[li].addr;
    return 0;
}

/* ---- forwarded requests (§16.6) ---- */

/* Removes the Route values that §16.4 consumed: the leading ones that
 * name us and, after a strict router, the last one. A field keeping some
 * of its values gets the rest as its new value. */
static int edit_routes(struct sipedit *e, const struct sipmsg *req, const struct proxy_prep *prep)
{
    if (prep->routes_popped == 0 && !prep->strict_route)
        return 0;
    unsigned total = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_ROUTE); h != NULL;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item))
            total++;
    }
    unsigned idx = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_ROUTE); h != NULL;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        char keep[1024];
        size_t klen = 0;
        unsigned nval = 0, nkeep = 0;
        while (hdr_list_next(&rest, &item)) {
            bool drop = idx < prep->routes_popped || (prep->strict_route && idx == total - 1);
            idx++;
            nval++;
            if (drop)
                continue;
            if (klen + item.len + 2 > sizeof(keep))
                return -EMSGSIZE;
            if (nkeep++ > 0) {
                memcpy(keep + klen, ", ", 2);
                klen += 2;
            }
            memcpy(keep + klen, item.p, item.len);
            klen += item.len;
        }
        unsigned hi = (unsigned)(h - req->hdrs);
        int rc = 0;
        if (nkeep == 0)
            rc = sipedit_hdr_remove(e, hi);
        else if (nkeep != nval)
            rc = sipedit_hdr_set_value(e, hi, slice_make(keep, klen));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Dialog-creating methods get Record-Route (§16.6 step 4, §12.1). */
static bool wants_rr(const struct sipmsg *req)
{
    if (req->to.tag.len != 0)
        return false;
    return req->method == SIP_INVITE || req->method == SIP_SUBSCRIBE || req->method == SIP_REFER ||
           req->method == SIP_NOTIFY;
}

static int edit_record_route(struct proxy *p, struct sipedit *e, const struct sipmsg *req,
                             const struct tp_flow *in, const struct tp_flow *out)
{
    char v[TP_ADDR_STRLEN + 48];
    const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_RECORD_ROUTE);
    int before = h != NULL ? (int)(h - req->hdrs) : SIPEDIT_HDR_END;
    int n = proxy_rr_value(v, sizeof(v), &p->cfg.listeners[out->listener]);
    if (n < 0)
        return n;
    int rc = sipedit_hdr_insert(e, before, SLICE_LIT("Record-Route"), slice_make(v, (size_t)n));
    /* Two entries when the request leaves on another listener than it came
     * in (UDP in, TCP out; IPv4 in, IPv6 out): each side of the dialog
     * then routes to the address it can reach, and we pop both (RFC 5658
     * "double Record-Routing"). The outbound one goes on top, nearest to
     * the callee. */
    if (rc == 0 && in->listener != out->listener && in->listener < p->cfg.nlisteners) {
        n = proxy_rr_value(v, sizeof(v), &p->cfg.listeners[in->listener]);
        if (n < 0)
            return n;
        rc = sipedit_hdr_insert(e, before, SLICE_LIT("Record-Route"), slice_make(v, (size_t)n));
    }
    return rc;
}

ssize_t proxy_build_request(struct proxy *p, struct tp_flow *dst, const struct sipmsg *req,
                            const struct tp_flow *in_flow, const struct proxy_prep *prep,
                            struct slice ruri, struct slice dst_uri, bool record_route,
                            struct slice branch)
{
    struct sipedit e;
    int rc;
    sipedit_init(&e, req, p->a);
    /* §16.6 steps 6-7: the next hop is an explicit destination, else the
     * top Route left, else the (new) Request-URI. */
    struct slice new_ruri = ruri.len != 0 ? ruri : (prep->strict_route ? prep->ruri : SLICE_NULL);
    struct slice hop = dst_uri.len != 0    ? dst_uri
                       : prep->has_route   ? prep->next_route
                       : new_ruri.len != 0 ? new_ruri
                                           : req->ruri_s;
    if ((rc = proxy_uri_flow(p, dst, hop, in_flow)) != 0)
        return rc;
    if ((rc = edit_routes(&e, req, prep)) != 0)
        return rc;
    if (new_ruri.len != 0 && (rc = sipedit_ruri_set(&e, new_ruri)) != 0)
        return rc;
    /* §16.6 step 3: decrement Max-Forwards, or add one with 70. */
    const struct sip_hdr *mf = sipmsg_hdr_first(req, HDR_MAX_FORWARDS);
    char num[12];
    if (mf != NULL) {
        int n = snprintf(num, sizeof(num), "%d", req->max_forwards > 0 ? req->max_forwards - 1 : 0);
        rc = sipedit_hdr_set_value(&e, (unsigned)(mf - req->hdrs), slice_make(num, (size_t)n));
    } else {
        rc = sipedit_hdr_insert(&e, SIPEDIT_HDR_END, SLICE_LIT("Max-Forwards"), SLICE_LIT("70"));
    }
    if (rc != 0)
        return rc;
    if (record_route && wants_rr(req) && (rc = edit_record_route(p, &e, req, in_flow, dst)) != 0)
        return rc;
    /* §18.2.1 / RFC 3581: the previous hop's Via learns where it really
     * came from, so responses (stateless relay included) find it. */
    char ip[TP_ADDR_STRLEN];
    tp_addr_ip_str(&in_flow->remote, ip, sizeof(ip));
    if (req->has_via &&
        (rc = sipedit_via_received(&e, slice_cstr(ip), tp_addr_port(&in_flow->remote))) != 0)
        return rc;
    /* §16.6 step 8: our Via, with rport (RFC 3581) and the loop hash. */
    char via[TP_ADDR_STRLEN + 128], a[TP_ADDR_STRLEN];
    int vn = snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=" SLICE_FMT ";rport;%s=%016" PRIx64,
                      dst->proto == TP_TCP ? "TCP" : "UDP",
                      tp_addr_str(&p->cfg.listeners[dst->listener].addr, a, sizeof(a)),
                      SLICE_ARG(branch), PROXY_LOOP_PARAM, proxy_loop_hash(req));
    if (vn < 0 || (size_t)vn >= sizeof(via))
        return -EMSGSIZE;
    if ((rc = sipedit_via_push(&e, slice_make(via, (size_t)vn))) != 0)
        return rc;
    /* §18.3 / §20.14: Content-Length is mandatory on streams. */
    if (dst->proto == TP_TCP && (rc = sipedit_content_length_fix(&e)) < 0)
        return rc;
    return sipedit_print(&e, p->out, PROXY_OUT_CAP);
}

ssize_t proxy_build_response(struct proxy *p, const struct sipmsg *resp,
                             const struct sipmsg *const *extra_from, unsigned nextra,
                             bool to_stream)
{
    struct sipedit e;
    int rc;
    sipedit_init(&e, resp, p->a);
    /* §16.7 step 3: our Via goes; the rest is untouched (step 9). */
    if ((rc = sipedit_via_pop(&e)) != 0)
        return rc;
    /* §16.7 step 7: a 401/407 carries the challenges of every branch, so
     * the UAC can answer all of them in one retry. */
    for (unsigned i = 0; i < nextra; i++) {
        const struct sipmsg *x = extra_from[i];
        if (x == resp)
            continue;
        static const enum hdr_id ids[] = {HDR_WWW_AUTHENTICATE, HDR_PROXY_AUTHENTICATE};
        for (size_t k = 0; k < SW_ARRAY_LEN(ids); k++)
            for (const struct sip_hdr *h = sipmsg_hdr_first(x, ids[k]); h != NULL;
                 h = sipmsg_hdr_next(x, h)) {
                if (e.count + 4 >= SIPEDIT_MAX)
                    break; /* bounded: the first challenges are enough */
                rc =
                    sipedit_hdr_insert(&e, SIPEDIT_HDR_END, slice_cstr(hdr_name(ids[k])), h->value);
                if (rc != 0)
                    return rc;
            }
    }
    if (to_stream && (rc = sipedit_content_length_fix(&e)) < 0)
        return rc;
    return sipedit_print(&e, p->out, PROXY_OUT_CAP);
}

bool proxy_via_is_ours(const struct proxy *p, const struct sip_via *v)
{
    if (!(v->branch.len > 9 && (memcmp(v->branch.p, PROXY_SL_PREFIX, 9) == 0 ||
                                memcmp(v->branch.p, PROXY_SF_PREFIX, 9) == 0)))
        return false;
    struct tp_addr a;
    if (tp_addr_from_ip(&a, v->host, v->has_port ? v->port : 5060) != 0)
        return false;
    for (size_t i = 0; i < p->cfg.nlisteners; i++) {
        const struct tp_addr *l = &p->cfg.listeners[i].addr;
        if (tp_addr_port(l) == tp_addr_port(&a) && tp_addr_family(l) == tp_addr_family(&a) &&
            (tp_addr_is_any(l) || tp_addr_ip_eq(l, &a)))
            return true;
    }
    return false;
}

/* ---- stateless forwarding (§16.11) ---- */

int proxy_forward_stateless(struct proxy *p, const struct sipmsg *req, const struct tp_flow *flow,
                            const struct proxy_prep *prep, const struct proxy_decision *d)
{
    /* §16.11: the branch must be the same for retransmissions of a
     * request, and a CANCEL or non-2xx ACK must get the branch of its
     * INVITE: a hash of the received branch does both. RFC 2543 peers
     * without a magic cookie get a hash of the fields §17.2.3 matches on
     * (minus the method, so their CANCEL still lines up). */
    uint8_t key[1024];
    size_t n = 0;
    if (req->via1.branch.len > 7 && memcmp(req->via1.branch.p, PROXY_COOKIE, 7) == 0) {
        hash_part(key, &n, sizeof(key), req->via1.branch);
    } else {
        char num[16];
        hash_part(key, &n, sizeof(key), req->via1.raw);
        hash_part(key, &n, sizeof(key), req->call_id);
        hash_part(key, &n, sizeof(key), req->from.tag);
        snprintf(num, sizeof(num), "%" PRIu32, req->cseq.num);
        hash_part(key, &n, sizeof(key), slice_cstr(num));
    }
    char branch[32];
    int bn = snprintf(branch, sizeof(branch), PROXY_SL_PREFIX "%016" PRIx64, htab_hash(key, n));
    const struct proxy_target *t = d->ntargets != 0 ? &d->targets[0] : NULL;
    struct tp_flow dst;
    ssize_t len = proxy_build_request(p, &dst, req, flow, prep, t ? t->ruri : SLICE_NULL,
                                      t ? t->dst : SLICE_NULL, d->record_route,
                                      slice_make(branch, (size_t)bn));
    int rc = len < 0 ? (int)len : tp_send(p->w, &dst, p->out, (size_t)len);
    arena_reset(p->a);
    if (rc != 0) {
        metric_inc(proxy_m_fwd_fail);
        return rc;
    }
    metric_inc(req->method == SIP_ACK ? proxy_m_ack : proxy_m_fwd_sl);
    return 0;
}

/* Where a response goes after our Via is popped: the next Via's received
 * (or sent-by) host and its rport (or sent-by port), §18.2.2 and RFC 3581
 * §4 as a stateless element applies them. */
static int via_flow(struct proxy *p, struct tp_flow *out, const struct sipmsg *resp,
                    const struct tp_flow *in)
{
    unsigned i = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(resp, HDR_VIA); h != NULL;
         h = sipmsg_hdr_next(resp, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            if (i++ == 0)
                continue;
            struct sip_via v;
            struct sip_err err;
            if (hdr_parse_via(&v, item, &err) != SIP_PARSE_OK)
                return -EINVAL;
            uint64_t port = v.has_port ? v.port : 5060;
            if (v.has_rport && v.rport.len != 0 && slice_to_u64(&port, v.rport, 65535) != 0)
                return -EINVAL;
            struct slice host = v.received.len != 0 ? v.received : v.host;
            memset(out, 0, sizeof(*out));
            if (tp_addr_from_ip(&out->remote, host, (uint16_t)port) != 0)
                return -EHOSTUNREACH;
            out->proto = slice_caseeq_cstr(v.transport, "TCP") ? TP_TCP : TP_UDP;
            if (!slice_caseeq_cstr(v.transport, "TCP") && !slice_caseeq_cstr(v.transport, "UDP"))
                return -EPROTONOSUPPORT;
            int fam = tp_addr_family(&out->remote);
            int li = -1;
            if (in->listener < p->cfg.nlisteners &&
                p->cfg.listeners[in->listener].proto == out->proto &&
                tp_addr_family(&p->cfg.listeners[in->listener].addr) == fam)
                li = (int)in->listener;
            for (size_t k = 0; li < 0 && k < p->cfg.nlisteners; k++)
                if (p->cfg.listeners[k].proto == out->proto &&
                    tp_addr_family(&p->cfg.listeners[k].addr) == fam)
                    li = (int)k;
            if (li < 0)
                return -EHOSTUNREACH;
            out->listener = (unsigned)li;
            out->local = p->cfg.listeners[li].addr;
            return 0;
        }
    }
    return -ENOENT; /* only our Via: a response to ourselves */
}

void proxy_stray_response(struct proxy *p, const struct sipmsg *resp, const struct tp_flow *flow)
{
    const struct sip_via *v = &resp->via1;
    bool relay = false;
    if (resp->has_via && proxy_via_is_ours(p, v)) {
        if (memcmp(v->branch.p, PROXY_SL_PREFIX, 9) == 0)
            relay = true; /* §16.11: a stateless branch relays everything */
        else
            relay = resp->status >= 200 && resp->status < 300; /* RFC 6026 §7 */
    }
    if (!relay) {
        metric_inc(proxy_m_stray);
        return;
    }
    struct tp_flow dst;
    int rc = via_flow(p, &dst, resp, flow);
    ssize_t len = rc == 0 ? proxy_build_response(p, resp, NULL, 0, dst.proto == TP_TCP) : rc;
    rc = len < 0 ? (int)len : tp_send(p->w, &dst, p->out, (size_t)len);
    arena_reset(p->a);
    if (rc != 0) {
        metric_inc(proxy_m_fwd_fail);
        LOG_RL(LOG_LVL_INFO, PROXY_MOD, "cannot relay %u response: %s", resp->status,
               strerror(-rc));
        return;
    }
    metric_inc(proxy_m_resp_sl);
}
