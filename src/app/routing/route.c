/* SPDX-License-Identifier: BSD-2-Clause */
/* Route table: YAML routes compiled into ordered match rules and their actions. */
#include "app/routing/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip/build.h"

#define ROUTE_MAX_PATTERN 1024
#define ROUTE_MAX_TARGET 512

/* ---- config: custom value types ---- */

static void regex_free(void *dst)
{
    struct route_regex *r = dst;

    free(r->src);
    r->src = NULL;
}

/* Compiled once here only to report a bad pattern at its file:line:col;
 * each worker's table compiles its own copy (see route.h). */
static int regex_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct route_regex *r = dst;
    size_t len;
    const char *s = cfg_node_str(node, &len);
    char why[128];
    regex_t re;
    int rc;

    if (s == NULL || cfg_node_is_null(node))
        return cfg_error(ctx, node, "expected a regular expression");
    if (len > ROUTE_MAX_PATTERN || memchr(s, '\0', len))
        return cfg_error(ctx, node, "pattern is longer than %d characters or has a NUL",
                         ROUTE_MAX_PATTERN);
    if ((r->src = strndup(s, len)) == NULL)
        return -ENOMEM;
    rc = regcomp(&re, r->src, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &re, why, sizeof(why));
        return cfg_error(ctx, node, "'%.*s' is not a POSIX extended regular expression: %s",
                         (int)SW_MIN(len, 80), s, why);
    }
    regfree(&re);
    return 0;
}

static const struct cfg_custom regex_type = {
    .type_name = "regular expression (POSIX extended)",
    .parse = regex_parse,
    .free = regex_free,
};

static void cidrs_free(void *dst)
{
    struct route_cidrs *c = dst;

    free(c->items);
    memset(c, 0, sizeof(*c));
}

/* "10.0.0.0/8", "2001:db8::/32" or a single address; host bits are masked. */
static const char *cidr_parse(struct route_cidr *c, const char *s, size_t len)
{
    const char *slash = memchr(s, '/', len);
    size_t iplen = slash ? (size_t)(slash - s) : len;
    unsigned max;
    uint64_t bits;
    uint8_t *p;

    if (tp_addr_from_ip(&c->net, slice_make(s, iplen), 0) < 0)
        return "is not an IP address or CIDR (10.0.0.0/8, 2001:db8::/32)";
    max = tp_addr_family(&c->net) == AF_INET ? 32 : 128;
    if (slash == NULL)
        bits = max;
    else if (slice_to_u64(&bits, slice_make(slash + 1, len - iplen - 1), max) < 0 ||
             len - iplen - 1 == 0)
        return "has a bad prefix length";
    c->prefix = (unsigned)bits;
    p = max == 32 ? (uint8_t *)&c->net.u.sin.sin_addr : c->net.u.sin6.sin6_addr.s6_addr;
    for (unsigned i = c->prefix; i < max; i++)
        p[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    return NULL;
}

static int cidrs_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct route_cidrs *c = dst;
    size_t count = cfg_node_seq_count(node);

    if (!cfg_node_is_seq(node))
        return cfg_error(ctx, node, "expected a list of addresses or CIDRs");
    if (count > ROUTE_MAX_SOURCES)
        return cfg_error(ctx, node, "has more than %d entries", ROUTE_MAX_SOURCES);
    if (count == 0)
        return 0;
    if ((c->items = calloc(count, sizeof(*c->items))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct cfg_node *item = cfg_node_seq_at(node, i);
        size_t len;
        const char *s = cfg_node_str(item, &len), *why;
        if (s == NULL || cfg_node_is_null(item))
            return cfg_error(ctx, item, "expected an address or CIDR");
        if ((why = cidr_parse(&c->items[i], s, len)) != NULL)
            return cfg_error(ctx, item, "'%.*s' %s", (int)SW_MIN(len, 80), s, why);
        c->count = i + 1;
    }
    return 0;
}

static const struct cfg_custom cidrs_type = {
    .type_name = "list of addresses or CIDRs",
    .parse = cidrs_parse,
    .free = cidrs_free,
};

static int listener_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct route_listener *l = dst;
    size_t len;
    const char *s = cfg_node_str(node, &len), *sep;
    uint64_t idx;

    if (s == NULL || cfg_node_is_null(node))
        return cfg_error(ctx, node, "expected a listener index or udp://IP:PORT");
    l->is_set = true;
    if (slice_to_u64(&idx, slice_make(s, len), 255) == 0) {
        l->index = (unsigned)idx;
        return 0;
    }
    sep = memmem(s, len, "://", 3);
    if (sep != NULL && (size_t)(sep - s) == 3 && !strncasecmp(s, "udp", 3))
        l->proto = TP_UDP;
    else if (sep != NULL && (size_t)(sep - s) == 3 && !strncasecmp(s, "tcp", 3))
        l->proto = TP_TCP;
    else
        return cfg_error(ctx, node, "'%.*s' is not a listener index (0, 1, ...) or udp://IP:PORT",
                         (int)SW_MIN(len, 80), s);
    l->has_addr = true;
    if (tp_addr_parse(&l->addr, slice_make(sep + 3, len - (size_t)(sep + 3 - s)), 0) < 0 ||
        tp_addr_port(&l->addr) == 0)
        return cfg_error(ctx, node, "'%.*s' needs a numeric IP and a port", (int)SW_MIN(len, 80),
                         s);
    return 0;
}

static const struct cfg_custom listener_type = {
    .type_name = "listener index or udp://IP:PORT",
    .parse = listener_parse,
};

static void to_free(void *dst)
{
    struct route_to *t = dst;

    free(t->text);
    memset(t, 0, sizeof(*t));
}

static int to_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct route_to *t = dst;
    size_t len;
    const char *s = cfg_node_str(node, &len);
    struct slice v;
    struct uri u;
    struct sip_err e;

    if (s == NULL || cfg_node_is_null(node))
        return cfg_error(ctx, node, "expected sip:URI, dispatcher:NAME or location");
    if (len > ROUTE_MAX_TARGET || memchr(s, '\0', len))
        return cfg_error(ctx, node, "is longer than %d characters or has a NUL", ROUTE_MAX_TARGET);
    v = slice_make(s, len);
    t->is_set = true;
    cfg_where(ctx, node, t->where, sizeof(t->where));
    if (slice_caseeq_cstr(v, "location")) {
        t->kind = ROUTE_LOCATION;
        return 0;
    }
    if (len > 11 && slice_caseeq(slice_make(s, 11), SLICE_LIT("dispatcher:"))) {
        t->kind = ROUTE_DISPATCH;
        t->text = strndup(s + 11, len - 11);
        return t->text ? 0 : -ENOMEM;
    }
    if (uri_parse(&u, v, &e) != SIP_PARSE_OK || (u.scheme != URI_SIP && u.scheme != URI_SIPS) ||
        u.host.len == 0)
        return cfg_error(ctx, node, "'%.*s' is not sip:URI, sips:URI, dispatcher:NAME or location",
                         (int)SW_MIN(len, 80), s);
    if (u.transport.len && !slice_caseeq_cstr(u.transport, "udp") &&
        !slice_caseeq_cstr(u.transport, "tcp") && !slice_caseeq_cstr(u.transport, "tls"))
        return cfg_error(ctx, node, "'%.*s': transport must be udp, tcp or tls",
                         (int)SW_MIN(len, 80), s);
    t->kind = ROUTE_FORWARD;
    t->text = strndup(s, len);
    return t->text ? 0 : -ENOMEM;
}

static const struct cfg_custom to_type = {
    .type_name = "sip:URI, dispatcher:NAME or location",
    .parse = to_parse,
    .free = to_free,
};

static const char *check_method(const char *s, size_t len)
{
    static const char token[] = "-.!%*_+`'~";

    if (len == 0 || len > 32)
        return "is not a method name";
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr(token, s[i])))
            return "is not a method name (RFC 3261 token)";
    return NULL;
}

static const char *check_reason(const char *s, size_t len)
{
    if (len > 128)
        return "is longer than 128 characters";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "has a control character";
    return NULL;
}

/* ---- config: tables ---- */

static const struct cfg_opt match_opts[] = {
    CFG_STRLIST("method", struct route_match_conf, methods, NULL, check_method, true,
                "Request methods (INVITE, REGISTER, ...); exact, case-sensitive."),
    CFG_CUSTOM("ruri_user", struct route_match_conf, ruri_user, NULL, &regex_type, true,
               "Pattern searched in the Request-URI user part (as received, %-escapes kept); "
               "anchor with ^ and $ for a whole match."),
    CFG_CUSTOM("ruri_host", struct route_match_conf, ruri_host, NULL, &regex_type, true,
               "Pattern searched in the Request-URI host, ignoring case."),
    CFG_CUSTOM("from_user", struct route_match_conf, from_user, NULL, &regex_type, true,
               "Pattern searched in the From URI user part."),
    CFG_CUSTOM("source", struct route_match_conf, source, NULL, &cidrs_type, true,
               "Source addresses the request may come from (IP or CIDR); any one matches."),
    CFG_CUSTOM("listener", struct route_match_conf, listener, NULL, &listener_type, true,
               "Listener the request arrived on: an index into listen: or its "
               "udp://IP:PORT / tcp://IP:PORT."),
    CFG_END,
};

static const struct cfg_opt reply_opts[] = {
    CFG_UINT("code", struct route_reply_conf, code, NULL, 300, 699, true,
             "Status code of the final response (300..699)."),
    CFG_STRING("reason", struct route_reply_conf, reason, "", check_reason, true,
               "Reason phrase; empty means the standard one for the code."),
    CFG_END,
};

#define ROUTE_ACTION_OPTS                                                                          \
    CFG_CUSTOM("to", struct route_conf, to, NULL, &to_type, true,                                  \
               "Where the request goes: a next-hop URI (sip:host[:port][;transport=tcp], "         \
               "resolved by RFC 3263), dispatcher:NAME (a set of dispatchers:) or location "       \
               "(the registered contacts of the Request-URI)."),                                   \
        CFG_SECTION("reply", struct route_conf, reply, reply_opts,                                 \
                    "Answer the request instead of forwarding it (give to: or reply:)."),          \
        CFG_BOOL("stateless", struct route_conf, is_stateless, "false", true,                      \
                 "Forward without a transaction (RFC 3261 §16.11): no retransmission "            \
                 "handling, no failover."),                                                        \
        CFG_BOOL("record_route", struct route_conf, do_record_route, "true", true,                 \
                 "Add Record-Route so in-dialog requests come through this proxy.")

const struct cfg_opt route_opts[] = {
    CFG_SECTION("match", struct route_conf, match, match_opts,
                "Conditions; all given must hold. None given: the route matches every request."),
    ROUTE_ACTION_OPTS,
    CFG_END,
};

const struct cfg_opt route_default_opts[] = {
    ROUTE_ACTION_OPTS,
    CFG_END,
};

int route_conf_done(void *item, const char *name, struct cfg_node *node, struct cfg_ctx *ctx)
{
    const struct route_conf *r = item;

    (void)name;
    if (r->to.is_set && r->reply.code != 0)
        return cfg_error(ctx, node, "give either to: or reply:, not both");
    if (!r->to.is_set && r->reply.code == 0)
        return cfg_error(ctx, node, "needs to: or reply: { code: ... }");
    return 0;
}

static bool has_set(const struct cfg_list *sets, const char *name)
{
    for (size_t i = 0; sets != NULL && sets->names != NULL && i < sets->count; i++)
        if (strcmp(sets->names[i], name) == 0)
            return true;
    return false;
}

static int check_one(const struct route_conf *c, const struct cfg_list *sets, char *err,
                     size_t errlen)
{
    if (c->to.is_set && c->reply.code != 0) {
        snprintf(err, errlen, "%s: give either to: or reply:, not both", c->to.where);
        return -EINVAL;
    }
    if (c->to.is_set && c->to.kind == ROUTE_DISPATCH && !has_set(sets, c->to.text)) {
        snprintf(err, errlen, "%s: unknown dispatcher '%s' (not in dispatchers:)", c->to.where,
                 c->to.text);
        return -EINVAL;
    }
    return 0;
}

int route_conf_check(const struct cfg_list *routes, const struct route_conf *def,
                     const struct cfg_list *dispatchers, char *err, size_t errlen)
{
    int rc = 0;

    for (size_t i = 0; i < routes->count && rc == 0; i++)
        rc = check_one((const struct route_conf *)routes->items + i, dispatchers, err, errlen);
    return rc ? rc : check_one(def, dispatchers, err, errlen);
}

/* ---- runtime ---- */

enum { RX_RURI_USER, RX_RURI_HOST, RX_FROM_USER, RX_COUNT };

/* One compiled rule. Owner: its table. */
struct route_rule {
    struct route_action act;
    char *target;   /* owned: act.target */
    char *reason;   /* owned: act.reply_reason */
    char **methods; /* owned, each owned */
    size_t nmethods;
    regex_t re[RX_COUNT];
    bool has_re[RX_COUNT];
    struct route_cidr *cidrs; /* owned */
    size_t ncidrs;
    struct route_listener listener;
};

/* Owner: one worker (see route.h). */
struct route_table {
    struct route_rule *rules; /* owned array */
    size_t n;
    struct route_rule def;
};

static void rule_fini(struct route_rule *r)
{
    free(r->target);
    free(r->reason);
    for (size_t i = 0; i < r->nmethods; i++)
        free(r->methods[i]);
    free(r->methods);
    for (int i = 0; i < RX_COUNT; i++)
        if (r->has_re[i])
            regfree(&r->re[i]);
    free(r->cidrs);
}

static int rule_action(struct route_rule *r, const struct route_conf *c, struct disp *disp,
                       char *err, size_t errlen)
{
    struct sip_err e;
    const char *reason;

    r->act.is_stateless = c->is_stateless;
    r->act.do_record_route = c->do_record_route;
    if (c->to.is_set && c->reply.code != 0) {
        snprintf(err, errlen, "%s: give either to: or reply:, not both", c->to.where);
        return -EINVAL;
    }
    if (!c->to.is_set) {
        r->act.kind = ROUTE_REPLY;
        r->act.reply_code = c->reply.code ? c->reply.code : 404;
        reason = c->reply.reason && *c->reply.reason ? c->reply.reason
                                                     : sip_reason_phrase(r->act.reply_code);
        if ((r->reason = strdup(reason)) == NULL)
            return -ENOMEM;
        r->act.reply_reason = r->reason;
        return 0;
    }
    r->act.kind = c->to.kind;
    switch (c->to.kind) {
    case ROUTE_DISPATCH:
        r->act.set = disp ? disp_find(disp, slice_cstr(c->to.text)) : NULL;
        if (r->act.set == NULL) {
            snprintf(err, errlen, "%s: unknown dispatcher '%s' (not in dispatchers:)", c->to.where,
                     c->to.text);
            return -EINVAL;
        }
        break;
    case ROUTE_FORWARD:
        if ((r->target = strdup(c->to.text)) == NULL)
            return -ENOMEM;
        r->act.target = r->target;
        if (uri_parse(&r->act.target_uri, slice_cstr(r->target), &e) != SIP_PARSE_OK) {
            snprintf(err, errlen, "%s: bad URI", c->to.where);
            return -EINVAL;
        }
        break;
    default:
        break;
    }
    return 0;
}

static int rule_match(struct route_rule *r, const struct route_match_conf *m)
{
    const struct route_regex *rx[RX_COUNT] = {&m->ruri_user, &m->ruri_host, &m->from_user};

    if (m->methods.count > 0) {
        if ((r->methods = calloc(m->methods.count, sizeof(*r->methods))) == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < m->methods.count; i++) {
            if ((r->methods[i] = strdup(m->methods.items[i])) == NULL)
                return -ENOMEM;
            r->nmethods = i + 1;
        }
    }
    for (int i = 0; i < RX_COUNT; i++) {
        int flags = REG_EXTENDED | REG_NOSUB | (i == RX_RURI_HOST ? REG_ICASE : 0);
        if (rx[i]->src == NULL)
            continue;
        if (regcomp(&r->re[i], rx[i]->src, flags) != 0)
            return -ENOMEM; /* the pattern compiled at load: only memory is left */
        r->has_re[i] = true;
    }
    if (m->source.count > 0) {
        r->cidrs = malloc(m->source.count * sizeof(*r->cidrs));
        if (r->cidrs == NULL)
            return -ENOMEM;
        memcpy(r->cidrs, m->source.items, m->source.count * sizeof(*r->cidrs));
        r->ncidrs = m->source.count;
    }
    r->listener = m->listener;
    return 0;
}

struct route_table *route_table_new(const struct cfg_list *routes, const struct route_conf *def,
                                    struct disp *disp, char *err, size_t errlen)
{
    struct route_table *t = calloc(1, sizeof(*t));
    int rc = 0;

    if (t == NULL)
        goto oom;
    t->rules = calloc(routes->count ? routes->count : 1, sizeof(*t->rules));
    if (t->rules == NULL)
        goto oom;
    for (size_t i = 0; i < routes->count && rc == 0; i++) {
        const struct route_conf *c = (const struct route_conf *)routes->items + i;
        struct route_rule *r = &t->rules[i];
        t->n = i + 1;
        r->act.index = (uint32_t)i;
        rc = rule_action(r, c, disp, err, errlen);
        if (rc == 0)
            rc = rule_match(r, &c->match);
    }
    if (rc == 0) {
        t->def.act.index = ROUTE_DEFAULT_INDEX;
        rc = rule_action(&t->def, def, disp, err, errlen);
    }
    if (rc == 0)
        return t;
    if (rc == -EINVAL) {
        route_table_free(t);
        return NULL;
    }
oom:
    snprintf(err, errlen, "routes: out of memory");
    route_table_free(t);
    return NULL;
}

void route_table_free(struct route_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        rule_fini(&t->rules[i]);
    rule_fini(&t->def);
    free(t->rules);
    free(t);
}

size_t route_count(const struct route_table *t)
{
    return t->n;
}

/* Searches s (not NUL-terminated: REG_STARTEND, a glibc and BSD extension)
 * so a slice of the message needs no copy. */
static bool rx_search(const regex_t *re, struct slice s)
{
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)s.len};

    return regexec(re, s.p ? s.p : "", 1, &m, REG_STARTEND) == 0;
}

static bool cidr_has(const struct route_cidr *c, const struct tp_addr *a)
{
    const uint8_t *net, *ip;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    int fam = tp_addr_family(a);

    if (fam == AF_INET6 && tp_addr_family(&c->net) == AF_INET &&
        IN6_IS_ADDR_V4MAPPED(&a->u.sin6.sin6_addr)) {
        ip = a->u.sin6.sin6_addr.s6_addr + 12; /* ::ffff:a.b.c.d on a dual-stack socket */
    } else if (fam != tp_addr_family(&c->net)) {
        return false;
    } else {
        ip = fam == AF_INET ? (const uint8_t *)&a->u.sin.sin_addr : a->u.sin6.sin6_addr.s6_addr;
    }
    net = tp_addr_family(&c->net) == AF_INET ? (const uint8_t *)&c->net.u.sin.sin_addr
                                             : c->net.u.sin6.sin6_addr.s6_addr;
    if (memcmp(net, ip, full) != 0)
        return false;
    return rest == 0 || ((net[full] ^ ip[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static bool rule_matches(const struct route_rule *r, const struct sipmsg *msg,
                         const struct tp_flow *flow)
{
    if (r->nmethods > 0) {
        size_t i = 0;
        while (i < r->nmethods && !slice_eq(msg->method_name, slice_cstr(r->methods[i])))
            i++;
        if (i == r->nmethods)
            return false;
    }
    if (r->has_re[RX_RURI_USER] && !rx_search(&r->re[RX_RURI_USER], msg->ruri.user))
        return false;
    if (r->has_re[RX_RURI_HOST] && !rx_search(&r->re[RX_RURI_HOST], msg->ruri.host))
        return false;
    if (r->has_re[RX_FROM_USER] && !rx_search(&r->re[RX_FROM_USER], msg->from.uri.user))
        return false;
    if (r->ncidrs > 0) {
        size_t i = 0;
        while (i < r->ncidrs && !cidr_has(&r->cidrs[i], &flow->remote))
            i++;
        if (i == r->ncidrs)
            return false;
    }
    if (r->listener.is_set) {
        if (!r->listener.has_addr)
            return flow->listener == r->listener.index;
        return flow->proto == r->listener.proto && tp_addr_eq(&flow->local, &r->listener.addr);
    }
    return true;
}

const struct route_action *route_lookup(const struct route_table *t, const struct sipmsg *msg,
                                        const struct tp_flow *flow)
{
    for (size_t i = 0; i < t->n; i++)
        if (rule_matches(&t->rules[i], msg, flow))
            return &t->rules[i].act;
    return &t->def.act;
}
