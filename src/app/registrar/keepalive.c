/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NAT keepalive towards registered contacts (registrar.keepalive).
 *
 * RFC 3261 defines no keepalive. A phone behind a NAT registers from a
 * public IP:port the NAT made up; requests for it reach it only while that
 * NAT binding lives (often 30-60 s for UDP). Common practice (Kamailio
 * nathelper natping, OpenSIPS nat_traversal) is for the registrar to send
 * a request (OPTIONS, RFC 3261 §11) to the address the REGISTER came from
 * now and then: the outgoing datagram refreshes the binding and the
 * answer tells whether the contact is still there. This is that, with
 * bounded work: one store shard per tick (STORE_SHARDS ticks per
 * interval, so each contact is pinged about once per interval) and at
 * most max_inflight OPTIONS waiting for an answer.
 *
 * Scope: UDP bindings only. A TCP binding's NAT mapping is kept by its
 * connection (and RFC 5626 §4.4.1 CRLF keepalives by the client); an
 * OPTIONS from this worker would have to open a new connection towards a
 * NAT, which cannot work. Bindings with a Path are skipped too: the edge
 * proxy that added it owns the flow (RFC 3327 §5.3). The OPTIONS leaves
 * from the first UDP listener of the source's address family (the probe
 * helper picks it): with several UDP listeners that may not be the one
 * the REGISTER reached, which a port-restricted NAT would not accept.
 *
 * A keepalive that ends 408 (no answer) or 503 (transport error) is
 * counted and logged; any other final response, 4xx included, proves the
 * contact and its NAT binding alive. Bindings are not removed for that:
 * they expire at their Expires like any other (§10.2.1.1).
 */
#include "app/registrar/reg_int.h"

#include "core/ev.h"
#include "core/log.h"
#include "core/metric.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "registrar"
/* "sip:" + "[v6]:port" + NUL */
#define PING_URI_CAP (STORE_ADDR_STRLEN + 8)

static metric_id m_sent, m_failed;

void reg_keepalive_metrics(void)
{
    m_sent = metric_register("registrar_keepalive_sent_total",
                             "keepalive OPTIONS sent to contacts behind NAT");
    m_failed = metric_register("registrar_keepalive_failed_total",
                               "keepalive OPTIONS that got no answer (408), a transport error "
                               "(503) or could not be sent");
}

/* Private and shared address space that a public registrar never sees as
 * a source, so a Contact naming one was written behind a NAT: RFC 1918
 * (10/8, 172.16/12, 192.168/16), RFC 6598 (100.64/10, carrier-grade NAT)
 * and RFC 4193 (fc00::/7). */
static bool is_private(const struct tp_addr *a)
{
    if (tp_addr_family(a) == AF_INET) {
        uint32_t ip = ntohl(a->u.sin.sin_addr.s_addr);
        return (ip >> 24) == 10 || (ip >> 20) == (172u << 4 | 1u) ||
               (ip >> 16) == (192u << 8 | 168u) || (ip >> 22) == (100u << 2 | 1u);
    }
    if (tp_addr_family(a) == AF_INET6)
        return (a->u.sin6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc;
    return false;
}

bool reg_contact_natted(struct slice contact, const char *received)
{
    struct tp_addr src, c;
    struct uri u;
    struct sip_err err;
    if (received == NULL || tp_addr_parse(&src, slice_cstr(received), 5060) != 0)
        return false; /* no source to send to */
    if (uri_parse(&u, contact, &err) != SIP_PARSE_OK ||
        (u.scheme != URI_SIP && u.scheme != URI_SIPS))
        return false;
    uint16_t port = u.has_port ? u.port : (u.scheme == URI_SIPS ? 5061 : 5060);
    if (tp_addr_from_ip(&c, u.host, port) != 0)
        return true; /* a host name: not the source address we saw */
    return is_private(&c) || !tp_addr_eq(&c, &src);
}

/* What one tick collects under the shard lock, sent after it is released
 * (store_visit_fn must not call back into the store or block). */
struct collect {
    char (*uri)[PING_URI_CAP]; /* owned */
    size_t n, cap, room, skipped;
};

static void collect_one(void *arg, struct slice aor, const struct store_binding *b)
{
    (void)aor;
    struct collect *c = arg;
    if (b->proto != TP_UDP || (b->path != NULL && b->path[0] != '\0') ||
        !reg_contact_natted(slice_cstr(b->contact), b->received))
        return;
    if (c->n == c->room) {
        c->skipped++;
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap != 0 ? c->cap * 2 : 16;
        void *p = realloc(c->uri, cap * sizeof(*c->uri));
        if (p == NULL) {
            c->skipped++;
            return;
        }
        c->uri = p;
        c->cap = cap;
    }
    /* The received address as the Request-URI and next hop: the NAT's
     * public side, where the binding must be refreshed. */
    int k = snprintf(c->uri[c->n], PING_URI_CAP, "sip:%s", b->received);
    if (k > 0 && k < PING_URI_CAP)
        c->n++;
}

/* Owner: the keepalive (proxy_probe's done arg) until done runs. */
struct ping {
    struct registrar *r; /* borrowed */
    char uri[PING_URI_CAP];
};

static void ping_done(unsigned code, void *arg)
{
    struct ping *p = arg;
    p->r->ka_inflight--;
    if (code == 408 || code == 503) {
        metric_inc(m_failed);
        LOG_RL(LOG_LVL_INFO, MOD, "keepalive to %s failed (%u)", p->uri, code);
    }
    free(p);
}

size_t reg_keepalive_tick(struct registrar *r)
{
    if (r->ka_send == NULL)
        return 0;
    unsigned max = r->cfg.keepalive.max_inflight;
    struct collect c = {.room = r->ka_inflight < max ? max - r->ka_inflight : 0};
    (void)store_foreach_shard(r->store, r->ka_cursor++ % STORE_SHARDS, reg_now(r), collect_one, &c);
    size_t sent = 0;
    for (size_t i = 0; i < c.n; i++) {
        struct ping *p = malloc(sizeof(*p));
        int rc = -ENOMEM;
        if (p != NULL) {
            p->r = r;
            memcpy(p->uri, c.uri[i], sizeof(p->uri));
            rc = r->ka_send(r->ka_send_arg, p->uri, ping_done, p);
        }
        if (rc != 0) {
            free(p);
            metric_inc(m_failed);
            LOG_RL(LOG_LVL_INFO, MOD, "keepalive to %s not sent: %s", c.uri[i], strerror(-rc));
            continue;
        }
        r->ka_inflight++;
        metric_inc(m_sent);
        sent++;
    }
    free(c.uri);
    if (c.skipped != 0)
        LOG_RL(LOG_LVL_NOTICE, MOD, "%zu keepalives skipped: registrar.keepalive.max_inflight",
               c.skipped);
    return sent;
}

static uint64_t tick_ms(const struct registrar *r)
{
    uint64_t t = r->cfg.keepalive.interval_ms / STORE_SHARDS;
    return t != 0 ? t : 1;
}

static void tick_fire(struct tmr *t, void *arg)
{
    struct registrar *r = arg;
    (void)reg_keepalive_tick(r);
    tmr_start(ev_timers(r->ka_loop), t, tick_ms(r));
}

void reg_keepalive_start(struct registrar *r, struct ev_loop *loop, reg_ping_send_fn *send,
                         void *send_arg)
{
    if (!r->cfg.keepalive.enabled || r->ka_loop != NULL)
        return;
    r->ka_loop = loop;
    r->ka_send = send;
    r->ka_send_arg = send_arg;
    tmr_init(&r->ka_timer, tick_fire, r);
    tmr_start(ev_timers(loop), &r->ka_timer, tick_ms(r));
}

void reg_keepalive_stop(struct registrar *r)
{
    if (r->ka_loop == NULL)
        return;
    tmr_stop(&r->ka_timer);
    r->ka_loop = NULL;
    r->ka_send = NULL;
}

unsigned reg_keepalive_inflight(const struct registrar *r)
{
    return r->ka_inflight;
}
