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
 * contact and its NAT binding alive. With max_failures set, a binding
 * whose last max_failures keepalives all failed is removed (the phone is
 * gone: requests to it would only time out); by default (0) bindings
 * expire at their Expires like any other (§10.2.1.1).
 */
#include "app/registrar/reg_int.h"

#include "core/ev.h"
#include "core/htab.h"
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

static metric_id m_sent, m_failed, m_removed;

void reg_keepalive_metrics(void)
{
    m_sent = metric_register("registrar_keepalive_sent_total",
                             "keepalive OPTIONS sent to contacts behind NAT");
    m_failed = metric_register("registrar_keepalive_failed_total",
                               "keepalive OPTIONS that got no answer (408), a transport error "
                               "(503) or could not be sent");
    m_removed = metric_register("registrar_keepalive_removed_total",
                                "bindings removed after registrar.keepalive.max_failures "
                                "unanswered keepalives");
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

/* One keepalive. Owner: the tick, then (done arg) the send function
 * until done runs. key identifies the binding as pinged: "aor\0match_key\0
 * call_id\0received" (a re-registration from another flow or Call-ID is
 * another binding as far as failures go). */
struct ping {
    struct registrar *r; /* borrowed */
    uint32_t cseq;
    char uri[PING_URI_CAP];
    size_t key_len;
    char key[];
};

/* What one tick collects under the shard lock, sent after it is released
 * (store_visit_fn must not call back into the store or block). */
struct collect {
    struct registrar *r;
    struct ping **p; /* owned array of owned pings */
    size_t n, cap, room, skipped;
};

static void collect_one(void *arg, struct slice aor, const struct store_binding *b)
{
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
        void *np = realloc(c->p, cap * sizeof(*c->p));
        if (np == NULL) {
            c->skipped++;
            return;
        }
        c->p = np;
        c->cap = cap;
    }
    size_t mk = strlen(b->match_key) + 1, ci = strlen(b->call_id) + 1, rc = strlen(b->received) + 1,
           len = aor.len + 1 + mk + ci + rc;
    struct ping *p = malloc(sizeof(*p) + len);
    if (p == NULL) {
        c->skipped++;
        return;
    }
    p->r = c->r;
    p->cseq = b->cseq;
    p->key_len = len;
    char *k = p->key;
    memcpy(k, aor.p, aor.len);
    k[aor.len] = '\0';
    k += aor.len + 1;
    memcpy(k, b->match_key, mk);
    memcpy(k + mk, b->call_id, ci);
    memcpy(k + mk + ci, b->received, rc);
    /* The received address as the Request-URI and next hop: the NAT's
     * public side, where the binding must be refreshed. */
    int n = snprintf(p->uri, PING_URI_CAP, "sip:%s", b->received);
    if (n <= 0 || n >= PING_URI_CAP) {
        free(p);
        return;
    }
    c->p[c->n++] = p;
}

/* ---- removal after max_failures unanswered keepalives ----
 *
 * Failure counts live in r->ka_fails (keepalive loop only), one entry per
 * binding that failed lately; an answer clears it. An entry not updated
 * for two rounds plus Timer F (64*T1, §17.1.2.2) belongs to a binding that
 * is gone or answers again, and is dropped once per round. */
#define FAIL_ENTRIES_MAX 65536
#define FAIL_STALE_SLACK_S 64

struct ka_fail {
    struct htab_node node;
    int64_t last; /* wall clock s of the last failure */
    unsigned count;
    uint32_t cseq; /* of the binding pinged: a refresh starts the count anew */
    size_t key_len;
    char key[];
};

static bool fail_eq(const struct htab_node *node, const void *key)
{
    const struct ka_fail *f = SW_CONTAINER_OF(node, struct ka_fail, node);
    const struct ping *p = key;
    return f->key_len == p->key_len && memcmp(f->key, p->key, p->key_len) == 0;
}

static void fail_free(struct htab_node *node, void *arg)
{
    struct htab *t = arg;
    htab_remove(t, node);
    free(SW_CONTAINER_OF(node, struct ka_fail, node));
}

struct prune_ctx {
    struct htab *t;
    int64_t before;
};

static void fail_prune(struct htab_node *node, void *arg)
{
    struct prune_ctx *pc = arg;
    if (SW_CONTAINER_OF(node, struct ka_fail, node)->last < pc->before)
        fail_free(node, pc->t);
}

static void removed(void *arg, int rc, const struct store_binding *b, size_t count)
{
    (void)arg;
    (void)b;
    (void)count;
    if (rc != 0 && rc != -ESTALE)
        LOG_RL(LOG_LVL_WARN, MOD, "removing an unreachable contact failed: %s", strerror(-rc));
}

/* Removes the binding p pinged, if it is still the one pinged: same
 * Call-ID, CSeq and source. A REGISTER from another worker may slip in
 * between the look-up and the removal; the CSeq condition of the removal
 * (§10.3 step 7, the one the phone's next refresh would use) then keeps a
 * refresh with the same Call-ID, and the worst case of a new Call-ID is a
 * binding lost until its next refresh. */
static void remove_binding(struct registrar *r, const struct ping *p)
{
    const char *aor = p->key, *mk = aor + strlen(aor) + 1, *cid = mk + strlen(mk) + 1,
               *recv = cid + strlen(cid) + 1;
    struct store_binding *b = NULL;
    int n = store_lookup(r->store, slice_cstr(aor), reg_now(r), &b);
    char contact[256] = "";
    for (int i = 0; i < n; i++)
        if (strcmp(b[i].match_key, mk) == 0 && strcmp(b[i].call_id, cid) == 0 &&
            b[i].cseq == p->cseq && strcmp(b[i].received, recv) == 0)
            snprintf(contact, sizeof(contact), "%s", b[i].contact);
    if (n > 0)
        store_bindings_free(b, (size_t)n);
    if (contact[0] == '\0' || p->cseq == UINT32_MAX)
        return;
    struct store_change c = {.op = STORE_REMOVE};
    c.b.match_key = (char *)mk;
    c.b.call_id = (char *)cid;
    c.b.cseq = p->cseq + 1;
    struct store_apply_opts o = {.now = reg_now(r)};
    if (store_apply(r->store, slice_cstr(aor), &c, 1, &o, r->ka_loop, removed, NULL) != 0)
        return;
    metric_inc(m_removed);
    LOG_RL(LOG_LVL_NOTICE, MOD, "removed contact %s of %s (source %s): %u keepalives unanswered",
           contact, aor, recv, r->cfg.keepalive.max_failures);
}

static void note_result(struct registrar *r, const struct ping *p, bool ok)
{
    if (r->ka_fails == NULL)
        return;
    uint64_t h = htab_hash(p->key, p->key_len);
    struct htab_node *node = htab_find(r->ka_fails, h, fail_eq, p);
    struct ka_fail *f = node != NULL ? SW_CONTAINER_OF(node, struct ka_fail, node) : NULL;
    if (ok || f == NULL) {
        if (f != NULL)
            fail_free(&f->node, r->ka_fails);
        if (ok || htab_count(r->ka_fails) >= FAIL_ENTRIES_MAX ||
            (f = calloc(1, sizeof(*f) + p->key_len)) == NULL)
            return;
        f->key_len = p->key_len;
        f->cseq = p->cseq;
        memcpy(f->key, p->key, p->key_len);
        (void)htab_insert(r->ka_fails, &f->node, h); /* inserted even when a grow failed */
    }
    if (f->cseq != p->cseq) {
        f->cseq = p->cseq; /* refreshed since (§10.2.4): the phone is there */
        f->count = 0;
    }
    f->last = reg_now(r);
    if (++f->count < r->cfg.keepalive.max_failures)
        return;
    fail_free(&f->node, r->ka_fails);
    remove_binding(r, p);
}

static void ping_done(unsigned code, void *arg)
{
    struct ping *p = arg;
    struct registrar *r = p->r;
    r->ka_inflight--;
    if (code == 408 || code == 503) {
        metric_inc(m_failed);
        LOG_RL(LOG_LVL_INFO, MOD, "keepalive to %s failed (%u)", p->uri, code);
    }
    /* any answer, even 4xx, proves the contact and its NAT binding alive;
     * 0 (dropped at shutdown) proves nothing */
    if (code != 0 && r->ka_loop != NULL)
        note_result(r, p, code != 408 && code != 503);
    free(p);
}

size_t reg_keepalive_tick(struct registrar *r)
{
    if (r->ka_send == NULL)
        return 0;
    unsigned shard = r->ka_cursor++ % STORE_SHARDS;
    if (shard == 0 && r->ka_fails != NULL) {
        struct prune_ctx pc = {
            .t = r->ka_fails,
            .before = reg_now(r) - (int64_t)(2 * r->cfg.keepalive.interval_ms / 1000) -
                      FAIL_STALE_SLACK_S,
        };
        htab_foreach(r->ka_fails, fail_prune, &pc);
    }
    unsigned max = r->cfg.keepalive.max_inflight;
    struct collect c = {.r = r, .room = r->ka_inflight < max ? max - r->ka_inflight : 0};
    (void)store_foreach_shard(r->store, shard, reg_now(r), collect_one, &c);
    size_t sent = 0;
    for (size_t i = 0; i < c.n; i++) {
        struct ping *p = c.p[i];
        int rc = r->ka_send(r->ka_send_arg, p->uri, ping_done, p);
        if (rc != 0) {
            metric_inc(m_failed);
            LOG_RL(LOG_LVL_INFO, MOD, "keepalive to %s not sent: %s", p->uri, strerror(-rc));
            free(p);
            continue;
        }
        r->ka_inflight++;
        metric_inc(m_sent);
        sent++;
    }
    free(c.p);
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
    if (r->cfg.keepalive.max_failures != 0)
        r->ka_fails = htab_new(64); /* NULL (ENOMEM): failures are only counted */
    tmr_init(&r->ka_timer, tick_fire, r);
    tmr_start(ev_timers(loop), &r->ka_timer, tick_ms(r));
}

void reg_keepalive_stop(struct registrar *r)
{
    if (r->ka_loop == NULL)
        return;
    tmr_stop(&r->ka_timer);
    if (r->ka_fails != NULL) {
        htab_foreach(r->ka_fails, fail_free, r->ka_fails);
        htab_free(r->ka_fails);
        r->ka_fails = NULL;
    }
    r->ka_loop = NULL;
    r->ka_send = NULL;
}

unsigned reg_keepalive_inflight(const struct registrar *r)
{
    return r->ka_inflight;
}
