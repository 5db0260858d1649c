/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 3263 server location (NAPTR, SRV, A/AAAA) with c-ares on a worker's loop. */
#include "transport/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/time.h>

#include <ares.h>

#include "core/ev.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/tmr.h"

#define DNS_NAME_MAX 255      /* RFC 1035 §2.3.4, plus room for "_sips._tcp." */
#define DNS_MAX_SRV_SETS 4    /* SRV names one resolution queries (NAPTR or defaults) */
#define DNS_MAX_ADDRS 8       /* A (and AAAA) records kept per host */
#define DNS_DEFAULT_PORT 5060 /* RFC 3261 §19.1.2 */
#define DNS_DEFAULT_TLS_PORT 5061

/* ---- types ---- */

enum dns_phase { PH_NAPTR, PH_SRV, PH_ADDR };

/* One outstanding c-ares query of a request (its callback argument). */
struct dns_sub {
    struct dns_req *req; /* borrowed: the request, alive while pending > 0 */
    uint8_t phase;       /* enum dns_phase */
    uint8_t is_v6;       /* PH_ADDR: AAAA */
    uint16_t idx;        /* srv set or host index */
};

/* An SRV name to query and the transport its targets use. */
struct dns_srvset {
    char name[DNS_NAME_MAX + 1];
    enum tp_proto proto;
    bool is_tls;
    struct ares_srv_reply *reply; /* owned (ares_free_data), NULL until answered */
};

/* A host whose A/AAAA records become targets. */
struct dns_host {
    char name[DNS_NAME_MAX + 1];
    uint16_t port;
    enum tp_proto proto;
    bool is_tls;
    struct tp_addr a4[DNS_MAX_ADDRS], a6[DNS_MAX_ADDRS];
    uint8_t n4, n6;
};

/* One resolution. Owner: the resolver (list); thread: the loop's. Freed
 * when no c-ares query is outstanding and it is done or cancelled. */
struct dns_req {
    struct dns_req *next, *prev; /* resolver's list; borrowed */
    struct dns_resolver *r;      /* borrowed */
    dns_result_fn *cb;
    void *arg; /* borrowed */
    struct dns_query q;
    char host[DNS_NAME_MAX + 1]; /* q.host points here */
    unsigned pending;            /* c-ares queries outstanding */
    int err;                     /* worst failure seen so far, for the final result */
    bool is_done, is_cancelled;
    bool is_launching; /* issuing a phase's queries: their callbacks may run at once */
    bool is_starting;  /* inside dns_resolve_sip(): results wait for the defer timer */
    struct tmr defer;  /* delivers a result reached inside dns_resolve_sip() */
    struct dns_srvset srv[DNS_MAX_SRV_SETS];
    unsigned nsrv;
    struct dns_host hosts[DNS_MAX_HOSTS];
    unsigned nhosts;
    struct dns_sub subs[1 + DNS_MAX_SRV_SETS + 2 * DNS_MAX_HOSTS];
    struct dns_target out[DNS_MAX_RESULTS];
    size_t nout;
};

/* Owner: the creator; thread: the loop's. */
struct dns_resolver {
    struct ev_loop *loop;  /* borrowed */
    ares_channel channel;  /* owned */
    struct tmr timer;      /* c-ares timeouts */
    struct dns_config cfg; /* copy; servers not kept */
    struct dns_req *reqs;  /* owned list */
    size_t nreqs;
    uint64_t rng;
    bool is_closing;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_SUCCESS;

static void lib_init(void)
{
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static uint64_t rng_next(struct dns_resolver *r)
{
    /* xorshift64*: RFC 2782 weighted selection needs spread, not secrecy */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545f4914f6cdd1dull;
}

static int map_status(int status)
{
    switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
        return -ENOENT;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
        return -ETIMEDOUT;
    case ARES_ENOMEM:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

/* Keeps the most telling failure: "nothing exists" only if nothing else went wrong. */
static void note_err(struct dns_req *q, int err)
{
    if (q->err == 0 || q->err == -ENOENT)
        q->err = err;
}

/* ---- loop integration ---- */

static void update_timer(struct dns_resolver *r)
{
    struct timeval tv, *t;

    if (r->is_closing)
        return;
    t = ares_timeout(r->channel, NULL, &tv);
    if (t == NULL) {
        tmr_stop(&r->timer);
        return;
    }
    tmr_start(ev_timers(r->loop), &r->timer,
              (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_usec + 999) / 1000);
}

static void on_timer(struct tmr *t, void *arg)
{
    struct dns_resolver *r = arg;

    (void)t;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    update_timer(r);
}

static void on_io(int fd, uint32_t events, void *arg)
{
    struct dns_resolver *r = arg;
    bool is_read = events & (EPOLLIN | EPOLLERR | EPOLLHUP);

    ares_process_fd(r->channel, is_read ? fd : ARES_SOCKET_BAD,
                    events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
    update_timer(r);
}

/* c-ares opens and closes its sockets itself and tells us what to watch. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns_resolver *r = data;
    uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
    int rc;

    if (ev == 0) {
        ev_io_del(r->loop, fd);
        return;
    }
    rc = ev_io_mod(r->loop, fd, ev);
    if (rc == -ENOENT)
        rc = ev_io_add(r->loop, fd, ev, on_io, r);
    if (rc < 0)
        LOG_RL(LOG_LVL_WARN, "dns", "cannot watch DNS socket %d: %s", fd, strerror(-rc));
}

/* ---- request lifetime ---- */

static void req_free(struct dns_req *q)
{
    struct dns_resolver *r = q->r;

    tmr_stop(&q->defer);
    for (unsigned i = 0; i < q->nsrv; i++)
        if (q->srv[i].reply)
            ares_free_data(q->srv[i].reply);
    if (q->prev)
        q->prev->next = q->next;
    else
        r->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    r->nreqs--;
    free(q);
}

static void deliver(struct dns_req *q)
{
    q->is_done = true;
    if (q->is_starting)
        return; /* dns_resolve_sip() arms the defer timer */
    if (!q->is_cancelled && !q->r->is_closing) {
        int err = q->nout > 0 ? 0 : (q->err ? q->err : -ENOENT);
        q->cb(q->out, q->nout, err, q->arg);
    }
    if (q->pending == 0)
        req_free(q);
}

static void on_defer(struct tmr *t, void *arg)
{
    (void)t;
    deliver(arg);
}

static void add_target(struct dns_req *q, enum tp_proto proto, bool is_tls, const struct tp_addr *a)
{
    if (q->nout >= q->r->cfg.max_results)
        return;
    q->out[q->nout].proto = proto;
    q->out[q->nout].is_tls = is_tls;
    q->out[q->nout].addr = *a;
    q->nout++;
}

static void ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/* Issues one query; the request's pending count covers it. */
static void launch(struct dns_req *q, const char *name, int type, enum dns_phase ph, unsigned idx,
                   bool is_v6)
{
    struct dns_sub *s;
    unsigned slot = ph == PH_NAPTR ? 0
                    : ph == PH_SRV ? 1 + idx
                                   : 1 + DNS_MAX_SRV_SETS + 2 * idx + is_v6;

    s = &q->subs[slot];
    s->req = q;
    s->phase = (uint8_t)ph;
    s->is_v6 = is_v6;
    s->idx = (uint16_t)idx;
    q->pending++;
    ares_query(q->r->channel, name, ns_c_in, type, ares_cb, s);
}

static void phase_end(struct dns_req *q, enum dns_phase ph);

/*
 * A c-ares callback may run before ares_query() returns (no usable server,
 * out of memory), so a phase is ended by whoever sees its last query
 * finish outside the launch loop: the callback, or this function.
 */
static void launch_end(struct dns_req *q, enum dns_phase ph)
{
    q->is_launching = false;
    if (q->pending == 0)
        phase_end(q, ph);
}

static void start_addr_phase(struct dns_req *q)
{
    bool is_v6 = q->r->cfg.use_ipv6;

    if (q->nhosts == 0) {
        deliver(q);
        return;
    }
    q->is_launching = true;
    for (unsigned i = 0; i < q->nhosts && !q->is_cancelled; i++) {
        launch(q, q->hosts[i].name, ns_t_a, PH_ADDR, i, false);
        if (is_v6)
            launch(q, q->hosts[i].name, ns_t_aaaa, PH_ADDR, i, true);
    }
    launch_end(q, PH_ADDR);
}

static void start_srv_phase(struct dns_req *q)
{
    q->is_launching = true;
    for (unsigned i = 0; i < q->nsrv && !q->is_cancelled; i++)
        launch(q, q->srv[i].name, ns_t_srv, PH_SRV, i, false);
    launch_end(q, PH_SRV);
}

static void start_naptr_phase(struct dns_req *q)
{
    q->is_launching = true;
    launch(q, q->host, ns_t_naptr, PH_NAPTR, 0, false);
    launch_end(q, PH_NAPTR);
}

static struct dns_host *host_add(struct dns_req *q, const char *name, uint16_t port,
                                 enum tp_proto proto, bool is_tls)
{
    struct dns_host *h;

    if (q->nhosts >= DNS_MAX_HOSTS || strlen(name) > DNS_NAME_MAX)
        return NULL;
    h = &q->hosts[q->nhosts++];
    memset(h, 0, sizeof(*h));
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->port = port;
    h->proto = proto;
    h->is_tls = is_tls;
    return h;
}

static void srvset_add(struct dns_req *q, const char *prefix, const char *domain,
                       enum tp_proto proto, bool is_tls)
{
    struct dns_srvset *s;
    int n;

    if (q->nsrv >= DNS_MAX_SRV_SETS)
        return;
    s = &q->srv[q->nsrv];
    n = snprintf(s->name, sizeof(s->name), "%s%s", prefix, domain);
    if (n < 0 || (size_t)n >= sizeof(s->name))
        return;
    s->proto = proto;
    s->is_tls = is_tls;
    s->reply = NULL;
    q->nsrv++;
}

/* Default transport and port when nothing in DNS says otherwise:
 * RFC 3263 §4.1 (UDP for sip, TLS over TCP for sips) and §4.2. */
static void default_transport(const struct dns_query *dq, enum tp_proto *proto, bool *is_tls)
{
    if (dq->has_transport) {
        *proto = dq->transport;
        *is_tls = dq->is_tls || dq->is_sips;
    } else {
        *proto = dq->is_sips ? TP_TCP : TP_UDP;
        *is_tls = dq->is_sips;
    }
}

static uint16_t default_port(bool is_tls)
{
    return is_tls ? DNS_DEFAULT_TLS_PORT : DNS_DEFAULT_PORT;
}

/* ---- NAPTR (RFC 3263 §4.1, RFC 3403) ---- */

static int naptr_cmp(const void *a, const void *b)
{
    const struct ares_naptr_reply *x = *(const struct ares_naptr_reply *const *)a;
    const struct ares_naptr_reply *y = *(const struct ares_naptr_reply *const *)b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    if (x->preference != y->preference)
        return x->preference < y->preference ? -1 : 1;
    return 0;
}

static void naptr_done(struct dns_req *q, unsigned char *abuf, int alen)
{
    struct ares_naptr_reply *head = NULL, *sorted[32];
    size_t n = 0;

    if (ares_parse_naptr_reply(abuf, alen, &head) != ARES_SUCCESS)
        head = NULL;
    for (struct ares_naptr_reply *p = head; p && n < SW_ARRAY_LEN(sorted); p = p->next)
        sorted[n++] = p;
    qsort(sorted, n, sizeof(sorted[0]), naptr_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct ares_naptr_reply *p = sorted[i];
        const char *svc = (const char *)p->service;
        /* §4.1: only "s" records lead to SRV; a sips URI may use only
         * SIPS+D2T, and services we have no transport for are skipped. */
        if (strcasecmp((const char *)p->flags, "s") != 0 || p->replacement == NULL ||
            p->replacement[0] == '\0' || strcmp(p->replacement, ".") == 0)
            continue;
        if (strcasecmp(svc, "SIPS+D2T") == 0)
            srvset_add(q, "", p->replacement, TP_TCP, true);
        else if (q->q.is_sips)
            continue;
        else if (strcasecmp(svc, "SIP+D2U") == 0)
            srvset_add(q, "", p->replacement, TP_UDP, false);
        else if (strcasecmp(svc, "SIP+D2T") == 0)
            srvset_add(q, "", p->replacement, TP_TCP, false);
    }
    if (head)
        ares_free_data(head);
}

/* §4.1: no usable NAPTR: SRV for every transport we support, preferring
 * UDP as RFC 3261 §18.1.1 does for small requests. */
static void srv_defaults(struct dns_req *q)
{
    if (q->q.is_sips) {
        srvset_add(q, "_sips._tcp.", q->host, TP_TCP, true);
        return;
    }
    srvset_add(q, "_sip._udp.", q->host, TP_UDP, false);
    srvset_add(q, "_sip._tcp.", q->host, TP_TCP, false);
    srvset_add(q, "_sips._tcp.", q->host, TP_TCP, true);
}

/* ---- SRV ordering (RFC 2782) ---- */

static int srv_prio_cmp(const void *a, const void *b)
{
    const struct ares_srv_reply *x = *(const struct ares_srv_reply *const *)a;
    const struct ares_srv_reply *y = *(const struct ares_srv_reply *const *)b;

    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    /* weight 0 first inside a priority, as RFC 2782 orders them */
    return (x->weight != 0) - (y->weight != 0);
}

/*
 * RFC 2782 "Usage rules": lowest priority first; inside one priority pick
 * at random with probability proportional to weight (running sums, zero
 * weights kept at the front so they still get a small chance), remove,
 * repeat. Every target is kept, so the caller can fail over across all.
 */
static size_t srv_order(struct dns_req *q, struct ares_srv_reply *head,
                        const struct ares_srv_reply **out, size_t cap)
{
    const struct ares_srv_reply *all[DNS_MAX_HOSTS * 2];
    size_t n = 0, done = 0;

    for (struct ares_srv_reply *p = head; p && n < SW_ARRAY_LEN(all); p = p->next)
        if (strcmp(p->host, ".") != 0 && p->host[0] != '\0')
            all[n++] = p;
    qsort(all, n, sizeof(all[0]), srv_prio_cmp);
    while (done < n && done < cap) {
        size_t end = done;
        while (end < n && all[end]->priority == all[done]->priority)
            end++;
        while (done < end && done < cap) {
            uint64_t sum = 0, pick, run = 0;
            size_t k;
            for (k = done; k < end; k++)
                sum += all[k]->weight;
            pick = rng_next(q->r) % (sum + 1);
            for (k = done; k < end; k++) {
                run += all[k]->weight;
                if (run >= pick)
                    break;
            }
            if (k == end)
                k = end - 1;
            out[done] = all[k];
            all[k] = all[done];
            all[done] = out[done];
            done++;
        }
    }
    return done;
}

static void srv_phase_end(struct dns_req *q)
{
    for (unsigned i = 0; i < q->nsrv; i++) {
        const struct ares_srv_reply *ord[DNS_MAX_HOSTS];
        size_t n = srv_order(q, q->srv[i].reply, ord, SW_ARRAY_LEN(ord));
        for (size_t k = 0; k < n; k++)
            (void)host_add(q, ord[k]->host, ord[k]->port, q->srv[i].proto, q->srv[i].is_tls);
    }
    if (q->nhosts == 0 && q->err == -ETIMEDOUT) {
        deliver(q);
        return;
    }
    if (q->nhosts == 0) {
        /* §4.1: no SRV records: A/AAAA of the domain at the default port */
        enum tp_proto proto;
        bool is_tls;
        default_transport(&q->q, &proto, &is_tls);
        (void)host_add(q, q->host, default_port(is_tls), proto, is_tls);
    }
    start_addr_phase(q);
}

static void addr_phase_end(struct dns_req *q)
{
    for (unsigned i = 0; i < q->nhosts; i++) {
        const struct dns_host *h = &q->hosts[i];
        for (unsigned k = 0; k < h->n4; k++)
            add_target(q, h->proto, h->is_tls, &h->a4[k]);
        for (unsigned k = 0; k < h->n6; k++)
            add_target(q, h->proto, h->is_tls, &h->a6[k]);
    }
    deliver(q);
}

static void phase_end(struct dns_req *q, enum dns_phase ph)
{
    if (q->is_cancelled || q->r->is_closing) {
        if (q->pending == 0)
            req_free(q);
        return;
    }
    switch (ph) {
    case PH_NAPTR:
        if (q->err == -ETIMEDOUT) {
            deliver(q); /* no server answers: SRV and A would time out too */
            break;
        }
        if (q->nsrv == 0)
            srv_defaults(q);
        start_srv_phase(q);
        break;
    case PH_SRV:
        srv_phase_end(q);
        break;
    case PH_ADDR:
        addr_phase_end(q);
        break;
    }
}

static void addr_done(struct dns_req *q, struct dns_host *h, bool is_v6, unsigned char *abuf,
                      int alen)
{
    int n = DNS_MAX_ADDRS;

    if (is_v6) {
        struct ares_addr6ttl a[DNS_MAX_ADDRS];
        if (ares_parse_aaaa_reply(abuf, alen, NULL, a, &n) != ARES_SUCCESS)
            return;
        for (int i = 0; i < n; i++) {
            struct tp_addr *t = &h->a6[h->n6++];
            memset(t, 0, sizeof(*t));
            t->u.sin6.sin6_family = AF_INET6;
            memcpy(&t->u.sin6.sin6_addr, &a[i].ip6addr, sizeof(t->u.sin6.sin6_addr));
            t->u.sin6.sin6_port = htons(h->port);
            t->len = sizeof(t->u.sin6);
        }
    } else {
        struct ares_addrttl a[DNS_MAX_ADDRS];
        if (ares_parse_a_reply(abuf, alen, NULL, a, &n) != ARES_SUCCESS)
            return;
        for (int i = 0; i < n; i++) {
            struct tp_addr *t = &h->a4[h->n4++];
            memset(t, 0, sizeof(*t));
            t->u.sin.sin_family = AF_INET;
            t->u.sin.sin_addr = a[i].ipaddr;
            t->u.sin.sin_port = htons(h->port);
            t->len = sizeof(t->u.sin);
        }
    }
    (void)q;
}

static void ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_sub *s = arg;
    struct dns_req *q = s->req;
    enum dns_phase ph = s->phase;

    (void)timeouts;
    if (status != ARES_SUCCESS) {
        note_err(q, map_status(status));
    } else if (!q->is_cancelled && !q->r->is_closing) {
        switch (ph) {
        case PH_NAPTR:
            naptr_done(q, abuf, alen);
            break;
        case PH_SRV: {
            struct ares_srv_reply *rep = NULL;
            if (ares_parse_srv_reply(abuf, alen, &rep) == ARES_SUCCESS)
                q->srv[s->idx].reply = rep;
            else
                note_err(q, -EIO);
            break;
        }
        case PH_ADDR:
            addr_done(q, &q->hosts[s->idx], s->is_v6, abuf, alen);
            break;
        }
    }
    q->pending--;
    if (q->pending == 0 && !q->is_launching)
        phase_end(q, ph);
}

/* ---- public API ---- */

struct dns_resolver *dns_resolver_new(struct ev_loop *loop, const struct dns_config *cfg, char *err,
                                      size_t errlen)
{
    struct ares_options opts;
    struct dns_resolver *r;
    char csv[1024];
    size_t len = 0;
    int rc;

    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS) {
        snprintf(err, errlen, "dns: c-ares: %s", ares_strerror(lib_status));
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "dns: out of memory");
        return NULL;
    }
    r->loop = loop;
    r->cfg = *cfg;
    r->cfg.servers = (struct cfg_strlist){0};
    if (r->cfg.max_results == 0 || r->cfg.max_results > DNS_MAX_RESULTS)
        r->cfg.max_results = DNS_MAX_RESULTS;
    if (getrandom(&r->rng, sizeof(r->rng), 0) != sizeof(r->rng) || r->rng == 0)
        r->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)r;
    tmr_init(&r->timer, on_timer, r);
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = on_sock_state;
    opts.sock_state_cb_data = r;
    opts.timeout = (int)SW_MAX(cfg->timeout_ms, 1);
    opts.tries = (int)SW_MAX(cfg->tries, 1);
    /* NOSEARCH: SIP hosts are fully qualified (RFC 3263 §4); no search list. */
    opts.flags = ARES_FLAG_NOSEARCH;
    rc = ares_init_options(&r->channel, &opts,
                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                               ARES_OPT_FLAGS);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "dns: c-ares: %s", ares_strerror(rc));
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < cfg->servers.count; i++) {
        int n = snprintf(csv + len, sizeof(csv) - len, "%s%s", i ? "," : "", cfg->servers.items[i]);
        if (n < 0 || (size_t)n >= sizeof(csv) - len) {
            snprintf(err, errlen, "dns: too many servers");
            goto fail;
        }
        len += (size_t)n;
    }
    if (len > 0 && (rc = ares_set_servers_ports_csv(r->channel, csv)) != ARES_SUCCESS) {
        snprintf(err, errlen, "dns: servers '%s': %s", csv, ares_strerror(rc));
        goto fail;
    }
    return r;
fail:
    ares_destroy(r->channel);
    free(r);
    return NULL;
}

void dns_resolver_free(struct dns_resolver *r)
{
    if (r == NULL)
        return;
    r->is_closing = true;
    tmr_stop(&r->timer);
    /* ares_destroy runs every outstanding callback with ARES_EDESTRUCTION;
     * with is_closing set they only release their requests. */
    ares_destroy(r->channel);
    while (r->reqs)
        req_free(r->reqs);
    free(r);
}

size_t dns_pending(const struct dns_resolver *r)
{
    return r->nreqs;
}

void dns_cancel(struct dns_req *q)
{
    q->is_cancelled = true;
    tmr_stop(&q->defer);
    if (q->pending == 0)
        req_free(q);
}

/* Strips IPv6 brackets and tells whether host is an IP literal. */
static bool numeric_addr(struct tp_addr *a, const char *host, uint16_t port)
{
    return tp_addr_from_ip(a, slice_cstr(host), port) == 0;
}

int dns_resolve_sip(struct dns_resolver *r, const struct dns_query *dq, dns_result_fn *cb,
                    void *arg, struct dns_req **out)
{
    struct dns_req *q;
    struct slice host = dq->host;
    struct tp_addr a;
    enum tp_proto proto;
    bool is_tls;

    if (host.len > 0 && host.p[host.len - 1] == '.')
        host.len--; /* "example.com." is the same name */
    if (host.len == 0 || host.len > DNS_NAME_MAX - 16 || memchr(host.p, '\0', host.len))
        return -EINVAL;
    if (r->nreqs >= r->cfg.max_pending)
        return -EAGAIN;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    q->q = *dq;
    memcpy(q->host, host.p, host.len);
    q->q.host = slice_make(q->host, host.len);
    tmr_init(&q->defer, on_defer, q);
    q->next = r->reqs;
    if (r->reqs)
        r->reqs->prev = q;
    r->reqs = q;
    r->nreqs++;
    if (out)
        *out = q;

    default_transport(dq, &proto, &is_tls);
    q->is_starting = true;
    if (numeric_addr(&a, q->host, dq->port ? dq->port : default_port(is_tls))) {
        /* §4.2: a numeric IP needs no lookup */
        add_target(q, proto, is_tls, &a);
        q->is_done = true;
    } else if (dq->port != 0) {
        /* §4.2: an explicit port means A/AAAA only, no SRV */
        (void)host_add(q, q->host, dq->port, proto, is_tls);
        start_addr_phase(q);
    } else if (dq->has_transport) {
        /* §4.1: the transport is known, so no NAPTR: SRV for it only */
        srvset_add(q,
                   is_tls            ? "_sips._tcp."
                   : proto == TP_TCP ? "_sip._tcp."
                                     : "_sip._udp.",
                   q->host, proto, is_tls);
        start_srv_phase(q);
    } else {
        start_naptr_phase(q);
    }
    q->is_starting = false;
    if (q->is_done)
        tmr_start(ev_timers(r->loop), &q->defer, 0);
    update_timer(r);
    return 0;
}
