/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Route table: an ordered list of (match -> action) rules from the YAML
 * `routes:` list; the first rule whose every condition matches a request
 * decides what the proxy does with it, else `default_route:` does.
 *
 * Threads: a struct route_table is owned by one worker and used on its
 * thread only. Each worker builds its own from the same loaded config
 * (route_table_new in its init hook): glibc's regexec() takes a lock
 * inside each compiled pattern, so one table shared by all workers would
 * serialize them on every request. The tables are small (patterns and a
 * few strings), so one per worker costs little.
 */
#ifndef SW_APP_ROUTING_ROUTE_H
#define SW_APP_ROUTING_ROUTE_H

#include "app/routing/disp.h"
#include "core/cfg.h"
#include "core/util.h"
#include "sip/sipmsg.h"
#include "sip/uri.h"
#include "transport/tp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX_ROUTES 1024
#define ROUTE_MAX_SOURCES 64 /* CIDRs per match */
#define ROUTE_DEFAULT_INDEX UINT32_MAX

/* ---- configuration ---- */

/* A POSIX extended regular expression, checked by regcomp() when loaded. */
struct route_regex {
    char *src; /* owned; NULL when the condition is absent */
};

struct route_cidr {
    struct tp_addr net; /* port unused */
    unsigned prefix;    /* bits */
};

struct route_cidrs {
    struct route_cidr *items; /* owned */
    size_t count;
};

/* listener: an index into listen:, or "udp://IP:PORT" / "tcp://IP:PORT". */
struct route_listener {
    bool is_set;
    bool has_addr; /* else: index */
    unsigned index;
    enum tp_proto proto;
    struct tp_addr addr;
};

struct route_match_conf {
    struct cfg_strlist methods; /* exact, case-sensitive (RFC 3261 §7.1) */
    struct route_regex ruri_user;
    struct route_regex ruri_host; /* case-insensitive */
    struct route_regex from_user;
    struct route_cidrs source;
    struct route_listener listener;
};

enum route_kind {
    ROUTE_FORWARD = 0, /* to a fixed next-hop URI */
    ROUTE_DISPATCH,    /* to a dispatcher set's failover list */
    ROUTE_LOCATION,    /* to the registered contacts of the R-URI (registrar) */
    ROUTE_REPLY,       /* answer with reply.code */
};

/* The `to:` value: "sip:host[:port][;transport=tcp]", "dispatcher:NAME",
 * "location"; kind ROUTE_REPLY when absent. */
struct route_to {
    bool is_set;
    enum route_kind kind;
    char *text;      /* owned: the URI, or the dispatcher name */
    char where[192]; /* "file:line:col: routes[2].to" for later checks */
};

struct route_reply_conf {
    unsigned int code; /* 0 = not given */
    char *reason;      /* owned; "" = the standard phrase */
};

/* One item of `routes:` (also `default_route:`, whose match is ignored). */
struct route_conf {
    struct route_match_conf match;
    struct route_to to;
    struct route_reply_conf reply;
    bool is_stateless;
    bool do_record_route;
};

extern const struct cfg_opt route_opts[];         /* one item of routes: */
extern const struct cfg_opt route_default_opts[]; /* default_route: (no match) */
/* cfg_item_fn of routes: (checks that to: and reply: are not both given). */
int route_conf_done(void *item, const char *name, struct cfg_node *node, struct cfg_ctx *ctx);

/* The options for a struct holding `struct cfg_list routes_f` and
 * `struct route_conf default_f`. */
#define ROUTE_CFG_OPTS(st, routes_f, default_f)                                                    \
    CFG_LIST("routes", st, routes_f, struct route_conf, route_opts, route_conf_done, NULL,         \
             ROUTE_MAX_ROUTES, true,                                                               \
             "Routing rules, tried in order; the first whose every match condition holds "         \
             "decides. A rule without match: matches everything."),                                \
        CFG_SECTION("default_route", st, default_f, route_default_opts,                            \
                    "What happens to a request no route matches (by default: 404).")

/*
 * Checks what the loader cannot see item by item: every dispatcher:NAME
 * of routes and default_route names a set of 'dispatchers' (the loaded
 * `dispatchers:` map), and default_route gives to: or reply:, not both.
 * For conf loading and --check-config: builds nothing, registers no
 * metric. Returns 0, or -EINVAL with "file:line:col: routes[1].to: ..."
 * in err.
 */
int route_conf_check(const struct cfg_list *routes, const struct route_conf *def,
                     const struct cfg_list *dispatchers, char *err,
                     size_t errlen) warn_unused_result;

/* ---- runtime ---- */

/* What to do with a request. Owned by its table; valid while it lives. */
struct route_action {
    enum route_kind kind;
    uint32_t index; /* position in routes:, or ROUTE_DEFAULT_INDEX */
    bool is_stateless;
    bool do_record_route;
    const char *target;       /* ROUTE_FORWARD: the URI text (NUL-terminated) */
    struct uri target_uri;    /* ROUTE_FORWARD: parsed, slices of target */
    struct disp_set *set;     /* ROUTE_DISPATCH: borrowed from the struct disp */
    unsigned reply_code;      /* ROUTE_REPLY */
    const char *reply_reason; /* ROUTE_REPLY: never NULL ("Not Found" if not given) */
};

struct route_table;

/*
 * Builds a table from a loaded `routes:` list (struct cfg_list of struct
 * route_conf) and `default_route:`. Patterns are compiled anew (one table
 * per worker, see above); dispatcher names are looked up in 'disp' (may
 * be NULL when there are no sets), which must outlive the table. Copies
 * everything else: the config may be freed. NULL on failure with
 * "file:line:col: routes[i].to: unknown dispatcher 'x'" or an
 * out-of-memory message in err.
 */
struct route_table *route_table_new(const struct cfg_list *routes, const struct route_conf *def,
                                    struct disp *disp, char *err, size_t errlen);
void route_table_free(struct route_table *t);

/* The action of the first route that matches msg (a request) received
 * on flow, or the default action. Never NULL. */
const struct route_action *route_lookup(const struct route_table *t, const struct sipmsg *msg,
                                        const struct tp_flow *flow);

size_t route_count(const struct route_table *t);

#endif
