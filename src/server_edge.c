/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The edge of the transaction user glue: the per-packet guard (source
 * bans, scanner User-Agents), digest authentication of REGISTER (401) and
 * of forwarded initial requests (407), the registrar, and the location
 * service as a routing target.
 */
#include "server_int.h"

#include "app/registrar/registrar.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/tmr.h"
#include "sec/acl.h"
#include "sec/auth.h"
#include "sec/ban.h"
#include "sec/scanner.h"
#include "store/store.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MOD "edge"
#define PURGE_INTERVAL_MS 1000

static metric_id m_banned, m_scanner, m_challenged, m_auth_failed;

void srv_edge_metrics(void)
{
    m_banned = metric_register("sip_dropped_total{reason=\"banned\"}",
                               "requests and responses from banned sources, dropped silently");
    m_scanner = metric_register("sip_dropped_total{reason=\"scanner\"}",
                                "requests whose User-Agent is a known scanner, dropped");
    m_challenged = metric_register("sip_auth_challenges_total", "401/407 challenges sent");
    m_auth_failed =
        metric_register("sip_auth_failures_total{where=\"server\"}", "failed authentications");
    reg_keepalive_metrics();
}

static uint64_t now_ms(const struct srv_worker *sw)
{
    return ev_now_ms(tp_worker_loop(sw->w));
}

static bool source_ip(struct acl_ip *ip, const struct tp_flow *flow)
{
    return acl_ip_from_sockaddr(ip, &flow->remote.u.sa) == 0;
}

bool srv_edge_drop(struct srv_worker *sw, const struct sipmsg *m, const struct tp_flow *flow)
{
    const struct server *srv = sw->srv;
    struct acl_ip ip;
    if (srv->ban != NULL && source_ip(&ip, flow) && ban_check(srv->ban, &ip, now_ms(sw))) {
        metric_inc(m_banned);
        return true;
    }
    if (m->is_request && srv->scanner != NULL && scanner_match(srv->scanner, m)) {
        metric_inc(m_scanner);
        LOG_RL(LOG_LVL_INFO, MOD, "dropped a request from a scanner User-Agent");
        return true;
    }
    return false;
}

static bool is_trusted(const struct server *srv, const struct tp_flow *flow)
{
    struct acl_ip ip;
    return srv->trusted != NULL && source_ip(&ip, flow) && acl_match(srv->trusted, &ip);
}

/* The realm for a request: the configured realm equal to host, else the
 * first one (RFC 3261 §22.1: a realm names a protection domain; one per
 * served domain). */
static const char *realm_for(const struct server *srv, struct slice host)
{
    const char *r = auth_realm_find(srv->auth, host);
    return r != NULL ? r : srv->default_realm;
}

/* The 401/407 with one challenge per algorithm, through st, or
 * statelessly for m when st is NULL (RFC 3261 §8.2.7). */
static void send_challenge(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                           const struct tp_flow *flow, enum auth_kind kind, const char *realm,
                           bool is_stale)
{
    struct auth_challenge ch;
    bool is_built =
        auth_challenge_build(sw->srv->auth, &ch, kind, realm, is_stale, now_ms(sw)) == 0;
    unsigned code = is_built ? auth_reply_code(kind) : 500;
    const char *reason = is_built ? NULL : "Bad realm";
    if (is_built)
        metric_inc(m_challenged);
    if (st == NULL) {
        srv_reply_stateless(sw, m, flow, code, reason, is_built ? ch.lines : NULL,
                            is_built ? ch.count : 0);
        return;
    }
    struct sipmsg_reply_opts o = {
        .server = slice_cstr(sw->snap->name),
        .extra = is_built ? ch.lines : NULL,
        .extra_count = is_built ? ch.count : 0,
    };
    if (txn_server_reply(st, code, reason ? slice_cstr(reason) : SLICE_NULL, &o) != 0)
        LOG_RL(LOG_LVL_WARN, MOD, "cannot send a %u", code);
}

/* A REGISTER for a local domain: the registrar's. */
static bool is_local_register(const struct srv_worker *sw, const struct sipmsg *m)
{
    return m->method == SIP_REGISTER && sw->srv->reg != NULL &&
           srv_ruri_is_local(sw->srv, sw->snap, &m->ruri);
}

/* Whether m is authenticated at all, and against which domain (its
 * realm): a REGISTER for a local domain by the registrar against its
 * Request-URI (§10.3 steps 2-3), any other initial request before routing
 * against its From; never in-dialog requests (authorized with the request
 * that made the dialog), CANCEL and ACK (§22.1), or OPTIONS to the server
 * itself. */
static bool auth_domain(const struct srv_worker *sw, const struct sipmsg *m, struct slice *host)
{
    if (m->method == SIP_CANCEL || m->method == SIP_ACK)
        return false;
    if (is_local_register(sw, m)) {
        *host = m->ruri.host;
        return true;
    }
    if (m->to.tag.len != 0 ||
        (m->method == SIP_OPTIONS && srv_ruri_is_local(sw->srv, sw->snap, &m->ruri)))
        return false;
    *host = m->from.uri.host;
    return true;
}

/*
 * Digest check of one request (RFC 7616, RFC 3261 §22). Returns true when
 * the request may go on; otherwise it has been answered (401/407 challenge
 * or 400) and a failure counted against the source (bans, src/sec/ban.c).
 */
static bool authenticate(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                         const struct tp_flow *flow, struct slice host, struct slice aor)
{
    struct server *srv = sw->srv;
    if (srv->auth == NULL || is_trusted(srv, flow))
        return true;
    enum auth_kind kind = auth_kind_for(m);
    const char *realm = realm_for(srv, host);
    struct auth_verdict v;
    switch (auth_check(srv->auth, m, kind, realm, now_ms(sw), &v)) {
    case AUTH_OK:
        return true;
    case AUTH_BAD:
        if (txn_server_reply(st, 400, slice_cstr(v.reason), NULL) != 0)
            LOG_RL(LOG_LVL_WARN, MOD, "cannot send a 400");
        return false;
    case AUTH_STALE:
        send_challenge(sw, st, m, flow, kind, realm, true);
        return false;
    case AUTH_FAILED: {
        metric_inc(m_auth_failed);
        struct acl_ip ip;
        if (srv->ban != NULL && source_ip(&ip, flow))
            (void)ban_auth_failure(srv->ban, &ip, aor, now_ms(sw));
        LOG_RL(LOG_LVL_NOTICE, MOD, "authentication failed (%s)", v.reason);
        send_challenge(sw, st, m, flow, kind, realm, false);
        return false;
    }
    case AUTH_CHALLENGE:
    default:
        send_challenge(sw, st, m, flow, kind, realm, false);
        return false;
    }
}

bool srv_edge_challenge(struct srv_worker *sw, const struct sipmsg *m, const struct tp_flow *flow)
{
    struct server *srv = sw->srv;
    struct slice host;
    if (srv->auth == NULL || !auth_domain(sw, m, &host))
        return false;
    enum auth_kind kind = auth_kind_for(m);
    /* Any credentials at all (ours, stale, wrong, another realm's): the
     * stateful path verifies them, counts failures and answers. */
    if (sipmsg_hdr_first(m, kind == AUTH_KIND_PROXY ? HDR_PROXY_AUTHORIZATION
                                                    : HDR_AUTHORIZATION) != NULL ||
        is_trusted(srv, flow))
        return false;
    /* §8.2.7: a challenge is what a stateless UAS is for. A retransmission
     * gets a fresh challenge; nothing is kept for unauthenticated traffic. */
    send_challenge(sw, NULL, m, flow, kind, realm_for(srv, host), false);
    return true;
}

/* reg_auth_fn: REGISTER is authenticated against the realm of its
 * Request-URI domain (RFC 3261 §10.3 steps 2-3). */
static enum reg_auth_result reg_auth_hook(void *arg, struct txn *st, const struct sipmsg *req,
                                          const struct tp_flow *flow, struct slice aor)
{
    struct server *srv = arg;
    struct srv_worker *sw = &srv->workers[ev_thread_worker() % srv->nworkers];
    return authenticate(sw, st, req, flow, req->ruri.host, aor) ? REG_AUTH_CONTINUE
                                                                : REG_AUTH_ANSWERED;
}

bool srv_edge_register(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                       const struct tp_flow *flow)
{
    if (!is_local_register(sw, m))
        return false;
    if (reg_handle(sw->srv->reg, tp_worker_loop(sw->w), st, m, flow) != 0)
        LOG_RL(LOG_LVL_WARN, MOD, "cannot answer a REGISTER");
    return true;
}

bool srv_edge_authorize(struct srv_worker *sw, struct txn *st, const struct sipmsg *m,
                        const struct tp_flow *flow)
{
    struct slice host;
    if (!auth_domain(sw, m, &host))
        return true;
    return authenticate(sw, st, m, flow, host, SLICE_NULL);
}

/*
 * to: location (RFC 3261 §16.5): the contacts registered for the
 * Request-URI, forked by q. A contact is reached through the flow its
 * REGISTER came on (NAT), or through the first Path hop when the REGISTER
 * came through an edge proxy (RFC 3327 §5.4, simplified: the Path hop is
 * the next hop; no Route header is added yet).
 */
void srv_edge_location(struct srv_worker *sw, struct action *a)
{
    struct registrar *reg = sw->srv->reg;
    struct reg_target *t = NULL;
    int n = reg != NULL ? reg_lookup(reg, &a->prep.ruri_parsed, &t) : 0;
    if (n <= 0) {
        a->kind = ACT_REPLY;
        a->code = n < 0 && n != -EINVAL ? 500 : 480;
        a->reason = n < 0 && n != -EINVAL ? "Location lookup failed" : "Not registered";
        return;
    }
    size_t used = 0;
    unsigned k = 0;
    for (int i = 0; i < n && k < ACT_MAX_TARGETS; i++) {
        char *dst = a->locbuf + used;
        size_t room = sizeof(a->locbuf) - used;
        int len = 0;
        if (t[i].path != NULL) {
            struct slice rest = slice_cstr(t[i].path), first;
            if (hdr_list_next(&rest, &first)) {
                /* "<sip:edge;lr>" -> "sip:edge;lr" */
                if (first.len >= 2 && first.p[0] == '<' && first.p[first.len - 1] == '>')
                    first = slice_make(first.p + 1, first.len - 2);
                len = snprintf(dst, room, SLICE_FMT, SLICE_ARG(first));
            }
        } else if (t[i].has_flow) {
            char ip[TP_ADDR_STRLEN];
            len = snprintf(dst, room, "sip:%s;transport=%s",
                           tp_addr_str(&t[i].flow.remote, ip, sizeof(ip)),
                           tp_proto_name(t[i].flow.proto));
        }
        if (len < 0 || (size_t)len >= room)
            break;
        used += (size_t)len;
        char *ruri = a->locbuf + used;
        int rl = snprintf(ruri, sizeof(a->locbuf) - used, "%s", t[i].uri);
        if (rl < 0 || (size_t)rl >= sizeof(a->locbuf) - used)
            break;
        used += (size_t)rl;
        a->tg[k++] = (struct proxy_target){
            .ruri = slice_make(ruri, (size_t)rl),
            .dst = slice_make(dst, (size_t)len),
            .q = t[i].q,
        };
    }
    reg_targets_free(t, (size_t)n);
    a->d.targets = a->tg;
    a->d.ntargets = k;
    /* §16.6: same q forks in parallel; lower q groups are tried when the
     * higher ones fail. */
    a->d.next = PROXY_NEXT_ON_FAILURE;
    a->kind = k != 0 ? ACT_FORWARD : ACT_REPLY;
    if (k == 0) {
        a->code = 500;
        a->reason = "Contacts too long";
    }
}

static void purge_fire(struct tmr *t, void *arg)
{
    struct srv_worker *sw = arg;
    static unsigned ticks; /* worker 0 only */
    (void)reg_purge(sw->srv->reg);
    /* After a burst (a registration storm, a call peak) the transactions'
     * memory is freed 64*T1 later, but glibc keeps the pages; hand free
     * pages back every 10 s so RSS follows what is really held. It takes
     * each malloc arena's lock briefly: negligible at this period. */
    if (++ticks % 10 == 0)
        (void)malloc_trim(0);
    tmr_start(ev_timers(tp_worker_loop(sw->w)), t, PURGE_INTERVAL_MS);
}

/* reg_ping_send_fn: NAT keepalives go out as the dispatcher probes do,
 * through the proxy's OPTIONS helper on a client transaction of this
 * worker (worker 0). */
static int keepalive_send(void *arg, const char *uri, reg_ping_done_fn *done, void *done_arg)
{
    struct srv_worker *sw = arg;
    return proxy_probe(sw->px, slice_cstr(uri), "OPTIONS", done, done_arg);
}

void srv_edge_worker_init(struct srv_worker *sw)
{
    /* Expired bindings are purged by one worker, a shard per tick; the
     * same worker sends the NAT keepalives (registrar.keepalive). */
    if (sw->srv->reg != NULL && tp_worker_id(sw->w) == 0) {
        tmr_init(&sw->purge, purge_fire, sw);
        tmr_start(ev_timers(tp_worker_loop(sw->w)), &sw->purge, PURGE_INTERVAL_MS);
        if (sw->px != NULL)
            reg_keepalive_start(sw->srv->reg, tp_worker_loop(sw->w), keepalive_send, sw);
    }
}

void srv_edge_worker_fini(struct srv_worker *sw)
{
    tmr_stop(&sw->purge);
    /* before proxy_free, which reports the pings in flight with code 0 */
    if (sw->srv->reg != NULL && tp_worker_id(sw->w) == 0)
        reg_keepalive_stop(sw->srv->reg);
}

/* Creates the directory that will hold an SQLite store (like `mkdir -p`),
 * so a first start on a fresh machine does not need a manual step. */
static void make_store_dir(const char *spec)
{
    if (strncmp(spec, "sqlite:", 7) != 0)
        return;
    char *dir = strdup(spec + 7);
    char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; *p != '\0'; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            (void)mkdir(dir, 0750);
            *p = '/';
        }
        (void)mkdir(dir, 0750);
    }
    free(dir);
}

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

int srv_edge_open(struct server *srv, const struct conf *c, char *err, size_t errlen)
{
    make_store_dir(c->store);
    if (store_open(&srv->store, c->store, &c->store_options, wall_now(), err, errlen) != 0)
        return -EINVAL;
    srv->reg = reg_new(&c->registrar, srv->store);
    if (srv->reg == NULL) {
        snprintf(err, errlen, "registrar: invalid settings or out of memory");
        return -EINVAL;
    }
    reg_set_auth(srv->reg, reg_auth_hook, srv);
    srv->trusted = acl_new(c->security.trusted.items, c->security.trusted.count, err, errlen);
    srv->ban = srv->trusted != NULL ? ban_new(&c->security, srv->trusted) : NULL;
    srv->scanner = scanner_new(c->security.scanners.items, c->security.scanners.count);
    if (srv->trusted == NULL || srv->ban == NULL || srv->scanner == NULL) {
        if (srv->trusted != NULL)
            snprintf(err, errlen, "security: out of memory");
        return -EINVAL;
    }
    if (c->auth.users[0] == '\0')
        return 0; /* no users: nothing is challenged */
    /* Realms default to the served domains (one protection domain each). */
    struct auth_conf ac = c->auth;
    if (ac.realms.count == 0)
        ac.realms = c->server.domains;
    if (ac.realms.count == 0) {
        snprintf(err, errlen,
                 "auth: users is set but neither auth.realms nor server.domains "
                 "names a realm");
        return -EINVAL;
    }
    srv->default_realm = strdup(ac.realms.items[0]);
    srv->auth = srv->default_realm != NULL ? auth_new(&ac, err, errlen) : NULL;
    return srv->auth != NULL ? 0 : -EINVAL;
}

/* After the workers have stopped: no REGISTER can reach the store any
 * more. Writes still queued are finished; their completions are dropped
 * with the loops (the REGISTERs were never acknowledged). */
void srv_edge_close(struct server *srv)
{
    reg_free(srv->reg);
    srv->reg = NULL;
    if (srv->store != NULL)
        store_close(srv->store);
    srv->store = NULL;
    auth_free(srv->auth);
    srv->auth = NULL;
    free(srv->default_realm);
    srv->default_realm = NULL;
    scanner_free(srv->scanner);
    srv->scanner = NULL;
    ban_free(srv->ban);
    srv->ban = NULL;
    acl_free(srv->trusted);
    srv->trusted = NULL;
}

int srv_edge_reload(struct server *srv, const struct conf *next, char *err, size_t errlen)
{
    if (srv->auth == NULL || next->auth.users[0] == '\0')
        return 0;
    return auth_users_reload(srv->auth, next->auth.users, err, errlen);
}
